// The collector against an in-memory cluster: the logs it asks for (every container, the previous run only after a
// restart, bounded, --logs-since passed on), what becomes a note instead of a failure (forbidden Secrets, a log the
// node cannot serve), the operator found by its labels, and a missing CAS refused.
import { describe, expect, test } from "bun:test";
import { LOG_FETCH_BYTES } from "../../../../src/flows/report/bundle.ts";
import { collectReport, type ReportKube } from "../../../../src/flows/report/collect.ts";
import type { ListOptions, LogOptions } from "../../../../src/kube/client.ts";
import { ForbiddenError } from "../../../../src/kube/errors.ts";
import type { KubeObject, ObjectRef, TypeRef } from "../../../../src/kube/types.ts";

const NS = "prod";
const cas: KubeObject = {
  apiVersion: "services.scone.cloud/v1beta1",
  kind: "CAS",
  metadata: { name: "cas", namespace: NS, uid: "u-cas" },
};
const pod = (namespace: string, name: string, containers: string[], restarts: Record<string, number>, labels = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace, uid: `u-${name}`, labels },
  spec: { containers: containers.map((c) => ({ name: c })) },
  status: { containerStatuses: containers.map((c) => ({ name: c, restartCount: restarts[c] ?? 0 })) },
});

function fakeKube(options: { secretsForbidden?: boolean; withCas?: boolean } = {}) {
  const logCalls: {
    pod: string;
    container?: string;
    previous?: boolean;
    limitBytes?: number;
    sinceSeconds?: number;
  }[] = [];
  const forbidden = () =>
    new ForbiddenError(
      { code: 403, reason: "Forbidden", message: "secrets is forbidden" },
      { method: "GET", path: "/api/v1/secrets" },
    );
  const objects: KubeObject[] = [
    pod(NS, "cas-0", ["cas", "audit"], { cas: 2 }, { "app.kubernetes.io/instance": "cas" }),
    pod("scone-system", "scone-controller-manager-x", ["manager"], {}, { "control-plane": "controller-manager" }),
  ];
  (objects[0] as { metadata: { ownerReferences?: unknown[] } }).metadata.ownerReferences = [{ uid: "u-cas" }];
  const kube = {
    async tryGet(ref: ObjectRef) {
      if (ref.kind === "CAS") return options.withCas === false ? undefined : cas;
      return undefined;
    },
    async get() {
      throw new Error("not used");
    },
    async list(type: TypeRef, o: ListOptions = {}) {
      if (type.kind === "Secret") {
        if (options.secretsForbidden) throw forbidden();
        return { metadata: {}, items: [{ data: { password: Buffer.from("hunter2-hunter2").toString("base64") } }] };
      }
      if (type.kind === "Pod" && o.labelSelector?.includes("control-plane"))
        return { metadata: {}, items: [objects[1]] };
      if (type.kind === "Pod") return { metadata: {}, items: [objects[0]] };
      return { metadata: {}, items: [] };
    },
    async podLogs(p: { name: string; namespace: string }, o: LogOptions = {}) {
      logCalls.push({
        pod: p.name,
        container: o.container,
        previous: o.previous,
        limitBytes: o.limitBytes,
        sinceSeconds: o.sinceSeconds,
      });
      if (o.container === "audit") throw new Error("the node serves no logs");
      return `log of ${p.name}/${o.container}${o.previous ? " (previous)" : ""}\n`;
    },
    async serverVersion() {
      return { gitVersion: "v1.37.2" };
    },
  };
  return { kube: kube as unknown as ReportKube, logCalls };
}

describe("collectReport", () => {
  test("asks every container's log, bounded, since --logs-since, and the previous run only of a restarted one", async () => {
    const { kube, logCalls } = fakeKube();
    const input = await collectReport(kube, { namespace: NS, name: "cas" }, { sinceSeconds: 3600 });
    expect(logCalls.map((c) => `${c.pod}/${c.container}${c.previous ? "/previous" : ""}`)).toEqual([
      "cas-0/cas",
      "cas-0/cas/previous",
      "cas-0/audit",
      "scone-controller-manager-x/manager",
    ]);
    for (const c of logCalls)
      expect({ limit: c.limitBytes, since: c.sinceSeconds }).toEqual({ limit: LOG_FETCH_BYTES, since: 3600 });
    expect(input.logs.find((l) => l.container === "audit")).toMatchObject({ error: "the node serves no logs" });
    expect(input.logs.find((l) => l.previous)?.text).toBe("log of cas-0/cas (previous)\n");
    expect(input.operatorPods.map((p) => p.metadata?.name)).toEqual(["scone-controller-manager-x"]);
    // The Secrets' values are kept to scrub with (never written): the decoded value and its base64 form.
    expect(input.secretValues).toContain("hunter2-hunter2");
    expect(input.secretValues).toContain(Buffer.from("hunter2-hunter2").toString("base64"));
  });

  test("Secrets this user may not read become a note saying their values could not be scrubbed", async () => {
    const { kube } = fakeKube({ secretsForbidden: true });
    const input = await collectReport(kube, { namespace: NS, name: "cas" });
    expect(input.secretValues).toEqual([]);
    expect(input.notes.filter((n) => n.startsWith("Secrets of"))).toHaveLength(2);
    expect(input.notes.join("\n")).toContain("their values could not be scrubbed");
  });

  test("a missing CAS is an error naming it, before anything else is read", async () => {
    const { kube, logCalls } = fakeKube({ withCas: false });
    await expect(collectReport(kube, { namespace: NS, name: "cas" })).rejects.toThrow("CAS prod/cas not found");
    expect(logCalls).toEqual([]);
  });
});
