// Before anything of a running operator is deleted, the new operator image is proven pullable (and startable) on
// the cluster, as upstream's installer does: a pod with the Deployment's image, pull secrets, node placement and
// security context runs `<entrypoint> version` once. The decision (pod status → pulled / failed / waiting) is pure;
// runPullCheck is the thin shell that creates the pod, polls it and removes it. On KWOK nodes a pod "runs" any
// image, so there the check proves nothing; the outcome names the node so a reader can tell.
import type { KubeClient } from "../../kube/client.ts";
import { KubeApiError } from "../../kube/errors.ts";
import type { KubeObject } from "../../kube/types.ts";

const POLL_MS = 500;

/** Container reasons that mean the image cannot be pulled (the kubelet's own words). */
const PULL_FAILURES = new Set([
  "ErrImagePull",
  "ImagePullBackOff",
  "InvalidImageName",
  "ErrImageNeverPull",
  "RegistryUnavailable",
  "SignatureValidationFailed",
]);
/** Reasons that mean the image was pulled but its container cannot start (the operator's pod would not either). */
const START_FAILURES = new Set([
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
  "StartError",
]);

export interface PullCheckPodView extends KubeObject {
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
    containerStatuses?: {
      state?: {
        waiting?: { reason?: string; message?: string };
        running?: Record<string, unknown>;
        terminated?: { exitCode?: number; reason?: string; message?: string };
      };
    }[];
  };
}

export type PullCheckState =
  | { readonly state: "pulled"; readonly node: string | undefined }
  | { readonly state: "failed"; readonly pull: boolean; readonly reason: string; readonly message: string }
  | { readonly state: "waiting"; readonly why: string };

/** What the pull-check pod's status says about the image (pure). */
export function pullCheckState(pod: PullCheckPodView): PullCheckState {
  const node = pod.spec?.nodeName;
  const state = pod.status?.containerStatuses?.[0]?.state;
  const waiting = state?.waiting;
  if (waiting?.reason && PULL_FAILURES.has(waiting.reason)) {
    return { state: "failed", pull: true, reason: waiting.reason, message: waiting.message ?? "" };
  }
  if (waiting?.reason && START_FAILURES.has(waiting.reason)) {
    return { state: "failed", pull: false, reason: waiting.reason, message: waiting.message ?? "" };
  }
  const terminated = state?.terminated;
  if (terminated) {
    if (terminated.exitCode === 0) return { state: "pulled", node };
    return {
      state: "failed",
      pull: false,
      reason: terminated.reason ?? "Error",
      message: `its entrypoint exited with code ${terminated.exitCode ?? "?"}${terminated.message ? `: ${terminated.message}` : ""}`,
    };
  }
  // Running: the image is there and started (KWOK reports every pod Running; a real one exits at once).
  if (state?.running || pod.status?.phase === "Succeeded") return { state: "pulled", node };
  if (pod.status?.phase === "Failed") {
    return { state: "failed", pull: false, reason: pod.status.reason ?? "Failed", message: pod.status.message ?? "" };
  }
  const unscheduled = pod.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
  if (unscheduled)
    return { state: "waiting", why: `not scheduled: ${unscheduled.message ?? unscheduled.reason ?? ""}` };
  return { state: "waiting", why: waiting?.reason ?? pod.status?.phase ?? "Pending" };
}

interface PodTemplateView {
  spec?: {
    template?: {
      spec?: {
        imagePullSecrets?: unknown;
        nodeSelector?: Record<string, string>;
        tolerations?: unknown;
        affinity?: unknown;
        securityContext?: unknown;
        containers?: { image?: string; imagePullPolicy?: string; command?: string[]; securityContext?: unknown }[];
      };
    };
  };
}

/** The operator image the Deployment runs (its first container). */
export function deploymentImage(deployment: KubeObject): string {
  return (deployment as PodTemplateView).spec?.template?.spec?.containers?.[0]?.image ?? "";
}

/** Label of pull-check pods (also how a killed install's leftover is recognised). */
export const PULL_CHECK_LABEL = { key: "app.kubernetes.io/component", value: "pull-check" } as const;

/**
 * The pull-check pod (pure): the Deployment's image, pull policy, pull secrets, node placement and security
 * context; `<command> version`, which exits at once; tiny requests; no service-account token; never restarted.
 */
export function pullCheckPod(deployment: KubeObject, name: string): KubeObject {
  const pod = (deployment as PodTemplateView).spec?.template?.spec ?? {};
  const container = pod.containers?.[0] ?? {};
  const spec: Record<string, unknown> = {
    restartPolicy: "Never",
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    terminationGracePeriodSeconds: 1,
    containers: [
      {
        name: "pull-check",
        image: container.image,
        imagePullPolicy: container.imagePullPolicy ?? "IfNotPresent",
        ...(container.command ? { command: [...container.command] } : {}),
        args: ["version"],
        resources: { requests: { cpu: "1m", memory: "16Mi" }, limits: { cpu: "250m", memory: "256Mi" } },
        ...(container.securityContext ? { securityContext: container.securityContext } : {}),
      },
    ],
  };
  for (const key of ["imagePullSecrets", "nodeSelector", "tolerations", "affinity", "securityContext"] as const) {
    if (pod[key] !== undefined) spec[key] = pod[key];
  }
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: deployment.metadata?.namespace ?? "",
      labels: { "app.kubernetes.io/managed-by": "scone", [PULL_CHECK_LABEL.key]: PULL_CHECK_LABEL.value },
    },
    spec,
  } as KubeObject;
}

/** The image cannot be used: the message names the image and the registry's (or kubelet's) words. */
export class PullCheckError extends Error {
  override name = "PullCheckError";
}

export function pullCheckFailure(image: string, s: Extract<PullCheckState, { state: "failed" }>): string {
  const what = s.pull ? "cannot be pulled" : "was pulled but cannot start";
  return `the operator image ${image} ${what} on the cluster (${s.reason}${s.message ? `: ${s.message}` : ""}); the install stopped before the CRDs and the operator — fix the image reference (--operator-image, --image-registry, --image-prefix, --set-version) or the pull secret (--username, --access-token, --email), or skip this check with --no-pull-check`;
}

/** The ServiceAccount admission plugin refuses pods until the namespace's `default` account exists. */
const isMissingServiceAccount = (e: unknown) =>
  e instanceof KubeApiError && /service ?account.*not found/i.test(e.message);

/**
 * Runs the pull-check pod and waits (up to timeoutSeconds) for its image to be pulled; throws PullCheckError when it
 * cannot be. The pod is removed in every case.
 */
export async function runPullCheck(
  client: KubeClient,
  deployment: KubeObject,
  timeoutSeconds: number,
): Promise<{ node: string | undefined }> {
  const image = deploymentImage(deployment);
  const name = `scone-pull-check-${crypto.randomUUID().slice(0, 8)}`;
  const pod = pullCheckPod(deployment, name);
  const ref = { apiVersion: "v1", kind: "Pod", namespace: pod.metadata?.namespace ?? "", name };
  const deadline = Date.now() + timeoutSeconds * 1000;
  let last = "not created";
  // A pull-check pod a killed install left behind (completed, or stuck on its image) goes first.
  const leftovers = await client.list(
    { apiVersion: "v1", kind: "Pod" },
    { namespace: ref.namespace, labelSelector: `${PULL_CHECK_LABEL.key}=${PULL_CHECK_LABEL.value}` },
  );
  for (const p of leftovers.items) {
    await client.deleteIfExists({ ...ref, name: p.metadata?.name ?? "" }, { gracePeriodSeconds: 0 }).catch(() => false);
  }
  try {
    for (;;) {
      try {
        await client.create(pod);
        break;
      } catch (e) {
        if (!isMissingServiceAccount(e) || Date.now() >= deadline) throw e;
        await Bun.sleep(POLL_MS);
      }
    }
    for (;;) {
      const observed = await client.tryGet<PullCheckPodView>(ref);
      const s = observed ? pullCheckState(observed) : ({ state: "waiting", why: "pod gone" } as const);
      if (s.state === "pulled") return { node: s.node };
      if (s.state === "failed") throw new PullCheckError(pullCheckFailure(image, s));
      last = s.why;
      if (Date.now() >= deadline) {
        throw new PullCheckError(
          `the operator image ${image} was not pulled on the cluster within ${timeoutSeconds}s (pull-check pod ${ref.namespace}/${name}: ${last}); the install stopped before the CRDs and the operator — raise --timeout, check the nodes the operator may run on, or skip this check with --no-pull-check`,
        );
      }
      await Bun.sleep(POLL_MS);
    }
  } finally {
    await client.deleteIfExists(ref, { gracePeriodSeconds: 0 }).catch(() => false);
  }
}
