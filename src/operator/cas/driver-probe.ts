// The production CasProbe: what the CAS says, through documented signals only (issue 13), reached through the one
// seam src/cas/driver/reach.ts with the operator's own CLI identity.
// - attestable: `scone cas attest <addr> -c <CAS key hash> …` passes with upstream's tolerations, then the standard
//   signer (CasDriver.attest; CLI §3/§4, SCONE-INTERFACE §10.1). The key hash is the CAS console's `CAS key hash`
//   line (§3.3). When attestation is refused, the reason is the CLI's error text. The testing-only
//   `--only_for_testing_allow-unprovisioned-cas` is never given: an unprovisioned CAS is told by its console instead,
//   which prints a `CAS provisioning token` line until it is provisioned (SCONE-INTERFACE §10.2 step 7) → No.
// - provisioned: `scone session read provisioned` (CLI §3 `read_session`; the 5.8 CRD text: "by trying to retrieve a
//   policy called provisioned") — exit 0 Yes, exit 2 No, anything else Unknown.
// - version: not asked of CAS (GET /v1/version exists [V: release notes 5.8] but its answer is unpublished); the
//   status takes the running `cas` image's tag (status.ts).
// - dcapReport for spec.nonce: `/v1/attest` returns an offline report (CLI §4, §8), but how to ask it for a given
//   nonce is not published (SCONE-INTERFACE §14): never reported; the Attested condition says so.
// - snapshots: what the snapshot volume holds, observed in the pod (snapshot-volume.ts).
import { CliInputError, CliOutputError, SconeCliError } from "../../cas/driver/commands.ts";
import type { CasConnection, CasDriverSource, CasRef } from "../../cas/driver/reach.ts";
import type { KubeClient } from "../../kube/client.ts";
import type { CAS } from "../../resources/cas.ts";
import { consoleField } from "./console.ts";
import { CAS_CONTAINER, names } from "./names.ts";
import type { CasProbe, CasProbeResult, Provisioned } from "./probe.ts";
import { type CasPodExec, observeLastSnapshot } from "./snapshot-volume.ts";

export interface CasDriverProbeOptions {
  readonly source: CasDriverSource;
  /** Runs a command in the CAS pod; default src/kube/exec.ts over the client's connection. */
  readonly exec?: CasPodExec;
  /** The console of NAME-0 (container cas); default the pod's log. */
  readonly consoleLog?: (cas: CAS, signal: AbortSignal) => Promise<string>;
  /** `--retries` of each attestation attempt (default 1: the probe runs again soon anyway). */
  readonly retries?: number;
}

/** The most of the CLI's error text the Attested condition carries. */
export const MAX_REASON_CHARS = 600;

/** The CLI's error text, bounded, for a condition message (SconeCliError already cut stderr to 2000). */
export function boundedReason(text: string): string {
  const t = text.trim();
  return t.length > MAX_REASON_CHARS ? `${t.slice(0, MAX_REASON_CHARS)}…` : t;
}

export const casRefOf = (cas: CAS): CasRef => ({
  namespace: cas.metadata.namespace ?? "",
  name: cas.metadata.name ?? "",
  ...(cas.spec?.service?.clientPort ? { clientPort: cas.spec.service.clientPort } : {}),
});

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Errors that mean the CLI ran and refused, or could not be asked with what scone has (not an unreachable CAS). */
const isRefusal = (err: unknown): boolean =>
  err instanceof SconeCliError || err instanceof CliInputError || err instanceof CliOutputError;

export function casDriverProbe(kube: KubeClient, options: CasDriverProbeOptions): CasProbe {
  const { source } = options;
  const exec: CasPodExec =
    options.exec ??
    (async (o) => {
      const { execInPod } = await import("../../kube/exec.ts");
      return execInPod(kube.transport.connection, o);
    });
  const consoleLog =
    options.consoleLog ??
    ((cas: CAS, signal: AbortSignal) =>
      kube.podLogs(
        { namespace: cas.metadata.namespace ?? "", name: names(cas.metadata.name ?? "").pod },
        { container: CAS_CONTAINER, signal },
      ));
  // The key hash does not change while CAS keeps its key: read the console once, again after a refusal.
  const keyHashes = new Map<string, string>();
  const keyOf = (cas: CAS) => `${cas.metadata.namespace}/${cas.metadata.name}`;
  const keyHashOf = async (cas: CAS, signal: AbortSignal): Promise<string | undefined> => {
    const cached = keyHashes.get(keyOf(cas));
    if (cached) return cached;
    const hash = consoleField(await consoleLog(cas, signal).catch(() => ""), "CAS key hash");
    if (hash) keyHashes.set(keyOf(cas), hash);
    return hash;
  };

  /** The console still offers a provisioning token: nobody has provisioned this CAS (read afresh, never cached). */
  const showsProvisioningToken = async (cas: CAS, signal: AbortSignal): Promise<boolean> =>
    consoleField(await consoleLog(cas, signal).catch(() => ""), "CAS provisioning token") !== undefined;

  async function ask(cas: CAS, conn: CasConnection, signal: AbortSignal): Promise<CasProbeResult> {
    const casKeyHash = await keyHashOf(cas, signal);
    if (!casKeyHash) {
      const reason = `the CAS key hash is unknown (no "CAS key hash" line in the log of ${names(cas.metadata.name ?? "").pod})`;
      return { reachable: true, provisioned: "Unknown", attestable: false, attestationReason: reason };
    }
    let casKey: string;
    try {
      const outcome = await conn.driver.attest({
        address: conn.address,
        casKeyHash,
        retries: options.retries ?? 1,
      });
      casKey = outcome.casKey;
    } catch (err) {
      const transport = conn.transportError?.();
      if (!isRefusal(err) || transport) {
        return { reachable: false, error: transport ? `${transport.message} (${messageOf(err)})` : messageOf(err) };
      }
      keyHashes.delete(keyOf(cas)); // CAS may have a new key
      return {
        reachable: true,
        provisioned: (await showsProvisioningToken(cas, signal)) ? "No" : "Unknown",
        attestable: false,
        attestationReason: boundedReason(messageOf(err)),
      };
    }
    let provisioned: Provisioned;
    try {
      const body = await conn.driver.readSession({ address: conn.address, casKey }, "provisioned");
      provisioned = body === null ? "No" : "Yes";
    } catch {
      provisioned = "Unknown";
    }
    return { reachable: true, provisioned, attestable: true };
  }

  return {
    async probe(cas: CAS, signal: AbortSignal): Promise<CasProbeResult> {
      let conn: CasConnection;
      try {
        conn = await source.connect(casRefOf(cas), { kind: "operator" }, signal);
      } catch (err) {
        return { reachable: false, error: `no connection to CAS through ${source.description}: ${messageOf(err)}` };
      }
      try {
        // The snapshot volume is observed in the pod, independent of the CLI: both at once.
        const [answer, snapshot] = await Promise.all([ask(cas, conn, signal), observeLastSnapshot(exec, cas, signal)]);
        return { ...answer, ...snapshot };
      } finally {
        await conn.release().catch(() => undefined);
      }
    },
  };
}

/** The probe of an operator that has no SCONE CLI to ask CAS with: it says so, rather than guessing. */
export function noCliProbe(why: string): CasProbe {
  return { probe: async () => ({ reachable: false, error: why }) };
}
