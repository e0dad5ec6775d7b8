// The port through which the CAS reconciler learns what only the CAS itself knows: whether it answers, its version,
// whether it is provisioned and attestable, and its snapshot progress. The production implementation asks through
// the SCONE CLI and looks into the pod (driver-probe.ts); tests pass a fake.
import type { CAS } from "../../resources/cas.ts";

export type Provisioned = "Yes" | "No" | "Unknown";

export interface CasProbeResult {
  /** The CAS answered on its client port. */
  readonly reachable: boolean;
  readonly version?: string;
  /** Yes: the session `provisioned` is readable (§3.2); No: the CAS says it does not exist; Unknown otherwise. */
  readonly provisioned?: Provisioned;
  readonly attestable?: boolean;
  /** Why attestation failed, for the Attested condition. */
  readonly attestationReason?: string;
  /** The report the CAS produced for spec.nonce (no documented interface gives one: the production probe never sets it). */
  readonly dcapReport?: string;
  /** Why the CAS could not be reached (timeout, refused …), for the CASReachable condition. */
  readonly error?: string;
  /** RFC 3339: when the CAS made its latest database snapshot. */
  readonly snapshotTimestamp?: string;
  /** RFC 3339: when the CAS last checked whether a snapshot was due (made or skipped); only when observable. */
  readonly snapshotCheckupTimestamp?: string;
}

export interface CasProbe {
  probe(cas: CAS, signal: AbortSignal): Promise<CasProbeResult>;
}

/** How long one probe may take before the CAS counts as unreachable (upstream probe timeout: 20 s). */
export const PROBE_TIMEOUT_MS = 20_000;

/** Runs `probe` with a deadline; a probe that throws or hangs reports an unreachable CAS with the reason. */
export async function probeWithTimeout(
  probe: CasProbe,
  cas: CAS,
  signal: AbortSignal,
  timeoutMs = PROBE_TIMEOUT_MS,
): Promise<CasProbeResult> {
  const bounded = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<CasProbeResult>((resolve) => {
    timer = setTimeout(
      () => resolve({ reachable: false, error: `no answer within ${Math.round(timeoutMs / 1000)} s` }),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([probe.probe(cas, bounded), deadline]);
  } catch (err) {
    return { reachable: false, error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}
