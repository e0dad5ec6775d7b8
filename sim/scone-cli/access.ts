// An attested CAS from the CLI config: the address (--cas, else the default CAS), its cas_db entry (the CA pinned at
// attestation) and a connection as this identity. Shared by the session and the cas commands.

import { CliFailure, type Env } from "./failure.ts";
import { type Connection, retriesOf } from "./net.ts";
import { type CasDbEntry, type CliConfig, configPath, identityOf, loadConfig } from "./state.ts";

/** An attested CAS and how to reach it as this identity. */
export interface Attested {
  readonly address: string;
  readonly entry: CasDbEntry;
  readonly conn: Connection;
  readonly config: CliConfig;
}

export async function attestedCas(env: Env, address: string | undefined, casKey?: string): Promise<Attested> {
  const config = await loadConfig(configPath(env));
  const addr = address ?? config.default_cas ?? undefined;
  if (!addr) throw new CliFailure("error: no CAS given (--cas) and no default CAS: attest one first");
  const entry = config.cas_db[addr];
  if (!entry) throw new CliFailure(`error: CAS ${addr} has not been attested (scone cas attest ${addr} …)`);
  if (casKey !== undefined && casKey !== entry.cas_key) {
    throw new CliFailure(`error: CAS ${addr}: --cas-key ${casKey} is not the key its attestation established`);
  }
  const conn: Connection = { address: addr, chain: entry.chain, identity: identityOf(config), retries: retriesOf(env) };
  return { address: addr, entry, conn, config };
}
