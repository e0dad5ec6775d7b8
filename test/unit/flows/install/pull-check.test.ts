// The pull check's pure parts: what a pod status says about the image (pulled / failed with the kubelet's words /
// still waiting), the pod built from the operator Deployment, when the check runs at all, and how it reads.
import { describe, expect, test } from "bun:test";
import { desiredInstall } from "../../../../src/flows/install/desired.ts";
import { plannedPullCheck } from "../../../../src/flows/install/execute.ts";
import { InstallOptionError, installOptionsFromFlags } from "../../../../src/flows/install/options.ts";
import type { PlanStep } from "../../../../src/flows/install/plan.ts";
import {
  type PullCheckPodView,
  pullCheckFailure,
  pullCheckPod,
  pullCheckState,
} from "../../../../src/flows/install/pull-check.ts";
import { pullCheckLine } from "../../../../src/flows/install/report.ts";
import type { KubeObject } from "../../../../src/kube/types.ts";

const IMAGE = "127.0.0.1:5000/does-not/exist:1";
type ContainerState = NonNullable<
  NonNullable<NonNullable<PullCheckPodView["status"]>["containerStatuses"]>[number]["state"]
>;
const pod = (phase: string, state?: ContainerState, nodeName = "node-1"): PullCheckPodView => ({
  apiVersion: "v1",
  kind: "Pod",
  spec: { nodeName },
  status: { phase, ...(state ? { containerStatuses: [{ state }] } : {}) },
});

describe("pullCheckState", () => {
  test("an image the registry does not have fails as a pull failure, with the registry's words", () => {
    const message = `failed to pull and unpack image "${IMAGE}": ${IMAGE}: not found`;
    for (const reason of ["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"]) {
      expect(pullCheckState(pod("Pending", { waiting: { reason, message } }))).toEqual({
        state: "failed",
        pull: true,
        reason,
        message,
      });
    }
  });

  test("a pulled image that cannot start fails, not as a pull failure", () => {
    const s = pullCheckState(
      pod("Pending", { waiting: { reason: "CreateContainerConfigError", message: "runAsNonRoot" } }),
    );
    expect(s).toEqual({ state: "failed", pull: false, reason: "CreateContainerConfigError", message: "runAsNonRoot" });
    const exited = pullCheckState(pod("Failed", { terminated: { exitCode: 127, reason: "Error" } }));
    expect(exited).toMatchObject({ state: "failed", pull: false, reason: "Error" });
    expect(exited.state === "failed" && exited.message).toContain("exited with code 127");
  });

  test("exit 0, Succeeded or running means pulled, on the node that ran it", () => {
    expect(pullCheckState(pod("Succeeded", { terminated: { exitCode: 0, reason: "Completed" } }))).toEqual({
      state: "pulled",
      node: "node-1",
    });
    expect(pullCheckState(pod("Running", { running: {} }, "kwok-1"))).toEqual({ state: "pulled", node: "kwok-1" });
    expect(pullCheckState(pod("Succeeded"))).toEqual({ state: "pulled", node: "node-1" });
  });

  test("still pulling, creating or unscheduled is waiting, saying why", () => {
    expect(pullCheckState(pod("Pending"))).toEqual({ state: "waiting", why: "Pending" });
    expect(pullCheckState(pod("Pending", { waiting: { reason: "ContainerCreating" } }))).toEqual({
      state: "waiting",
      why: "ContainerCreating",
    });
    const unscheduled: PullCheckPodView = {
      apiVersion: "v1",
      kind: "Pod",
      status: {
        phase: "Pending",
        conditions: [{ type: "PodScheduled", status: "False", message: "0/3 nodes are available" }],
      },
    };
    expect(pullCheckState(unscheduled)).toEqual({ state: "waiting", why: "not scheduled: 0/3 nodes are available" });
  });
});

describe("pullCheckPod", () => {
  const options = installOptionsFromFlags({
    "operator-image": IMAGE,
    "operator-node-selector": "kubernetes.io/hostname=real-1",
    reconcile: true,
  });
  const deployment = desiredInstall(options).items.find((d) => d.object.kind === "Deployment")?.object as KubeObject;

  test("runs the Deployment's image with its pull secrets, placement and security context, once, tiny", () => {
    const p = pullCheckPod(deployment, "scone-pull-check-x") as KubeObject & {
      spec: {
        restartPolicy: string;
        nodeSelector: Record<string, string>;
        imagePullSecrets: { name: string }[];
        automountServiceAccountToken: boolean;
        securityContext: { runAsNonRoot: boolean };
        containers: { image: string; command: string[]; args: string[]; resources: { requests: { cpu: string } } }[];
      };
    };
    expect(p.metadata?.namespace).toBe("scone-system");
    expect(p.spec.restartPolicy).toBe("Never");
    expect(p.spec.nodeSelector).toEqual({ "kubernetes.io/hostname": "real-1" });
    expect(p.spec.imagePullSecrets).toEqual([{ name: "scone-operator-pull" }]);
    expect(p.spec.automountServiceAccountToken).toBe(false);
    expect(p.spec.securityContext.runAsNonRoot).toBe(true);
    expect(p.spec.containers.map((c) => [c.image, c.command, c.args])).toEqual([[IMAGE, ["/scone"], ["version"]]]);
    expect(p.spec.containers[0]?.resources.requests.cpu).toBe("1m");
  });

  test("runs only when the Deployment is created or updated, unless --no-pull-check", () => {
    const ref = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      namespace: "scone-system",
      name: "scone-controller-manager",
    };
    const step = (action: PlanStep["action"]): PlanStep => ({ phase: "operator", action, ref, changes: [] });
    expect(plannedPullCheck(options, deployment, [step("delete"), step("create")])).toEqual({
      image: IMAGE,
      state: "planned",
    });
    expect(plannedPullCheck(options, deployment, [step("unchanged")])).toEqual({ image: IMAGE, state: "not needed" });
    const skipped = installOptionsFromFlags({ "operator-image": IMAGE, "pull-check": false });
    expect(skipped.pullCheck).toBe(false);
    expect(plannedPullCheck(skipped, deployment, [step("update")])).toEqual({ image: IMAGE, state: "skipped" });
    expect(plannedPullCheck(options, undefined, [step("update")])).toBeUndefined();
  });

  test("--no-pull-check with --local-operator is refused, naming both flags", () => {
    expect(() => installOptionsFromFlags({ "pull-check": false, "local-operator": "127.0.0.1:9443" })).toThrow(
      InstallOptionError,
    );
    expect(() => installOptionsFromFlags({ "pull-check": false, "local-operator": "127.0.0.1:9443" })).toThrow(
      /--no-pull-check.*--local-operator/,
    );
  });
});

describe("how the check reads", () => {
  test("the refusal names the image, the kubelet's reason and message, and the way out", () => {
    const text = pullCheckFailure(IMAGE, { state: "failed", pull: true, reason: "ErrImagePull", message: "not found" });
    expect(text).toContain(`the operator image ${IMAGE} cannot be pulled`);
    expect(text).toContain("ErrImagePull: not found");
    expect(text).toContain("--no-pull-check");
  });

  test("report mode says what will be checked; a run says where it passed", () => {
    expect(pullCheckLine({ image: IMAGE, state: "planned" })).toMatch(/^check {6}image .*--no-pull-check skips/);
    expect(pullCheckLine({ image: IMAGE, state: "pulled", node: "real-1" })).toBe(
      `pulled     image ${IMAGE} (pull-check pod on node real-1)`,
    );
    expect(pullCheckLine({ image: IMAGE, state: "skipped" })).toContain("(--no-pull-check)");
  });
});
