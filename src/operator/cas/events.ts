// The Events a status change deserves (pure): what a human watching `kubectl describe cas` or an alert pipeline
// needs to see — HEALTHY ↔ UNHEALTHY with the reason, provisioning, attestation and reachability failures, upgrades
// held back or forced, refused spec changes and node losses. One Event per transition, none in a steady state.
import type { CASStatus } from "../../resources/cas.ts";
import { CAS_CONDITION as C, CAS_REASON, CAS_EVENT_REASON as E } from "../../resources/cas-conditions.ts";
import type { Condition } from "../../runtime/conditions.ts";

export interface CasEvent {
  readonly type: "Normal" | "Warning";
  /** A CAS_EVENT_REASON, or the reason of the condition that turned False. */
  readonly reason: string;
  readonly message: string;
}

const cond = (s: CASStatus | undefined, type: string): Condition | undefined =>
  (s?.conditions as Condition[] | undefined)?.find((c) => c.type === type);

export function transitionEvents(name: string, before: CASStatus | undefined, after: CASStatus): CasEvent[] {
  const out: CasEvent[] = [];
  if (before?.state !== after.state) {
    if (after.state === "HEALTHY") out.push({ type: "Normal", reason: E.Healthy, message: `CAS ${name} is HEALTHY` });
    else if (after.state === "UNHEALTHY")
      out.push({
        type: "Warning",
        reason: E.Unhealthy,
        message: `CAS ${name} is UNHEALTHY: ${cond(after, C.Degraded)?.message ?? "see status.conditions"}`,
      });
  }
  if (before?.provisioned !== "Yes" && after.provisioned === "Yes")
    out.push({ type: "Normal", reason: E.Provisioned, message: `CAS ${name} is provisioned` });
  // Conditions whose turning False (or changing reason) is news.
  for (const [type, eventReason] of [
    [C.Attested, E.AttestationFailed],
    [C.CASReachable, E.CASUnreachable],
    [C.SpecApplied, undefined],
    [C.NodeHealthy, undefined],
  ] as const) {
    const now = cond(after, type);
    const was = cond(before, type);
    if (now?.status === "False" && (was?.status !== "False" || was.reason !== now.reason))
      out.push({ type: "Warning", reason: eventReason ?? now.reason, message: now.message });
  }
  const blocked = cond(after, C.UpgradeBlocked);
  if (blocked && cond(before, C.UpgradeBlocked)?.reason !== blocked.reason) {
    if (blocked.status === "True") out.push({ type: "Warning", reason: E.UpgradeBlocked, message: blocked.message });
    else if (blocked.reason === CAS_REASON.UpgradeForced)
      out.push({ type: "Warning", reason: E.UpgradeForced, message: blocked.message });
  }
  return out;
}
