// Which node may open a CAS database (pure decision + a marker file). Real CAS seals its key store with the SGX
// sealing key of the CPU it runs on, so a database volume that follows the pod to another node cannot be opened
// there — unless that node holds a registered backup of this CAS (scone records registrations as the node annotation
// of src/operator/cas/nodes.ts). The simulator's key store is plain JSON, so the runtime enforces the rule: it
// remembers the node that created the key store and refuses to start the CAS elsewhere.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const SEALED_MARKER = ".kwok-cas-sealed-to";

export type UnsealDecision = { readonly open: true } | { readonly open: false; readonly why: string };

export function unsealDecision(input: {
  readonly hasKeyStore: boolean;
  readonly sealedTo: string | undefined;
  readonly node: string;
  readonly nodeHasRegisteredBackup: boolean;
}): UnsealDecision {
  if (!input.hasKeyStore || input.sealedTo === undefined || input.sealedTo === input.node) return { open: true };
  if (input.nodeHasRegisteredBackup) return { open: true };
  return {
    open: false,
    why:
      `the database key store is sealed to node ${input.sealedTo}; node ${input.node} holds no registered backup of ` +
      "this CAS, so it cannot unseal it (register a backup on that node, or restore from a backup)",
  };
}

export function readSealedTo(databaseDir: string): string | undefined {
  const path = join(databaseDir, SEALED_MARKER);
  return existsSync(path) ? readFileSync(path, "utf8").trim() || undefined : undefined;
}

export function hasKeyStore(databaseDir: string): boolean {
  return existsSync(join(databaseDir, "cas.key-store"));
}

/** Called when a CAS started on `node` with a database that had no seal yet. */
export function sealTo(databaseDir: string, node: string): void {
  writeFileSync(join(databaseDir, SEALED_MARKER), `${node}\n`);
}
