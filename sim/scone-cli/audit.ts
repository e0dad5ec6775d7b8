// `cas verify-audit-log` / `cas attest-audit-log` of the stand-in CLI: checks a simulated CAS's audit log (the chain
// sim/cas/audit-log.ts writes: one JSON entry per line, each Ed25519-signed by the CAS's audit key and naming the
// previous entry's signature) and exits with the documented verdict codes (SCONE-CLI.md §5), most severe found:
//   20 a line unreadable, a signature or a chain link wrong   19 signed by another key than the selected CAS's
//   18 the CAS's own chain disagrees (ends earlier, or another signature at the log's last seq, or a checkpoint)
//   17 sequence numbers skip (entries deleted), or the first entry does not follow --predecessor
//   16 --cas unreachable (rollback cannot be ruled out)   15 older entries missing (no seq 0, no --predecessor)
//   14 recent entries missing (--last or a checkpoint beyond the log's end)   0 fully correct   1 fatal (no key …)
// 10 (a rolled-back failed transaction) never occurs: the simulated CAS has no such transactions.
import { randomBytes } from "node:crypto";
import type { AuditEntry } from "../cas/audit-log.ts";
import { canonicalJson, unhex } from "../cas/codec.ts";
import { verifyHex } from "../cas/keys-ed25519.ts";
import { one, parseArgs } from "./args.ts";
import { CliFailure, type Env } from "./failure.ts";
import { cliVersion, type Io, readInput } from "./io.ts";
import { type Connection, fetchReport, request, retriesOf } from "./net.ts";
import { configPath, identityOf, loadConfig } from "./state.ts";
import { checkReport, VERIFIER_SPEC, verify } from "./verifier.ts";

type Entry = AuditEntry & { readonly line: string };

function parseEntry(line: string, n: number): Entry | string {
  let e: Partial<Entry>;
  try {
    e = JSON.parse(line) as Partial<Entry>;
  } catch {
    return `line ${n}: not JSON`;
  }
  if (typeof e !== "object" || e === null) return `line ${n}: not a JSON object`;
  if (typeof e.seq !== "number" || !Number.isSafeInteger(e.seq) || e.seq < 0) return `line ${n}: seq is not a count`;
  if (typeof e.time !== "string" || typeof e.event !== "string") return `line ${n}: time/event missing`;
  if (typeof e.details !== "object" || e.details === null) return `line ${n}: details missing`;
  if (e.prev_signature !== null && typeof e.prev_signature !== "string") return `line ${n}: prev_signature missing`;
  if (typeof e.signature !== "string" || !/^[0-9a-f]{128}$/.test(e.signature)) return `line ${n}: signature missing`;
  return { ...(e as Entry), line };
}

const signedOver = (e: Entry) =>
  canonicalJson({ seq: e.seq, time: e.time, event: e.event, details: e.details, prev_signature: e.prev_signature });

const verifies = (key: Uint8Array, e: Entry) => verifyHex(key, signedOver(e), e.signature);

interface CasSide {
  readonly auditKey: string;
  readonly casKeyHash: string;
  readonly conn: Connection;
}

/** The selected CAS (--cas): a fresh report checked against the key hash given or attested before. */
async function selectedCas(
  env: Env,
  address: string,
  keyHash: string | undefined,
  attestArgs: import("./args.ts").ParsedArgs | undefined,
): Promise<CasSide> {
  const config = await loadConfig(configPath(env));
  const entry = config.cas_db[address];
  const retries = retriesOf(env);
  const nonce = randomBytes(16).toString("hex");
  const report = checkReport(await fetchReport({ address, retries }, nonce), nonce, keyHash ?? entry?.cas_key);
  if (attestArgs) verify(report, attestArgs, cliVersion(env));
  return {
    auditKey: report.audit_public_key,
    casKeyHash: report.cas_key_hash,
    conn: { address, chain: report.ca_certificate, identity: identityOf(config), retries },
  };
}

export async function verifyAuditLog(attestMode: boolean, args: string[], env: Env, io: Io): Promise<number> {
  const p = parseArgs(args, {
    values: [
      ...(attestMode ? VERIFIER_SPEC.values! : []),
      "--cas",
      "--cas-key-hash",
      "--predecessor",
      "--last",
      "--checkpoints-json",
    ],
    flags: [...(attestMode ? VERIFIER_SPEC.flags! : []), "--print-log", "-p"],
    positionals: 1,
  });
  const address = one(p, "--cas");
  if (p.values.has("--cas-key-hash") && address === undefined) {
    throw new CliFailure("error: --cas-key-hash requires --cas", 2);
  }
  if (attestMode && address === undefined) throw new CliFailure("error: attest-audit-log needs --cas <CAS>");
  const lines = readInput(p.positionals[0]!)
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  const found = new Map<number, string>();
  const flag = (code: number, why: string) => {
    if (!found.has(code)) found.set(code, why);
  };
  const entries: Entry[] = [];
  for (const [i, line] of lines.entries()) {
    const e = parseEntry(line, i + 1);
    if (typeof e === "string") flag(20, e);
    else entries.push(e);
  }

  let cas: CasSide | undefined;
  if (address !== undefined) {
    try {
      cas = await selectedCas(env, address, one(p, "--cas-key-hash"), attestMode ? p : undefined);
    } catch (err) {
      if (err instanceof CliFailure && /cannot connect/.test(err.message)) flag(16, err.message);
      else if (err instanceof CliFailure && /CAS key hash mismatch/.test(err.message)) flag(19, err.message);
      else throw err;
    }
  }
  const declared = entries.find((e) => e.event === "audit_log_enabled");
  const declaredKey = typeof declared?.details.audit_public_key === "string" ? declared.details.audit_public_key : "";
  const keyHex = cas?.auditKey ?? declaredKey;
  if (keyHex === "") {
    throw new CliFailure("error: no audit key to verify with: the log has no audit_log_enabled entry; give --cas");
  }
  const key = unhex(keyHex, "audit key");
  if (cas && declared && (declaredKey !== cas.auditKey || declared.details.cas_key_hash !== cas.casKeyHash)) {
    flag(19, `the log's audit key / CAS key hash (seq ${declared.seq}) are not those of CAS ${address}`);
  }
  for (const [i, e] of entries.entries()) {
    if (!verifies(key, e)) {
      const otherKey = declaredKey && declaredKey !== keyHex && verifies(unhex(declaredKey, "audit key"), e);
      flag(
        otherKey ? 19 : 20,
        `seq ${e.seq}: signature does not verify${otherKey ? ` with CAS ${address}'s key` : ""}`,
      );
    }
    const before = entries[i - 1];
    if (before) {
      if (e.seq !== before.seq + 1) flag(17, `entries missing between seq ${before.seq} and ${e.seq}`);
      else if (e.prev_signature !== before.signature) flag(20, `seq ${e.seq}: does not chain to seq ${before.seq}`);
    }
  }
  const first = entries[0];
  const last = entries.at(-1);
  const predecessor = one(p, "--predecessor");
  if (first && first.seq === 0 && first.prev_signature !== null) flag(20, "seq 0 names a predecessor");
  if (first && first.seq > 0) {
    if (predecessor === undefined) flag(15, `older entries missing: the log starts at seq ${first.seq}`);
    else if (first.prev_signature !== predecessor) flag(17, `seq ${first.seq} does not follow --predecessor`);
  }
  const lastSig = one(p, "--last");
  if (lastSig !== undefined && !entries.some((e) => e.signature === lastSig)) {
    flag(14, "recent entries missing: no entry has the --last signature");
  }
  const checkpointsFile = one(p, "--checkpoints-json");
  if (checkpointsFile !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readInput(checkpointsFile));
    } catch {
      throw new CliFailure(`error: --checkpoints-json ${checkpointsFile}: not JSON`);
    }
    const list = (Array.isArray(parsed) ? parsed : (parsed as { checkpoints?: unknown })?.checkpoints) as
      | { sequence_number?: unknown; signature?: unknown }[]
      | undefined;
    if (!Array.isArray(list)) throw new CliFailure("error: --checkpoints-json: expected {checkpoints: […]}");
    for (const c of list) {
      const at = entries.find((e) => e.seq === c.sequence_number);
      if (at && at.signature !== c.signature) flag(18, `checkpoint ${String(c.sequence_number)}: another signature`);
      if (!at && last && typeof c.sequence_number === "number" && c.sequence_number > last.seq) {
        flag(14, `recent entries missing: checkpoint ${c.sequence_number} is beyond the log's end`);
      }
    }
  }
  if (cas && last) {
    const answer = await request(cas.conn, "GET", `/_cli/v1/audit-log?at=${last.seq}`).catch((err: unknown) => {
      flag(16, err instanceof Error ? err.message : String(err));
      return undefined;
    });
    if (answer && answer.status !== 200) flag(16, `CAS ${address} did not give its chain (HTTP ${answer.status})`);
    const state = answer?.body as { at?: { signature: string } | null; last?: { seq: number } | null } | undefined;
    if (answer?.status === 200 && state) {
      if (!state.at)
        flag(
          18,
          `rollback: CAS ${address}'s chain ends at seq ${state.last?.seq ?? "(none)"}, before the log's ${last.seq}`,
        );
      else if (state.at.signature !== last.signature)
        flag(18, `rollback: CAS ${address} has another entry at seq ${last.seq}`);
    }
  }
  if (p.flags.has("--print-log") || p.flags.has("-p")) for (const e of entries) io.out(e.line);
  const code = found.size === 0 ? 0 : Math.max(...found.keys());
  const range = first && last ? `seq ${first.seq}..${last.seq}` : "no entries";
  io.err(`audit log: ${entries.length} entries (${range})${code === 0 ? ": fully correct" : ""}`);
  for (const [c, why] of [...found.entries()].sort((x, y) => y[0] - x[0])) io.err(`  [${c}] ${why}`);
  return code;
}
