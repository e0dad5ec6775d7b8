// One way to reach a CAS (issue 13): every caller — the operator's probe, provisioning, upgrade, backup, policies,
// Vault, from the operator, the CLI or the API — asks a CasDriverSource for a connection and talks to the CAS only
// through the CasDriver it gets (the SCONE CLI, SCONE-CLI.md). Two sources implement it: a long-lived CLI pod per
// CAS in the CAS's namespace, reaching CAS by its Service; or a local SCONE CLI binary (`--scone-cli PATH`,
// upstream's `--no-docker`), reaching CAS through a port-forward.
import type { CasDriver } from "./driver.ts";

/** The CAS client port: upstream's manifests and SignedPolicy addresses use 8081 (CLI §8 [crate: legacy lib.rs]). */
export const CAS_CLIENT_PORT = 8081;

export interface CasRef {
  readonly namespace: string;
  /** The CAS resource's name; its Service is named the same (src/operator/cas/names.ts). */
  readonly name: string;
  /** .spec.service.clientPort when set. */
  readonly clientPort?: number;
}

/**
 * Whose CLI state (SCONE_CLI_CONFIG: identity + attested CASes, CLI §7) a connection uses:
 * - `owner`: the CAS owner's `<target>/identity/config.json` (upstream's `~/.cas` layout, SCONE-INTERFACE §10.3),
 *   used by provision, upgrade and the owner's own session changes;
 * - `operator`: the operator's own identity, admitted by the owner through a session; never the owner's.
 */
export type CliIdentity = { readonly kind: "owner"; readonly configPath: string } | { readonly kind: "operator" };

export interface CasConnection {
  readonly driver: CasDriver;
  /** The CAS address as the CLI is given it (host:port): the Service's DNS name from a pod, loopback locally. */
  readonly address: string;
  /** Frees what the connection holds (a port-forward); the CLI pod stays for the next call. */
  release(): Promise<void>;
  /**
   * The latest failure of the path to CAS this connection saw (e.g. the port-forward's node could not connect to the
   * CAS port), if the source can tell. The CLI documents no exit code for "CAS did not answer" (CLI §1, §5), so a
   * caller reads a CLI failure together with this to tell an unreachable CAS from a refused one. Optional.
   */
  transportError?(): Error | undefined;
}

export interface CasDriverSource {
  /** For messages: "SCONE CLI pod ns/cas-sconecli" or "local SCONE CLI /usr/bin/scone". */
  readonly description: string;
  connect(cas: CasRef, identity: CliIdentity, signal?: AbortSignal): Promise<CasConnection>;
}

/** The address a client inside the cluster gives the CLI: the CAS Service by DNS name, client port. */
export function casServiceAddress(cas: CasRef): string {
  return `${cas.name}.${cas.namespace}.svc:${cas.clientPort ?? CAS_CLIENT_PORT}`;
}
