// LAS per node (pure): a Ready LAS pod is fine; otherwise the pod's container states, Events and log tail are
// searched for why. The documented failure is /dev/sgx_enclave not accessible to the LAS user (fix: mode 0666),
// recognised here from the runtime's and the container runtime's messages.
import type { V1Pod } from "@kubernetes/client-node";
import { type Finding, fail, isPodReady, ok, warn } from "../finding.ts";
import type { EventView } from "./pull.ts";

const DEVICE = String.raw`/dev/(?:sgx_enclave|sgx/enclave|sgx_provision|sgx/provision|isgx|sgx)\b|\bSGX device\b`;
/** The device exists but this user may not open it. */
const DENIED = new RegExp(
  String.raw`(?:${DEVICE})[^\n]*?(?:permission denied|EACCES|operation not permitted|EPERM)|(?:permission denied|EACCES|operation not permitted)[^\n]*?(?:${DEVICE})|Error opening SGX device`,
  "i",
);
/** The device is not there (no driver, or not mapped into the container). */
const MISSING = new RegExp(
  String.raw`(?:${DEVICE})[^\n]*?(?:no such file or directory|ENOENT|not found)|error gathering device information[^\n]*sgx`,
  "i",
);

export type LasFault = "device-permission" | "device-missing" | "other";

export function classifyLasError(text: string): LasFault {
  if (DENIED.test(text)) return "device-permission";
  if (MISSING.test(text)) return "device-missing";
  return "other";
}

export interface LasPodObservation {
  readonly pod: V1Pod;
  readonly events: readonly EventView[];
  /** The last lines of the LAS container's log (the previous run's when it restarted); "" when unread. */
  readonly logTail: string;
}

/** Every message the pod carries about its containers, newest first: states, last states, Warning Events, log. */
function podTexts(o: LasPodObservation): string[] {
  const texts: string[] = [];
  for (const c of o.pod.status?.containerStatuses ?? []) {
    for (const s of [c.state?.waiting, c.state?.terminated, c.lastState?.terminated, c.lastState?.waiting])
      if (s?.message) texts.push(`${s.reason ?? ""}: ${s.message}`);
  }
  for (const e of [...o.events].reverse())
    if (e.type === "Warning" && e.message) texts.push(`${e.reason}: ${e.message}`);
  if (o.logTail) texts.push(o.logTail);
  return texts;
}

export function lasPodFinding(o: LasPodObservation): Finding {
  const node = o.pod.spec?.nodeName ?? "(unscheduled)";
  const check = `las node ${node}`;
  const id = `${o.pod.metadata?.namespace}/${o.pod.metadata?.name}`;
  const texts = podTexts(o);
  const denied = texts.find((t) => classifyLasError(t) === "device-permission");
  if (denied)
    return fail(
      check,
      `LAS pod ${id} cannot open the SGX device (permission denied): ${firstLine(denied, DENIED)}`,
      `on node ${node}, make /dev/sgx_enclave accessible to all users: chmod 0666 /dev/sgx_enclave, and keep it with a udev rule (KERNEL=="sgx_enclave", MODE="0666"); then kubectl -n ${o.pod.metadata?.namespace} delete pod ${o.pod.metadata?.name}`,
    );
  const missing = texts.find((t) => classifyLasError(t) === "device-missing");
  if (missing)
    return fail(
      check,
      `LAS pod ${id} finds no SGX device: ${firstLine(missing, MISSING)}`,
      `on node ${node}: load the SGX driver (kernel ≥ 5.11, SGX enabled in the BIOS) and check the SGX device plugin; kubectl get sgxplugin`,
    );
  if (isPodReady(o.pod)) return ok(check, `LAS pod ${id} Ready`);
  const why = texts[0] ?? o.pod.status?.phase ?? "not Ready";
  return (o.pod.status?.phase === "Pending" && texts.length === 0 ? warn : fail)(
    check,
    `LAS pod ${id} is not Ready: ${why.slice(0, 300)}`,
    `kubectl -n ${o.pod.metadata?.namespace} describe pod ${o.pod.metadata?.name}; kubectl -n ${o.pod.metadata?.namespace} logs ${o.pod.metadata?.name} --all-containers`,
  );
}

/** The line of a (log) text that matched, so the finding quotes the error, not the whole log. */
function firstLine(text: string, re: RegExp): string {
  const line = text.split("\n").find((l) => re.test(l)) ?? text;
  return line.trim().slice(0, 300);
}

export interface LasResourceView {
  readonly metadata?: { name?: string };
  readonly status?: { state?: string };
}

export function lasFindings(resources: readonly LasResourceView[], pods: readonly LasPodObservation[]): Finding[] {
  const out = pods.map(lasPodFinding);
  for (const r of resources) {
    const state = r.status?.state;
    if (state && state !== "HEALTHY" && !out.some((f) => f.status === "fail"))
      out.push(
        warn(
          `las ${r.metadata?.name}`,
          `LAS ${r.metadata?.name} is ${state}`,
          `kubectl describe las ${r.metadata?.name}`,
        ),
      );
  }
  if (resources.length === 0 && pods.length === 0)
    out.push(
      fail(
        "las",
        "no LAS resource and no LAS pod: CAS cannot attest enclaves",
        "scone operator install --reconcile (it creates the LAS)",
      ),
    );
  return out;
}
