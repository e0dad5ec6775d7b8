// Signed audit-log entries like the simulator writes (audit_log_enabled announcing the key, then events), for the
// archive and shipper tests.
import type { AuditEntry } from "../../src/cas/audit.ts";
import type { ShippedEntry } from "../../src/flows/audit/archive/segment.ts";
import { signAuditEntry } from "../support/cas-legacy/audit.ts";
import { ed25519FromSeed, toHex } from "../support/cas-legacy/crypto.ts";

/** `count` entries of one log from seq 0, signed with the key of `seed`; `pad` characters of filler in each event's details. */
export async function signedEntries(count: number, seed = 7, pad = 0): Promise<ShippedEntry[]> {
  const key = await ed25519FromSeed(new Uint8Array(32).fill(seed));
  const out: ShippedEntry[] = [];
  let prev: string | null = null;
  for (let seq = 0; seq < count; seq++) {
    const entry: AuditEntry = await signAuditEntry(
      {
        seq,
        time: new Date(Date.UTC(2026, 11, 7, 10, 0, seq)).toISOString(),
        event: seq === 0 ? "audit_log_enabled" : "session_read",
        details:
          seq === 0
            ? { audit_public_key: toHex(key.publicKey) }
            : { session: `app-${seq}`, ...(pad > 0 ? { note: "x".repeat(pad) } : {}) },
        prev_signature: prev,
      },
      key,
    );
    prev = entry.signature;
    out.push({ seq, time: entry.time, signature: entry.signature, raw: JSON.stringify(entry) });
  }
  return out;
}
