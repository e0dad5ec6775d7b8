// The kube client against a real kube-apiserver + etcd (test/harness): authentication, typed errors, SSA, Leases.
import { beforeAll, describe, expect, test } from "bun:test";
import type { V1ConfigMap, V1Lease } from "@kubernetes/client-node";
import { KubeClient } from "../../../src/kube/client.ts";
import { loadKubeConfig } from "../../../src/kube/config.ts";
import {
  AlreadyExistsError,
  ConflictError,
  ForbiddenError,
  InvalidError,
  NotFoundError,
  UnauthorizedError,
} from "../../../src/kube/errors.ts";
import { EventRecorder } from "../../../src/kube/events.ts";
import { probeCluster } from "../../../src/kube/probe.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { clusterAvailable, type LocalCluster } from "../../harness/cluster.ts";
import { useTestNamespace, waitFor } from "../../harness/kube.ts";

const CM = { apiVersion: "v1", kind: "ConfigMap" } as const;
// bun test ignores bunfig's timeout; RBAC and CRD propagation can take seconds on a busy machine. Above the 60 s
// of one waitFor, so a slow machine fails with the wait that timed out, not with a bare test timeout.
const SLOW = 120_000;

describe.skipIf(!clusterAvailable())("kube client on a real API server", () => {
  const env = useTestNamespace("kube-client");
  let cluster: LocalCluster;
  let admin: KubeClient;
  let ns: string;
  beforeAll(() => {
    ({ cluster, admin, ns } = env);
  });

  test(
    "client-certificate auth (admin kubeconfig) reaches /version",
    async () => {
      const conn = await loadKubeConfig({ kubeconfig: cluster.kubeconfigPath });
      expect(conn.clientCertPem).toContain("BEGIN CERTIFICATE");
      expect(conn.credentials).toBeUndefined();
      const probe = await probeCluster(conn);
      expect(probe.serverVersion).toBe(`v${cluster.k8sVersion}`);
    },
    SLOW,
  );

  test(
    "token auth: a service account is who RBAC says it is (403 typed, then allowed once granted)",
    async () => {
      await admin.create({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "reader", namespace: ns } });
      await admin.create({ ...CM, metadata: { name: "visible", namespace: ns }, data: { k: "v" } });
      const kubeconfig = await cluster.serviceAccountKubeconfig(ns, "reader");
      const sa = await KubeClient.load({ kubeconfig });
      expect(sa.transport.connection.clientCertPem).toBeUndefined();
      expect(sa.transport.connection.credentials).toBeDefined();
      // /version is open to every authenticated user: proves the token authenticates.
      expect((await sa.serverVersion()).gitVersion).toBe(`v${cluster.k8sVersion}`);

      const err = await sa.get({ ...CM, name: "visible", namespace: ns }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ForbiddenError);
      expect(String(err)).toContain(`system:serviceaccount:${ns}:reader`);

      await admin.apply({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name: "read-cm", namespace: ns },
        rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get"] }],
      } as KubeObject);
      await admin.apply({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "read-cm", namespace: ns },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "read-cm" },
        subjects: [{ kind: "ServiceAccount", name: "reader", namespace: ns }],
      } as KubeObject);
      const got = await waitFor("RBAC grant to take effect", () =>
        sa.get<V1ConfigMap>({ ...CM, name: "visible", namespace: ns }),
      );
      expect(got.data).toEqual({ k: "v" });
    },
    SLOW,
  );

  test(
    "a bad token is UnauthorizedError and the error does not contain it",
    async () => {
      const conn = await loadKubeConfig({ kubeconfig: cluster.kubeconfigPath });
      const { staticToken } = await import("../../../src/kube/credentials.ts");
      const bad = KubeClient.fromConnection({
        ...conn,
        clientCertPem: undefined,
        clientKeyPem: undefined,
        credentials: staticToken("not-a-real-token-xyz"),
      });
      const err = await bad.list(CM, { namespace: ns }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnauthorizedError);
      expect(String(err)).not.toContain("not-a-real-token-xyz");
    },
    SLOW,
  );

  test(
    "server-side apply is idempotent: the same object twice keeps its resourceVersion",
    async () => {
      const desired: V1ConfigMap = {
        ...CM,
        metadata: { name: "ssa", namespace: ns, labels: { app: "scone" } },
        data: { a: "1" },
      };
      const first = await admin.apply(desired);
      const second = await admin.apply(desired);
      expect(second.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);
      const changed = await admin.apply({ ...desired, data: { a: "2" } });
      expect(changed.metadata?.resourceVersion).not.toBe(first.metadata?.resourceVersion);
      expect(changed.metadata?.managedFields?.some((f) => f.manager === "scone" && f.operation === "Apply")).toBe(true);
    },
    SLOW,
  );

  test(
    "conflicts come back typed: stale replace → ConflictError, create existing → AlreadyExistsError",
    async () => {
      const created = await admin.create<V1ConfigMap>({
        ...CM,
        metadata: { name: "conflict", namespace: ns },
        data: { v: "1" },
      });
      const updated = await admin.replace<V1ConfigMap>({ ...created, data: { v: "2" } });
      expect(updated.data).toEqual({ v: "2" });
      const stale = await admin.replace({ ...created, data: { v: "3" } }).catch((e: unknown) => e);
      expect(stale).toBeInstanceOf(ConflictError);
      expect(stale).not.toBeInstanceOf(AlreadyExistsError);
      expect((stale as ConflictError).reason).toBe("Conflict");

      const dup = await admin.create({ ...CM, metadata: { name: "conflict", namespace: ns } }).catch((e: unknown) => e);
      expect(dup).toBeInstanceOf(AlreadyExistsError);
      expect((dup as ConflictError).alreadyExists).toBe(true);

      const wrongRv = await admin
        .delete(
          { ...CM, name: "conflict", namespace: ns },
          { preconditions: { resourceVersion: created.metadata?.resourceVersion } },
        )
        .catch((e: unknown) => e);
      expect(wrongRv).toBeInstanceOf(ConflictError);
      await admin.delete({ ...CM, name: "conflict", namespace: ns }, { preconditions: { uid: created.metadata?.uid } });
      await expect(admin.get({ ...CM, name: "conflict", namespace: ns })).rejects.toBeInstanceOf(NotFoundError);
    },
    SLOW,
  );

  test(
    "Invalid carries the field path",
    async () => {
      const err = await admin
        .create({ ...CM, metadata: { name: "Not_Valid", namespace: ns } })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidError);
      const invalid = err as InvalidError;
      expect(invalid.causes.map((c) => c.field)).toContain("metadata.name");
      expect(invalid.message).toContain("fields: metadata.name");
    },
    SLOW,
  );

  test(
    "Leases: get/create/replace with resourceVersion preconditions (leader election's needs)",
    async () => {
      const ref = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", name: "leader", namespace: ns };
      expect(await admin.tryGet(ref)).toBeUndefined();
      const lease = await admin.create<V1Lease>({
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: "leader", namespace: ns },
        spec: { holderIdentity: "a", leaseDurationSeconds: 15 },
      });
      const renewed = await admin.replace<V1Lease>({ ...lease, spec: { ...lease.spec, holderIdentity: "b" } });
      expect(renewed.spec?.holderIdentity).toBe("b");
      // A second candidate still holding the old resourceVersion must lose.
      await expect(admin.replace({ ...lease, spec: { ...lease.spec, holderIdentity: "c" } })).rejects.toBeInstanceOf(
        ConflictError,
      );
    },
    SLOW,
  );

  test(
    "custom resources resolve through discovery; status apply goes to /status",
    async () => {
      const crd = {
        apiVersion: "apiextensions.k8s.io/v1",
        kind: "CustomResourceDefinition",
        metadata: { name: "gizmos.kubetest.scone.cloud" },
        spec: {
          group: "kubetest.scone.cloud",
          scope: "Namespaced",
          names: { plural: "gizmos", singular: "gizmo", kind: "Gizmo", listKind: "GizmoList" },
          versions: [
            {
              name: "v1",
              served: true,
              storage: true,
              subresources: { status: {} },
              schema: {
                openAPIV3Schema: {
                  type: "object",
                  properties: {
                    spec: { type: "object", properties: { size: { type: "integer", minimum: 1 } } },
                    status: { type: "object", properties: { phase: { type: "string" } } },
                  },
                },
              },
            },
          ],
        },
      } as KubeObject;
      const crdRef = {
        apiVersion: "apiextensions.k8s.io/v1",
        kind: "CustomResourceDefinition",
        name: "gizmos.kubetest.scone.cloud",
      };
      await admin.apply(crd);
      try {
        await waitFor("the CRD to be established", async () => {
          const got = await admin.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>({
            apiVersion: "apiextensions.k8s.io/v1",
            kind: "CustomResourceDefinition",
            name: "gizmos.kubetest.scone.cloud",
          });
          return got.status?.conditions?.some((c) => c.type === "Established" && c.status === "True") || undefined;
        });
        const gizmo = { apiVersion: "kubetest.scone.cloud/v1", kind: "Gizmo", metadata: { name: "g", namespace: ns } };
        await waitFor("the Gizmo API to be served", () => admin.apply({ ...gizmo, spec: { size: 2 } } as KubeObject));
        await admin.applyStatus({ ...gizmo, status: { phase: "Ready" } } as KubeObject);
        const got = await admin.get<KubeObject & { spec?: { size?: number }; status?: { phase?: string } }>({
          ...gizmo,
          name: "g",
          namespace: ns,
        });
        expect(got.spec?.size).toBe(2);
        expect(got.status?.phase).toBe("Ready");
        const invalid = await admin.apply({ ...gizmo, spec: { size: 0 } } as KubeObject).catch((e: unknown) => e);
        expect(invalid).toBeInstanceOf(InvalidError);
        expect((invalid as InvalidError).causes.map((c) => c.field)).toContain("spec.size");
        await admin.delete(crdRef);
      } finally {
        // Cluster-wide: gone before the next file runs even when a check above fails.
        await admin.deleteIfExists(crdRef).catch(() => false);
      }
    },
    SLOW,
  );

  test(
    "TokenRequest issues a token that authenticates",
    async () => {
      await admin.apply({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "minted", namespace: ns } });
      const { token } = await admin.createToken({ name: "minted", namespace: ns }, { expirationSeconds: 600 });
      const { staticToken } = await import("../../../src/kube/credentials.ts");
      const conn = await loadKubeConfig({ kubeconfig: cluster.kubeconfigPath });
      const asSa = KubeClient.fromConnection({
        ...conn,
        clientCertPem: undefined,
        clientKeyPem: undefined,
        credentials: staticToken(token),
      });
      const review = await asSa.create<KubeObject & { status?: { userInfo?: { username?: string } } }>({
        apiVersion: "authentication.k8s.io/v1",
        kind: "SelfSubjectReview",
      });
      expect(review.status?.userInfo?.username).toBe(`system:serviceaccount:${ns}:minted`);
    },
    SLOW,
  );

  test(
    "events aggregate on the real API: one Event with count 2",
    async () => {
      const target = await admin.apply({ ...CM, metadata: { name: "evented", namespace: ns } });
      const rec = new EventRecorder(admin);
      await rec.record(target, "Warning", "Broken", "it broke");
      await rec.record(target, "Warning", "Broken", "it broke");
      const events = await admin.list<KubeObject & { count?: number; reason?: string; reportingComponent?: string }>(
        { apiVersion: "v1", kind: "Event" },
        { namespace: ns, fieldSelector: "involvedObject.name=evented" },
      );
      expect(events.items.map((e) => [e.reason, e.count, e.reportingComponent])).toEqual([["Broken", 2, "scone"]]);
    },
    SLOW,
  );

  test(
    "pods/log through the API server from a simulated node, buffered and followed",
    async () => {
      await admin.create({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "logger", namespace: ns },
        spec: { containers: [{ name: "app", image: "registry.invalid/app:1" }] },
      } as KubeObject);
      await waitFor("the pod to run on a simulated node", async () => {
        const pod = await admin.get<KubeObject & { status?: { phase?: string } }>({
          apiVersion: "v1",
          kind: "Pod",
          name: "logger",
          namespace: ns,
        });
        return pod.status?.phase === "Running" || undefined;
      });
      const text = await waitFor(
        "logs",
        async () => (await admin.podLogs({ name: "logger", namespace: ns })) || undefined,
      );
      expect(text).toContain("simulated container started");
      const abort = new AbortController();
      const stream = await admin.followPodLogs(
        { name: "logger", namespace: ns },
        { container: "app", signal: abort.signal },
      );
      // Read until the first line is complete: a chunk may end anywhere in it.
      const reader = stream.getReader();
      const decoder = new TextDecoder();
      let followed = "";
      while (!followed.includes("\n")) {
        const chunk = await reader.read();
        if (chunk.done) break;
        followed += decoder.decode(chunk.value, { stream: true });
      }
      expect(followed).toContain("scone local cluster");
      abort.abort();
    },
    SLOW,
  );

  test(
    "watch from a list's resourceVersion sees the next change",
    async () => {
      const list = await admin.list(CM, { namespace: ns });
      const abort = new AbortController();
      const seen: string[] = [];
      const watching = (async () => {
        for await (const ev of admin.watch(CM, {
          namespace: ns,
          resourceVersion: list.metadata.resourceVersion,
          signal: abort.signal,
        })) {
          if (ev.type === "BOOKMARK") continue;
          seen.push(`${ev.type} ${ev.object.metadata?.name}`);
          if (ev.object.metadata?.name === "watched") break;
        }
      })();
      await admin.create({ ...CM, metadata: { name: "watched", namespace: ns } });
      await watching;
      abort.abort();
      expect(seen).toEqual(["ADDED watched"]);
    },
    SLOW,
  );
});
