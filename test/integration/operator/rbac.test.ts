// The installed RBAC is enough, and what the operator really uses: `scone operator install` sets up a namespace,
// then the compiled `scone operator` runs as a local process with ONLY a token of the installed ServiceAccount
// (the API server enforces RBAC), serves its webhooks (URL mode) and brings the upstream LAS and SGXPlugin samples
// to HEALTHY, binds the installed backup controller roles for a CAS (which the API server allows only for rights
// the operator holds: it has no bind), then cleans them up on deletion. Any permission the roles lack shows as a
// Forbidden answer: the operator's log is checked for one, besides the states that need every write to succeed.
// Last, the API server's audit log (hack/cluster/files.ts) shows which rules the operator's requests used: every
// rule is used, or listed below with the reason this scenario cannot use it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { V1ClusterRoleBinding, V1Node, V1PolicyRule, V1RoleBinding } from "@kubernetes/client-node";
import { parse } from "yaml";
import { type AuditEvent, auditEventsOf, forbiddenRequests } from "../../../hack/cluster/audit.ts";
import { clusterLayout } from "../../../hack/cluster/layout.ts";
import { describeRoles } from "../../../src/install/rbac.ts";
import { KubeClient } from "../../../src/kube/client.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../../harness/cluster.ts";
import { BINARY, binaryPresent, freePort, removeInstall, scone } from "../../harness/flows.ts";
import { waitFor } from "../../harness/kube.ts";
import { cleanupSteps, restoreHarnessNodeLabels } from "../../harness/operator.ts";
import { sharedPath } from "../../harness/shared.ts";

const SAMPLES = sharedPath("reference", "upstream-samples", "operator-samples");
const NS = `rbac-${Math.random().toString(36).slice(2, 7)}`;
const SERVICE_ACCOUNT = "scone-controller-manager";
const BASE = "base.scone.cloud/v1beta1";
const SGX_NODES = ["sgx-node-1", "sgx-node-2", "sgx-node-3"];
const FORBIDDEN = /forbidden|\b403\b/i;
const NAMESPACE_TERMINATING = /unable to create new content in namespace \S+ because it is being terminated/;
const CAS_API = "services.scone.cloud/v1beta1";
const RBAC_API = "rbac.authorization.k8s.io/v1";
const BACKUP_BINDING = `scone-cas-backup-controller-${NS}.cas`;
const LEGACY_BINDING = `scone-cas-backup-controller-${NS}-cas`;
const OTHER_BINDING = `scone-cas-backup-controller-${NS}-other-cas`;

/**
 * Rules this scenario cannot use, and why; any other rule without a request in the audit log fails the last test.
 * Keyed "role: resources".
 */
const NOT_EXERCISED: Record<string, string> = {
  "scone-manager-role-NS: las/finalizers, sgxplugins/finalizers":
    "checked by the API server on ownerReferences with blockOwnerDeletion (OwnerReferencesPermissionEnforcement), not requested",
  "scone-manager-role-NS: encryptedpolicies/finalizers, signedpolicies/finalizers": "as above",
  "scone-manager-role-NS: scones/finalizers": "as above",
  "scone-manager-role-NS: cas/finalizers, vaults/finalizers": "as above",
  "scone-manager-role-NS: encryptedpolicies/status, signedpolicies/status":
    "no policy here (policies.test.ts registers them; it needs the CAS simulator)",
  "scone-manager-role-NS: scones/status": "no Scone stack here (scone.test.ts)",
  "scone-manager-role-NS: persistentvolumes": "read only when CAS must leave a lost node (cas.test.ts)",
  "scone-manager-role-NS: pods/portforward": "the CAS probe needs a CAS answering behind cas-0 (no simulator here)",
  "scone-manager-stack-role: pods/exec": "the Scone stack's scheduled backups (scone.test.ts)",
  "scone-manager-cas-driver-role-NS: pods/exec":
    "the SCONE CLI in a CAS's sconecli pod (no CAS here; realnode/sconecli.test.ts execs into one)",
};

const usedBy = (rule: V1PolicyRule, e: AuditEvent, namespace: string | undefined): boolean => {
  const o = e.objectRef;
  if (!o?.resource) return false;
  const resource = o.subresource ? `${o.resource}/${o.subresource}` : o.resource;
  return (
    (rule.apiGroups ?? []).includes(o.apiGroup ?? "") &&
    (rule.resources ?? []).includes(resource) &&
    rule.verbs.includes(e.verb) &&
    (!rule.resourceNames?.length || rule.resourceNames.includes(o.name ?? "")) &&
    (namespace === undefined || o.namespace === namespace)
  );
};

if (!binaryPresent) console.warn("rbac.test.ts skipped: the compiled binary is missing — run 'make build' first");

/** Collects a stream's lines (the operator logs JSON lines on stdout). */
function collect(stream: ReadableStream<Uint8Array>, into: string[]): void {
  void (async () => {
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of stream) {
      buf += decoder.decode(chunk, { stream: true });
      let i = buf.indexOf("\n");
      while (i >= 0) {
        into.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
        i = buf.indexOf("\n");
      }
    }
    if (buf) into.push(buf);
  })();
}

describe.skipIf(!binaryPresent || !clusterAvailable())("the installed RBAC is what the operator needs", () => {
  let cluster: LocalCluster;
  let admin: KubeClient;
  let operator: Bun.Subprocess<"ignore", "pipe", "pipe"> | undefined;
  let stateDir = "";
  const logs: string[] = [];

  const state = async (kind: string, name: string) =>
    (await admin.tryGet<KubeObject & { status?: { state?: string } }>({ apiVersion: BASE, kind, name }))?.status?.state;
  // RBAC refusals only: a write into another test's namespace while it terminates is also a 403, from the
  // NamespaceLifecycle admission plugin, not the authorizer (the operator watches every namespace).
  const forbiddenLines = () => logs.filter((l) => FORBIDDEN.test(l) && !NAMESPACE_TERMINATING.test(l));

  beforeAll(async () => {
    cluster = await sharedCluster();
    admin = await KubeClient.load({ kubeconfig: cluster.kubeconfigPath });
    stateDir = mkdtempSync(join(tmpdir(), "scone-rbac-"));
    const port = await freePort();
    const installed = await scone([
      "operator",
      "install",
      "--no-image-signature-check", // the images here are unsigned (test/integration/images/signature.test.ts checks signatures)
      "--kubeconfig",
      cluster.kubeconfigPath,
      "-n",
      NS,
      "--local-operator",
      `127.0.0.1:${port}`,
      "--only-operator",
      "--reconcile",
      "--username",
      "robot",
      "--access-token",
      "rbac-test-token",
      "--email",
      "robot@example.com",
    ]);
    if (installed.code !== 0) throw new Error(`install failed (${installed.code}): ${installed.stderr}`);

    const kubeconfig = await cluster.serviceAccountKubeconfig(NS, SERVICE_ACCOUNT);
    const [probe, metrics] = [await freePort(), await freePort()];
    operator = Bun.spawn(
      [
        BINARY,
        "operator",
        "--kubeconfig",
        kubeconfig,
        "-n",
        NS,
        "--leader-elect",
        "--state-dir",
        stateDir,
        "--probe-port",
        String(probe),
        "--metrics-port",
        String(metrics),
        "--webhook-mode",
        "url",
        "--webhook-host",
        "127.0.0.1",
        "--webhook-port",
        String(port),
      ],
      { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, KUBECONFIG: "" } },
    );
    collect(operator.stdout, logs);
    collect(operator.stderr, logs);
  }, 300_000);

  afterAll(async () => {
    // Deleting while the operator runs lets it remove its finalizers (with the same limited rights); whatever it did
    // not finish is forced. Every step runs even when one before it fails.
    const finalize = (kind: string, name: string) => async () => {
      await admin?.deleteIfExists({ apiVersion: BASE, kind, name });
      await waitFor(
        `${kind} ${name} to be gone`,
        async () => !(await admin.tryGet({ apiVersion: BASE, kind, name })),
        45_000,
      ).catch(() =>
        admin.patch({ apiVersion: BASE, kind, name }, { metadata: { finalizers: null } }, "merge").catch(() => {}),
      );
    };
    await cleanupSteps([
      async () => {
        await admin?.deleteIfExists({ apiVersion: CAS_API, kind: "CAS", namespace: NS, name: "cas" });
        await waitFor(
          "CAS cas to be gone",
          async () => !(await admin.tryGet({ apiVersion: CAS_API, kind: "CAS", namespace: NS, name: "cas" })),
          45_000,
        ).catch(() =>
          admin
            .patch(
              { apiVersion: CAS_API, kind: "CAS", namespace: NS, name: "cas" },
              { metadata: { finalizers: null } },
              "merge",
            )
            .catch(() => {}),
        );
      },
      ...[BACKUP_BINDING, LEGACY_BINDING, OTHER_BINDING].map(
        (name) => () => admin?.deleteIfExists({ apiVersion: RBAC_API, kind: "ClusterRoleBinding", name }),
      ),
      finalize("LAS", "las"),
      finalize("SGXPlugin", "sgxplugin"),
      async () => {
        operator?.kill("SIGTERM");
        await operator?.exited;
      },
      // The installed webhook configurations are cluster-wide (failurePolicy Fail) and point at the dead operator.
      () => admin && removeInstall(admin, NS),
      // Leave the nodes as the harness made them (the operator labels SGX and LAS nodes).
      () => admin && restoreHarnessNodeLabels(admin),
      () => stateDir && rmSync(stateDir, { recursive: true, force: true }),
    ]);
  }, 180_000);

  test("the operator authenticates as the installed ServiceAccount and takes its Lease", async () => {
    // Generous waits: the compiled binary starts on a machine busy with the rest of the suite.
    const connected = await waitFor(
      "the operator to connect",
      async () => logs.find((l) => l.includes("connected to the API server")),
      60_000,
    );
    expect(JSON.parse(connected).user).toBe(`system:serviceaccount:${NS}:${SERVICE_ACCOUNT}`);
    await waitFor("leadership", async () => logs.some((l) => l.includes("became leader")), 60_000);
    expect(forbiddenLines()).toEqual([]);
  }, 150_000);

  test("the upstream LAS and SGXPlugin samples become HEALTHY with only the installed permissions", async () => {
    for (const file of ["base_v1beta1_sgxplugin.yaml", "base_v1beta1_las.yaml"]) {
      const sample = parse(await Bun.file(join(SAMPLES, file)).text()) as KubeObject & {
        spec: { namespace?: string };
      };
      // The samples name upstream's default operator namespace; this operator's is the test's own.
      sample.spec.namespace = NS;
      // Admission needs the operator's webhooks: retried until it serves them (caBundle set, server listening).
      await waitFor(
        `kubectl apply ${file}`,
        async () => {
          const r = await cluster.kubectl(["apply", "-f", "-"], { stdin: JSON.stringify(sample) });
          if (r.code !== 0) throw new Error(r.stderr);
          return true;
        },
        60_000,
      );
    }
    await waitFor(
      "SGXPlugin sgxplugin HEALTHY",
      async () => (await state("SGXPlugin", "sgxplugin")) === "HEALTHY",
      150_000,
    );
    await waitFor("LAS las HEALTHY", async () => (await state("LAS", "las")) === "HEALTHY", 150_000);
    // HEALTHY counts the newest pod per node; a pod the DaemonSet controller replaced may still be terminating.
    const lasPods = await admin.list(
      { apiVersion: "v1", kind: "Pod" },
      { namespace: NS, labelSelector: "app.kubernetes.io/name=las" },
    );
    expect(lasPods.items.filter((p) => !p.metadata?.deletionTimestamp).length).toBe(SGX_NODES.length);
    // Node labels: a node patch with the installed rights (and what the deletion test sees removed).
    await waitFor(
      "the LAS node labels",
      async () =>
        (await admin.list<V1Node>({ apiVersion: "v1", kind: "Node" })).items.filter(
          (n) => n.metadata?.labels?.["las.scontain.com/capable"] === "true",
        ).length === SGX_NODES.length,
      60_000,
    );
    expect(forbiddenLines()).toEqual([]);
  }, 240_000);

  test("the operator's reconciles of them are in the cluster: `scone operator history` reads them from a laptop", async () => {
    // The LAS is cluster-scoped: its history ConfigMap lives in the operator's namespace, written with the
    // installed rights; the CLI is another process with only the admin kubeconfig.
    const rows = await waitFor(
      "scone operator history las/las to show a reconcile that changed something",
      async () => {
        const r = await scone(["operator", "history", "las/las", "--kubeconfig", cluster.kubeconfigPath, "-o", "json"]);
        if (r.code !== 0) throw new Error(r.stderr);
        const parsed = JSON.parse(r.stdout) as { kind: string; name: string; actions: string[] }[];
        return parsed.some((row) => row.actions.length > 0) ? parsed : undefined;
      },
      60_000,
    );
    expect(rows.every((row) => row.kind === "LAS" && row.name === "las")).toBe(true);
    expect(
      await admin.tryGet({ apiVersion: "v1", kind: "ConfigMap", namespace: NS, name: "scone-history-las-las" }),
    ).toBeDefined();
    expect(forbiddenLines()).toEqual([]);
  }, 120_000);

  test("a CAS's backup controller: the operator binds the installed roles without holding bind", async () => {
    const cas = {
      apiVersion: CAS_API,
      kind: "CAS",
      metadata: { name: "cas", namespace: NS },
      spec: {
        image: "registry.scontain.com/scone.cloud/cas:6.0.6",
        "backup-controller": { enabled: true, session: "cas-backup" },
        // A right the namespace must grant (admission policy): the operator reads the namespace's labels.
        tolerations: [{ operator: "Exists" }],
      },
    };
    const labelled = await cluster.kubectl(["label", "namespace", NS, "scone.cloud/allow-tolerate-all=true"]);
    expect(labelled.stderr).toBe("");
    // A binding an older release made (name NS-NAME, ambiguous) and one of another CAS with the same instance label:
    // the operator removes the first, recognised by its subject, and leaves the second alone.
    const legacy = (name: string, subjectNamespace: string) => ({
      apiVersion: RBAC_API,
      kind: "ClusterRoleBinding",
      metadata: {
        name,
        labels: { "app.kubernetes.io/managed-by": "scone-operator", "app.kubernetes.io/instance": "cas" },
      },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: `scone-backup-controller-node-role-${NS}`,
      },
      subjects: [{ kind: "ServiceAccount", name: "cas-backup-controller", namespace: subjectNamespace }],
    });
    await admin.create(legacy(LEGACY_BINDING, NS));
    await admin.create(legacy(OTHER_BINDING, `${NS}-other`));
    await waitFor(
      "kubectl apply CAS",
      async () => {
        const r = await cluster.kubectl(["apply", "-f", "-"], { stdin: JSON.stringify(cas) });
        if (r.code !== 0) throw new Error(r.stderr);
        return true;
      },
      60_000,
    );
    const binding = await waitFor(
      `ClusterRoleBinding ${BACKUP_BINDING}`,
      () =>
        admin.tryGet<V1ClusterRoleBinding>({ apiVersion: RBAC_API, kind: "ClusterRoleBinding", name: BACKUP_BINDING }),
      90_000,
    );
    expect(binding.roleRef.name).toBe(`scone-backup-controller-node-role-${NS}`);
    const roleBinding = await waitFor("RoleBinding cas-backup-controller-pods", () =>
      admin.tryGet<V1RoleBinding>({
        apiVersion: RBAC_API,
        kind: "RoleBinding",
        namespace: NS,
        name: "cas-backup-controller-pods",
      }),
    );
    await waitFor(
      "the older release's binding to be removed",
      async () => !(await admin.tryGet({ apiVersion: RBAC_API, kind: "ClusterRoleBinding", name: LEGACY_BINDING })),
    );
    expect(await admin.tryGet({ apiVersion: RBAC_API, kind: "ClusterRoleBinding", name: OTHER_BINDING })).toBeDefined();
    expect(roleBinding.roleRef).toMatchObject({ kind: "ClusterRole", name: `scone-backup-controller-role-${NS}` });
    // What the bindings give the backup controller: pods in its namespace only, nodes cluster-wide.
    const canI = async (...args: string[]) =>
      (
        await cluster.kubectl(["auth", "can-i", ...args, `--as=system:serviceaccount:${NS}:cas-backup-controller`])
      ).stdout.trim();
    expect(await canI("create", "pods", "-n", NS)).toBe("yes");
    expect(await canI("create", "pods", "-n", "default")).toBe("no");
    expect(await canI("patch", "nodes")).toBe("yes");
    expect(await canI("get", "secrets", "-n", NS)).toBe("no");
    expect(forbiddenLines()).toEqual([]);

    await admin.deleteIfExists({ apiVersion: CAS_API, kind: "CAS", namespace: NS, name: "cas" });
    await waitFor(
      "the CAS finalizer to remove the ClusterRoleBinding",
      async () =>
        !(await admin.tryGet({ apiVersion: RBAC_API, kind: "ClusterRoleBinding", name: BACKUP_BINDING })) &&
        !(await admin.tryGet({ apiVersion: CAS_API, kind: "CAS", namespace: NS, name: "cas" })),
      60_000,
    );
    expect(forbiddenLines()).toEqual([]);
  }, 180_000);

  test("deleting them: the operator runs its finalizers with the installed rights (node labels removed)", async () => {
    for (const [kind, name] of [
      ["LAS", "las"],
      ["SGXPlugin", "sgxplugin"],
    ] as const) {
      await admin.deleteIfExists({ apiVersion: BASE, kind, name });
      await waitFor(
        `${kind} ${name} to be deleted`,
        async () => !(await admin.tryGet({ apiVersion: BASE, kind, name })),
        60_000,
      );
    }
    // The LAS finalizer took its node labels off (a node patch with the installed rights). The DaemonSets are
    // left to the garbage collector, which in a fresh cluster notices a new CRD's deletions only after ~30 s.
    await waitFor(
      "the LAS node labels to be removed",
      async () =>
        (await admin.list<V1Node>({ apiVersion: "v1", kind: "Node" })).items.every(
          (n) => n.metadata?.labels?.["las.scontain.com/capable"] === undefined,
        ),
      60_000,
    );
    expect(forbiddenLines()).toEqual([]);
  }, 180_000);

  test("the audit log: every installed rule of the operator was used by a request, or is listed with the reason", async () => {
    const user = `system:serviceaccount:${NS}:${SERVICE_ACCOUNT}`;
    const text = await Bun.file(clusterLayout(cluster.dir).auditLog).text();
    const events = auditEventsOf(text, user);
    expect(events.length).toBeGreaterThan(50);
    expect(forbiddenRequests(events)).toEqual([]);
    const unused: string[] = [];
    for (const role of describeRoles(NS, { localOperator: true })) {
      if (!role.subject.includes(SERVICE_ACCOUNT)) continue;
      // A Role, or a ClusterRole bound by a RoleBinding: only requests in the operator's namespace count.
      const namespace = role.kind === "Role" || role.boundWhere.startsWith("RoleBinding") ? NS : undefined;
      for (const { rule } of role.rules)
        if (!events.some((e) => usedBy(rule, e, namespace)))
          unused.push(`${role.name.replace(NS, "NS")}: ${(rule.resources ?? []).join(", ")}`);
    }
    // Exactly the listed ones: a rule added without a use fails, and so does a listed rule this scenario now uses.
    expect(unused.sort()).toEqual(Object.keys(NOT_EXERCISED).sort());
  });
});
