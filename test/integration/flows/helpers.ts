// Shared by the install and RBAC integration tests: the compiled binary, a free port, the admission webhooks a
// locally run operator would serve (KWOK runs no operator pod), and removal of what an install made outside its
// namespace (ClusterRole and binding, webhook configurations, LAS, SGXPlugin). CRDs stay: other tests use them.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { CLUSTER_ROLE_BINDING_NAME, CLUSTER_ROLE_NAME } from "../../../src/install/names.ts";
import type { KubeClient } from "../../../src/kube/client.ts";
import { createLogger } from "../../../src/log.ts";
import { type RunningWebhooks, startWebhooks } from "../../../src/operator/webhooks/run.ts";

export const BINARY = process.env.SCONE_BINARY ?? join(import.meta.dir, "../../../dist/scone");
export const binaryPresent = existsSync(BINARY);

export async function freePort(): Promise<number> {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const p = s.port ?? 0;
  s.stop(true);
  return p;
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the compiled binary with only the given kubeconfig (no $KUBECONFIG from the test's environment). */
export async function scone(args: readonly string[], timeoutMs = 120_000): Promise<RunResult> {
  const proc = Bun.spawn([BINARY, ...args], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, KUBECONFIG: "", NO_COLOR: "1" },
    timeout: timeoutMs,
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

/**
 * The admission webhooks of the operator in `namespace`, served in this process at 127.0.0.1:port (URL mode).
 * Log lines (warnings and errors) go to `logLines` when given, else to stderr.
 */
export async function serveWebhooks(
  client: KubeClient,
  namespace: string,
  port: number,
  logLines?: string[],
): Promise<RunningWebhooks> {
  const sink = logLines ? { write: (line: string) => logLines.push(line) } : process.stderr;
  const log = createLogger({ level: logLines ? "warn" : "error", format: "json", sink, component: "test-webhooks" });
  return startWebhooks(
    { client, log, operatorNamespace: namespace, serviceVersion: "6.0.6" },
    { port, mode: "url", host: "127.0.0.1", recheckMs: 2_000 },
  );
}

const ADMISSION = "admissionregistration.k8s.io/v1";
const RBAC = "rbac.authorization.k8s.io/v1";
const BASE = "base.scone.cloud/v1beta1";

/** Deletes the cluster-scoped objects an install into `namespace` made, the LAS/SGXPlugin, then the namespace. */
export async function removeInstall(admin: KubeClient, namespace: string): Promise<void> {
  const quiet = (p: Promise<unknown>) => p.catch(() => undefined);
  for (const kind of ["LAS", "SGXPlugin"]) {
    const list = await admin.list({ apiVersion: BASE, kind }).catch(() => undefined);
    for (const o of list?.items ?? []) {
      await quiet(admin.deleteIfExists({ apiVersion: BASE, kind, name: o.metadata?.name ?? "" }));
    }
  }
  for (const kind of ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]) {
    const prefix = kind.startsWith("Mutating") ? "scone-mutating" : "scone-validating";
    await quiet(
      admin.deleteIfExists({ apiVersion: ADMISSION, kind, name: `${prefix}-webhook-configuration-${namespace}` }),
    );
  }
  await quiet(
    admin.deleteIfExists({ apiVersion: RBAC, kind: "ClusterRole", name: `${CLUSTER_ROLE_NAME}-${namespace}` }),
  );
  await quiet(
    admin.deleteIfExists({
      apiVersion: RBAC,
      kind: "ClusterRoleBinding",
      name: `${CLUSTER_ROLE_BINDING_NAME}-${namespace}`,
    }),
  );
  await quiet(admin.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name: namespace }));
}
