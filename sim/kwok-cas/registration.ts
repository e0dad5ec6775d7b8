// The node annotation that records a registered backup CAS. Upstream's backup controller keeps its registrations to
// itself; scone's convention (an inference, documented with its eviction rules) is that whoever registers a backup
// CAS on a node annotates the node `cas.scone.cloud/backup-registered-<namespace>.<name>` = RFC 3339 time, with a
// hash standing in for `<namespace>.<name>` when that is longer than an annotation name leaves room for. The
// simulated backup controller writes it and the simulated CAS pod reads it; recorded examples in
// test/unit/kwok-cas/registration.test.ts keep this in step with scone.
import { createHash } from "node:crypto";

const PREFIX = "cas.scone.cloud/";
const NAME_PART = "backup-registered-";
/** An annotation name part is at most 63 characters. */
const ROOM = 63 - NAME_PART.length;

export function backupRegistrationKey(namespace: string, name: string): string {
  const id = `${namespace}.${name}`;
  const part = id.length <= ROOM ? id : createHash("sha256").update(`${namespace}/${name}`).digest("hex").slice(0, 32);
  return `${PREFIX}${NAME_PART}${part}`;
}
