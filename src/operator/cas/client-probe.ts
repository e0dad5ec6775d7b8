// The production CasProbe: asks the CAS over its REST API (src/cas/client.ts). Attestation uses spec.nonce and the
// CAS key hash the CAS printed on its console ("CAS key hash …", last field — what `kubectl provision` reads); the
// attested report names the TLS CA that the provisioned check then pins. Provisioned = the session `provisioned`
// is readable (its access policy reads ANY; §3.2). Snapshot progress comes from GET /healthz [inferred: SCONE
// documents no such endpoint]; a CAS without it reports none (the status then stays "Initializing", never a guessed
// "Failed").
import type { KubeClient } from "../../kube/client.ts";
import type { CAS } from "../../resources/cas.ts";
import { CAS_CONTAINER, DEFAULT_CLIENT_PORT, names } from "./names.ts";
import type { CasProbe, CasProbeResult, Provisioned } from "./probe.ts";

export interface CasAddress {
  /** Base URL of the client API. */
  readonly url: string;
  /** Name the CAS certificate is checked against when `url` uses another (a loopback port-forward). */
  readonly serverName?: string;
  /** Called after the probe (e.g. to close a port-forward opened for it). */
  readonly release?: () => Promise<void>;
}

export interface CasClientProbeOptions {
  /**
   * Where the CAS answers; default the CAS Service in-cluster: https://NAME.NS.svc:<clientPort>. An operator running
   * outside the cluster passes a resolver that opens a port-forward to NAME-0 (and closes it in `release`).
   */
  readonly resolveAddress?: (cas: CAS, signal: AbortSignal) => CasAddress | Promise<CasAddress>;
  /** The CAS key hash to attest against; default: read from the console log of NAME-0 (container cas). */
  readonly casKeyHash?: (cas: CAS, signal: AbortSignal) => Promise<string | undefined>;
  readonly timeoutMs?: number;
}

export const serviceAddress = (cas: CAS): CasAddress => {
  const name = cas.metadata.name ?? "";
  const namespace = cas.metadata.namespace ?? "";
  const port = cas.spec?.service?.clientPort ?? DEFAULT_CLIENT_PORT;
  return { url: `https://${names(name).service}.${namespace}.svc:${port}` };
};

/** The last field of the first console line naming `label` (SCONE's tooling parses the CAS console this way). */
export function consoleField(log: string, label: string): string | undefined {
  const line = log.split("\n").find((l) => l.includes(label));
  const field = line?.trim().split(/\s+/).at(-1);
  return field && field !== label.split(" ").at(-1) ? field : undefined;
}

export function casClientProbe(kube: KubeClient, options: CasClientProbeOptions = {}): CasProbe {
  const resolve = options.resolveAddress ?? serviceAddress;
  const keyHashes = new Map<string, string>();
  const fromLog = async (cas: CAS, signal: AbortSignal): Promise<string | undefined> => {
    const key = `${cas.metadata.namespace}/${cas.metadata.name}`;
    const cached = keyHashes.get(key);
    if (cached) return cached;
    const log = await kube
      .podLogs(
        { namespace: cas.metadata.namespace ?? "", name: names(cas.metadata.name ?? "").pod },
        { container: CAS_CONTAINER, signal },
      )
      .catch(() => "");
    const hash = consoleField(log, "CAS key hash");
    if (hash) keyHashes.set(key, hash);
    return hash;
  };
  const keyHashOf = options.casKeyHash ?? fromLog;

  return {
    async probe(cas: CAS, signal: AbortSignal): Promise<CasProbeResult> {
      let address: CasAddress;
      try {
        address = await resolve(cas, signal);
      } catch (err) {
        return { reachable: false, error: `no address for CAS: ${err instanceof Error ? err.message : String(err)}` };
      }
      try {
        return await ask(cas, address, signal);
      } finally {
        await address.release?.().catch(() => undefined);
      }
    },
  };

  async function ask(cas: CAS, address: CasAddress, signal: AbortSignal): Promise<CasProbeResult> {
    // Loaded on first use: the CAS client pulls in crypto code the rest of the operator does not need.
    const { attestCas, CasClient, newNonce } = await import("../../cas/client.ts");
    const { CasNotFoundError, CasUnavailableError, CasError } = await import("../../cas/errors.ts");
    const { CasAttestationError } = await import("../../cas/attestation.ts");
    const timeoutMs = options.timeoutMs ?? 20_000;
    const casKeyHash = await keyHashOf(cas, signal);
    let attested: Awaited<ReturnType<typeof attestCas>>;
    try {
      attested = await attestCas(address.url, {
        casKeyHash: casKeyHash ?? "",
        nonce: cas.spec?.nonce ?? newNonce(),
        timeoutMs,
        signal,
      });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (err instanceof CasUnavailableError) return { reachable: false, error: message };
      if (err instanceof CasAttestationError || err instanceof CasError) {
        keyHashes.delete(`${cas.metadata.namespace}/${cas.metadata.name}`); // the CAS may have a new key
        const reason = casKeyHash
          ? message
          : `the CAS key hash is unknown (no "CAS key hash" line in the log of ${names(cas.metadata.name ?? "").pod})`;
        return { reachable: true, provisioned: "Unknown", attestable: false, attestationReason: reason };
      }
      return { reachable: false, error: message };
    }
    const { report, evidence, caCertPem } = attested;
    const client = new CasClient({
      url: address.url,
      caCertPem,
      timeoutMs,
      ...(address.serverName ? { serverName: address.serverName } : {}),
    });
    let provisioned: Provisioned;
    try {
      await client.readSession("provisioned", undefined, { signal });
      provisioned = "Yes";
    } catch (err) {
      if (err instanceof CasUnavailableError) return { reachable: false, error: err.message };
      provisioned = err instanceof CasNotFoundError ? "No" : report.provisioned ? "Yes" : "No";
    }
    // Snapshot progress [inferred endpoint /healthz]; a CAS without it simply reports none.
    const health = await client.health({ signal }).catch(() => undefined);
    const snapshots = health?.snapshots;
    return {
      reachable: true,
      version: report.version,
      provisioned,
      attestable: true,
      ...(cas.spec?.nonce ? { dcapReport: JSON.stringify(evidence) } : {}),
      ...(snapshots?.last_snapshot_at ? { snapshotTimestamp: snapshots.last_snapshot_at } : {}),
      ...(snapshots?.last_checkup_at ? { snapshotCheckupTimestamp: snapshots.last_checkup_at } : {}),
    };
  }
}
