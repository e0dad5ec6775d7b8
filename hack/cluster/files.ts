// Everything a new cluster directory holds before the first process starts: certificates, kubeconfigs, kwok's
// configuration and the log file its simulated containers serve.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { KubeBinaries } from "./binaries.ts";
import { FIRST_SERVICE_IP } from "./components.ts";
import { writeKubeconfig } from "./kubeconfig.ts";
import { criLogLines, renderKwokConfig, SIMULATED_LOG_LINES } from "./kwok-config.ts";
import type { ClusterLayout } from "./layout.ts";
import { type CertName, type ClusterPki, createClusterPki, writePki } from "./pki.ts";

/** Which client certificate each component's kubeconfig carries. */
function componentKubeconfigs(layout: ClusterLayout): [path: string, user: string, cert: CertName][] {
  return [
    [layout.adminKubeconfig, "scone-admin", "admin"],
    [layout.controllerManagerKubeconfig, "kube-controller-manager", "controller-manager"],
    [layout.schedulerKubeconfig, "kube-scheduler", "scheduler"],
    [layout.kwokKubeconfig, "kwok", "kwok"],
  ];
}

/**
 * Who did what, for ServiceAccounts outside kube-system (the controller-manager's are there): metadata only (verb,
 * resource, namespace, user, answer), one line per finished request. test/integration/operator/rbac.test.ts reads
 * it to see which rules the operator's requests used.
 */
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted]
rules:
  - level: None
    userGroups: ["system:serviceaccounts:kube-system"]
  - level: Metadata
    userGroups: ["system:serviceaccounts"]
  - level: None
`;

/** Also before each kube-apiserver start: a cluster made by an older release has no policy file yet. */
export async function writeAuditPolicy(layout: ClusterLayout): Promise<void> {
  await writeFile(layout.auditPolicy, AUDIT_POLICY);
}

export async function writeClusterFiles(
  layout: ClusterLayout,
  binaries: KubeBinaries,
  server: string,
  extraApiserverIps: readonly string[] = [],
): Promise<ClusterPki> {
  await mkdir(layout.dir, { recursive: true, mode: 0o700 });
  await mkdir(layout.execWorkDir, { recursive: true });
  const pki = await createClusterPki(FIRST_SERVICE_IP, new Date(), extraApiserverIps);
  await writePki(join(layout.dir, "pki"), pki);
  for (const [path, name, cert] of componentKubeconfigs(layout)) {
    const pair = pki.certs[cert];
    await writeKubeconfig(path, {
      name,
      server,
      caPem: pki.caCertPem,
      credentials: { clientCertPem: pair.certPem, clientKeyPem: pair.keyPem },
    });
  }
  await writeAuditPolicy(layout);
  await writeFile(layout.simulatedContainerLog, criLogLines(SIMULATED_LOG_LINES));
  await writeFile(
    layout.kwokConfig,
    renderKwokConfig({
      stagesYaml: await readFile(binaries.kwokStages, "utf8"),
      containerLogFile: layout.simulatedContainerLog,
      execWorkDir: layout.execWorkDir,
    }),
  );
  return pki;
}
