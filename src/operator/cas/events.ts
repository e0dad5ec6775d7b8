// The Events a status change deserves (pure): what a human watching `kubectl describe cas` or an alert pipeline
// needs to see — HEALTHY ↔ UNHEALTHY with the reason, provisioning, attestation and reachability failures, upgrades
// held back or forced, refused spec changes and node losses. One Event per transition, none in a steady state.
import type { CASStatus } from "../../resources/cas.ts";
import type { Condition } from "../../runtime/conditions.ts";

export interface CasEvent {
  readonly type: "Normal" | "Warning";
  readonly reason: string;
  readonly message: string;
}

const cond = (s: CASStatus | undefined, type: string): Condition | undefined =>
  (s?.conditions as Condition[] | undefined)?.find((c) => c.type === type);

export function transitionEvents(name: string, before: CASStatus | undefined, after: CASStatus): CasEvent[] {
  const out: CasEvent[] = [];
  if (before?.state !== after.state) {
    if (after.state === "HEALTHY") out.push({ type: "Normal", reason: "Healthy", message: `CAS ${name} is HEALTHY` });
    else if (after.state === "UNHEALTHY")
      out.push({
        type: "Warning",
        reason: "Unhealthy",
        message: `CAS ${name} is UNHEALTHY: ${cond(after, "Degraded")?.message ?? "see status.conditions"}`,
      });
  }
  if (before?.provisioned !== "Yes" && after.provisioned === "Yes")
    out.push({ type: "Normal", reason: "Provisioned", message: `CAS ${name} is provisioned` });
  // Conditions whose turning False (or changing reason) is news.
  for (const [type, eventReason] of [
    ["Attested", "AttestationFailed"],
    ["CASReachable", "CASUnreachable"],
    ["SpecApplied", undefined],
    ["NodeHealthy", undefined],
  ] as const) {
    const now = cond(after, type);
    const was = cond(before, type);
    if (now?.status === "False" && (was?.status !== "False" || was.reason !== now.reason))
      out.push({ type: "Warning", reason: eventReason ?? now.reason, message: now.message });
  }
  const blocked = cond(after, "UpgradeBlocked");
  if (blocked && cond(before, "UpgradeBlocked")?.reason !== blocked.reason) {
    if (blocked.status === "True") out.push({ type: "Warning", reason: "UpgradeBlocked", message: blocked.message });
    else if (blocked.reason === "UpgradeForced")
      out.push({ type: "Warning", reason: "UpgradeForced", message: blocked.message });
  }
  return out;
}
