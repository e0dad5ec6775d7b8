// What every `scone doctor` check produces: one finding per thing it looked at, with what to do about it. The
// checks are pure (observed objects in, findings out); observe.ts and the probes are the only I/O.

export type FindingStatus = "ok" | "warn" | "fail";

export interface Finding {
  /** The check and its subject, e.g. "pull-secret sconeapps", "las node sgx-node-1". */
  readonly check: string;
  readonly status: FindingStatus;
  readonly message: string;
  /** What to do; empty when the finding is ok. */
  readonly fix: string;
}

export const ok = (check: string, message: string): Finding => ({ check, status: "ok", message, fix: "" });
export const warn = (check: string, message: string, fix: string): Finding => ({
  check,
  status: "warn",
  message,
  fix,
});
export const fail = (check: string, message: string, fix: string): Finding => ({
  check,
  status: "fail",
  message,
  fix,
});

/** 0 when no finding failed, 1 otherwise (warnings do not fail the run). */
export const doctorExitCode = (findings: readonly Finding[]): 0 | 1 =>
  findings.some((f) => f.status === "fail") ? 1 : 0;

export function summary(findings: readonly Finding[]): Record<FindingStatus, number> {
  const out: Record<FindingStatus, number> = { ok: 0, warn: 0, fail: 0 };
  for (const f of findings) out[f.status]++;
  return out;
}

/** The text of an ISO time as epoch ms, or undefined. */
export function timeMs(t: string | Date | undefined | null): number | undefined {
  if (t === undefined || t === null) return undefined;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Whether a pod's Ready condition is True. */
export const isPodReady = (p: { status?: { conditions?: { type?: string; status?: string }[] } }): boolean =>
  p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
