// sim/kwok-cas pure parts: what a CAS pod asks of its simulated runtime (read from the pod the operator renders),
// the kwok objects that route it, the sealing rule, CRI log lines.
import { describe, expect, test } from "bun:test";
import type { V1Pod, V1StatefulSet, V1Volume } from "@kubernetes/client-node";
import { criLine, LineSplitter } from "../../../../sim/kwok-cas/cri-log.ts";
import { renderKwokObjects } from "../../../../sim/kwok-cas/kwok-objects.ts";
import { podPaths } from "../../../../sim/kwok-cas/layout.ts";
import { durationMs, imageTag, planCasPod } from "../../../../sim/kwok-cas/plan.ts";
import { podMounts } from "../../../../sim/kwok-cas/pod-root.ts";
import { unsealDecision } from "../../../../sim/kwok-cas/sealing.ts";
import { volumeForClaim } from "../../../../sim/kwok-cas/volumes.ts";
import { renderCasStatefulSet } from "../../../../src/operator/cas/render.ts";
import { opts, upstreamCas } from "../../../harness/cas-fixtures.ts";

/** Pod NAME-0 as the StatefulSet controller makes it: the template plus one PVC volume per claim template. */
function podOf(sts: V1StatefulSet, node: string): V1Pod {
  const name = `${sts.metadata?.name}-0`;
  const claims: V1Volume[] = (sts.spec?.volumeClaimTemplates ?? []).map((t) => ({
    name: t.metadata?.name ?? "",
    persistentVolumeClaim: { claimName: `${t.metadata?.name}-${name}` },
  }));
  const spec = sts.spec?.template.spec;
  if (!spec) throw new Error("no pod template");
  return {
    metadata: { ...sts.spec?.template.metadata, name, namespace: sts.metadata?.namespace, uid: "uid-1" },
    spec: { ...spec, nodeName: node, volumes: [...(spec.volumes ?? []), ...claims] },
  };
}

const plan = async (file: string, node = "sgx-node-1", isKwok = true) => {
  const pod = podOf(renderCasStatefulSet(await upstreamCas(file), opts), node);
  return { pod, outcome: planCasPod(pod, isKwok, 3_000) };
};

describe("planCasPod reads the pod the CAS renderer makes", () => {
  test("full manifest: PVC-backed database and snapshots, default interval, named ports, image tag as version", async () => {
    const { outcome } = await plan("cas.yaml");
    if (!outcome.run) throw new Error(outcome.why);
    const p = outcome.plan;
    expect(p).toMatchObject({
      namespace: "scone",
      pod: "cas-0",
      instance: "cas",
      node: "sgx-node-1",
      version: "6.0.6",
    });
    expect([p.clientPort, p.enclavePort]).toEqual([8081, 18765]);
    expect(p.database).toEqual({ mountPath: "/etc/cas/db", backing: { kind: "pvc", claim: "database-cas-0" } });
    expect(p.auditDir).toBe("/var/log/cas/audit");
    expect(p.serverNames).toContain("cas.scone.svc");
    // The renderer passes no interval (how CAS reads one is not public): the simulator's own default applies.
    expect(p.snapshots).toEqual({
      mountPath: "/var/mnt/cas-database-snapshots",
      backing: { kind: "pvc", claim: "database-snapshots-cas-0" },
      intervalMs: 3_000,
    });
  });

  test("pods it leaves alone, with the reason", async () => {
    const { pod } = await plan("cas_provisioning.yaml");
    expect(planCasPod(pod, false, 3_000)).toEqual({ run: false, why: "node sgx-node-1 is not a KWOK node" });
    const unscheduled = { ...pod, spec: { ...pod.spec, containers: pod.spec?.containers ?? [], nodeName: undefined } };
    expect(planCasPod(unscheduled, true, 3_000)).toEqual({ run: false, why: "not scheduled yet" });
    const deleting = { ...pod, metadata: { ...pod.metadata, deletionTimestamp: new Date() } };
    expect(planCasPod(deleting, true, 3_000)).toMatchObject({ run: false, why: "being deleted" });
    const failed = { ...pod, status: { phase: "Failed" } };
    expect(planCasPod(failed, true, 3_000)).toMatchObject({ run: false });
  });

  test("emptyDir mounts live with the pod; PVCs in the state dir by claim", async () => {
    const { outcome } = await plan("cas.yaml");
    if (!outcome.run) throw new Error(outcome.why);
    const paths = podPaths("/state", outcome.plan);
    expect(paths.databaseDir).toBe("/state/volumes/scone/database-cas-0");
    expect(paths.auditDir).toBe("/state/pods/scone/cas-0/uid-1/volumes/audit-log");
    expect(podMounts(outcome.plan, paths)).toContainEqual(["/etc/cas/db", "/state/volumes/scone/database-cas-0"]);
  });

  test("image tags and durations", () => {
    expect(imageTag("registry.scontain.com/scone.cloud/cas:6.0.6")).toBe("6.0.6");
    expect(imageTag("localhost:5000/cas:5.9.1@sha256:abc")).toBe("5.9.1");
    expect(imageTag("localhost:5000/cas")).toBeUndefined();
    expect(durationMs("60s")).toBe(60_000);
    expect(durationMs("1m30s")).toBe(90_000);
    expect(durationMs("500ms")).toBe(500);
    expect(durationMs("10")).toBeUndefined();
    expect(durationMs("5s junk")).toBeUndefined();
    expect(durationMs("0s")).toBeUndefined();
  });
});

describe("kwok objects of a running CAS pod", () => {
  test("logs per container, exec in the pod root, both ports to the simulator; owned by the pod", async () => {
    const { outcome } = await plan("cas_provisioning.yaml");
    if (!outcome.run) throw new Error(outcome.why);
    const objects = renderKwokObjects({
      plan: outcome.plan,
      root: "/r",
      casLog: "/c.log",
      auditContainerLog: "/a.log",
      endpoints: { clientPort: 40001, enclavePort: 40002 },
    }) as unknown as { kind: string; metadata: { name: string; ownerReferences: { uid: string }[] }; spec: unknown }[];
    // Logs last: once kwok serves the console, it has been given the exec and port routes.
    expect(objects.map((o) => o.kind)).toEqual(["Exec", "PortForward", "Logs"]);
    for (const o of objects) {
      expect(o.metadata.name).toBe("cas-0");
      expect(o.metadata.ownerReferences[0]?.uid).toBe("uid-1");
    }
    expect(objects[2]?.spec).toEqual({
      logs: [
        { containers: ["cas"], logsFile: "/c.log", follow: true },
        { containers: ["audit"], logsFile: "/a.log", follow: true },
      ],
    });
    expect(objects[0]?.spec).toEqual({ execs: [{ local: { workDir: "/r" } }] });
    expect(objects[1]?.spec).toEqual({
      forwards: [
        { ports: [8081], target: { address: "127.0.0.1", port: 40001 } },
        { ports: [18765], target: { address: "127.0.0.1", port: 40002 } },
      ],
    });
    const stopped = renderKwokObjects({
      plan: outcome.plan,
      root: "/r",
      casLog: "/c",
      auditContainerLog: "/a",
      endpoints: undefined,
    });
    expect((stopped[1] as { spec: { forwards: unknown[] } }).spec.forwards).toEqual([]);
  });
});

describe("sealing: where a CAS database opens", () => {
  const base = { hasKeyStore: true, sealedTo: "sgx-node-1", node: "sgx-node-2", nodeHasRegisteredBackup: false };
  test("on its own node, when new, or where a backup is registered", () => {
    expect(unsealDecision({ ...base, node: "sgx-node-1" })).toEqual({ open: true });
    expect(unsealDecision({ ...base, hasKeyStore: false })).toEqual({ open: true });
    expect(unsealDecision({ ...base, sealedTo: undefined })).toEqual({ open: true });
    expect(unsealDecision({ ...base, nodeHasRegisteredBackup: true })).toEqual({ open: true });
  });
  test("anywhere else it is refused with the nodes named", () => {
    const d = unsealDecision(base);
    expect(d.open).toBe(false);
    if (!d.open) expect(d.why).toContain("sealed to node sgx-node-1; node sgx-node-2");
  });
});

describe("CRI log lines", () => {
  test("RFC 3339 with nanoseconds, stream, full-line tag", () => {
    expect(criLine("stdout", "CAS key hash x", new Date("2026-11-23T10:55:41.932Z"))).toBe(
      "2026-11-23T10:55:41.932000000Z stdout F CAS key hash x\n",
    );
  });
  test("lines split across chunks are joined; the unfinished tail waits", () => {
    const s = new LineSplitter();
    expect(s.push("ab")).toEqual([]);
    expect(s.push("c\nde\nf")).toEqual(["abc", "de"]);
    expect(s.flush()).toEqual(["f"]);
    expect(s.flush()).toEqual([]);
  });
});

describe("stand-in provisioner", () => {
  const claim = {
    metadata: { name: "database-cas-0", namespace: "scone", uid: "c-1" },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "2Gi" } } },
    status: { phase: "Pending" },
  };
  test('a Pending claim gets a PV pre-bound to it, class "", on the claim\'s directory', () => {
    const pv = volumeForClaim(claim, "/state");
    expect(pv?.metadata?.name).toBe("kwok-cas-scone-database-cas-0");
    expect(pv?.spec).toMatchObject({
      capacity: { storage: "2Gi" },
      storageClassName: "",
      persistentVolumeReclaimPolicy: "Retain",
      hostPath: { path: "/state/volumes/scone/database-cas-0" },
      claimRef: { namespace: "scone", name: "database-cas-0", uid: "c-1" },
    });
  });
  test("a claim some PV already names (made by a test or an admin) gets none", () => {
    const zonal = { spec: { claimRef: { namespace: "scone", name: "database-cas-0" } } };
    const other = { spec: { claimRef: { namespace: "other", name: "database-cas-0" } } };
    expect(volumeForClaim(claim, "/state", [other])).toBeDefined();
    expect(volumeForClaim(claim, "/state", [other, zonal])).toBeUndefined();
  });
  test("bound or terminating claims get none", () => {
    expect(volumeForClaim({ ...claim, spec: { ...claim.spec, volumeName: "pv" } }, "/state")).toBeUndefined();
    expect(volumeForClaim({ ...claim, status: { phase: "Bound" } }, "/state")).toBeUndefined();
  });
});
