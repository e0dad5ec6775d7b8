// Upstream upgrade step (b) (SCONE-INTERFACE §10.4): the backup controller of the new version runs a SCONE CLI
// whose MRENCLAVE may differ from the old one; the backup policy session (cas-owner/primary-backup) only lets
// enclaves with the listed MRENCLAVEs register, so it must name the new one before the new backup controller starts.
// Upstream asks docker for that value; scone cannot, so the user passes it (--backup-mrenclave). Pure text work here.
import { isMap, isSeq, parse, parseDocument } from "yaml";
import { POLICY_NAME } from "../provision/templates.ts";

/** The session the backup controller attests against. */
export const BACKUP_POLICY_SESSION = POLICY_NAME;

export const MRENCLAVE_PATTERN = /^[0-9a-f]{64}$/;

/** The MRENCLAVE lists of the policy's services, by service name. */
export function serviceMrenclaves(session: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const services = parse(session) as { services?: unknown } | null;
  if (!services || !Array.isArray(services.services)) return out;
  for (const s of services.services as { name?: unknown; attestation?: { mrenclave?: unknown } }[]) {
    const list = s?.attestation?.mrenclave;
    if (typeof s?.name === "string" && Array.isArray(list)) out.set(s.name, list.map(String));
  }
  return out;
}

/** Every service that attests by MRENCLAVE admits exactly `mrenclave` (the policy was updated already). */
export function admitsOnly(session: string, mrenclave: string): boolean {
  const lists = [...serviceMrenclaves(session).values()];
  return lists.length > 0 && lists.every((l) => l.length === 1 && l[0] === mrenclave);
}

/**
 * The policy with every service's MRENCLAVE list replaced by `mrenclave` (upstream replaces the old value by the
 * new one); comments, order and the injected owner identity are kept. Throws when no service attests by MRENCLAVE.
 */
export function withCliMrenclave(session: string, mrenclave: string): string {
  if (!MRENCLAVE_PATTERN.test(mrenclave)) throw new Error(`MRENCLAVE ${mrenclave}: expected 64 lower-case hex digits`);
  const doc = parseDocument(session);
  const services = doc.get("services");
  let replaced = 0;
  if (isSeq(services)) {
    for (const service of services.items) {
      if (!isMap(service)) continue;
      const attestation = service.get("attestation");
      if (!isMap(attestation) || !isSeq(attestation.get("mrenclave"))) continue;
      attestation.set("mrenclave", doc.createNode([mrenclave]));
      replaced++;
    }
  }
  if (replaced === 0) throw new Error(`session ${BACKUP_POLICY_SESSION} has no service that attests by MRENCLAVE`);
  return doc.toString({ lineWidth: 0 });
}
