// `scone vault provision NAME -n NS --cas CAS[.NS]`: upstream's deprecated vault flow (SCONE-INTERFACE §10.5) as
// resumable steps over ports (kube, the CAS through the CAS driver, a small state file), so a rerun after a failure
// continues with the same OWNER_ID and changes nothing that is already in place:
//   1. the CAS must be provisioned, HEALTHY and fully migratable (its status says so);
//   2. OWNER_ID: random ($RANDOM$RANDOM), recorded before anything is uploaded;
//   3. the vault sessions (sessions.ts, inferred) are created on the CAS — or updated, with the active version as
//      predecessor, when their content differs — each recorded with the hash the SCONE CLI gave;
//   4. the Vault resource is applied (server-side apply: idempotent).
import { type CasReadiness, casNotReadyReason, type NamedSession, newOwnerId, vaultSessions } from "./sessions.ts";
export interface ProvisionState {
  readonly vault: string;
  readonly namespace: string;
  readonly ownerId: string;
  /** Session name → hash of the version we created. */
  readonly sessions: Readonly<Record<string, string>>;
}

export interface VaultProvisionPorts {
  /** The CAS resource's status (undefined: no such CAS). */
  casStatus(namespace: string, name: string): Promise<CasReadiness | undefined | "absent">;
  /**
   * `session create`, or `session update` (predecessor = the active version's hash) when the content differs, or
   * nothing when it is the same; `hash` is the CLI's for the stored version (never computed by scone).
   */
  uploadSession(name: string, text: string): Promise<{ action: SessionAction; hash: string }>;
  applyVault(manifest: Record<string, unknown>): Promise<void>;
  loadState(): Promise<ProvisionState | undefined>;
  saveState(state: ProvisionState): Promise<void>;
}

export type SessionAction = "created" | "updated" | "unchanged";

export class VaultProvisionError extends Error {
  override readonly name = "VaultProvisionError";
}

export interface VaultProvisionInput {
  readonly vaultName: string;
  readonly namespace: string;
  readonly casName: string;
  readonly casNamespace: string;
  readonly mrenclaves: readonly string[];
  /** Builds the Vault manifest once the OWNER_ID is known. */
  manifest(ownerId: string): Record<string, unknown>;
}

export interface VaultProvisionResult {
  readonly ownerId: string;
  readonly sessions: {
    readonly name: string;
    readonly hash: string;
    readonly action: SessionAction;
    readonly created: boolean;
  }[];
  readonly resumed: boolean;
}

export async function provisionVault(
  input: VaultProvisionInput,
  ports: VaultProvisionPorts,
  progress: (line: string) => void = () => {},
): Promise<VaultProvisionResult> {
  const cas = `${input.casNamespace}/${input.casName}`;
  const status = await ports.casStatus(input.casNamespace, input.casName);
  if (status === "absent") throw new VaultProvisionError(`CAS ${cas} not found: name it with --cas NAME.NAMESPACE`);
  const notReady = casNotReadyReason(cas, status);
  if (notReady) throw new VaultProvisionError(notReady);

  const previous = await ports.loadState();
  const resumed = previous !== undefined;
  let state: ProvisionState = previous ?? {
    vault: input.vaultName,
    namespace: input.namespace,
    ownerId: newOwnerId(),
    sessions: {},
  };
  if (!resumed) await ports.saveState(state);
  else progress(`resuming the provisioning of vault ${input.namespace}/${input.vaultName}`);

  const sessions: NamedSession[] = vaultSessions({
    ownerId: state.ownerId,
    vaultName: input.vaultName,
    namespace: input.namespace,
    mrenclaves: input.mrenclaves,
  });
  const out: VaultProvisionResult["sessions"][number][] = [];
  for (const s of sessions) {
    // Every run asks CAS (a read first): a session changed or deleted since the last run is put right.
    const { action, hash } = await ports.uploadSession(s.name, s.text);
    progress(`session ${s.name} ${action === "unchanged" ? "exists with the same content" : action} (${s.source})`);
    if (state.sessions[s.name] !== hash) {
      state = { ...state, sessions: { ...state.sessions, [s.name]: hash } };
      await ports.saveState(state);
    }
    out.push({ name: s.name, hash, action, created: action === "created" });
  }

  await ports.applyVault(input.manifest(state.ownerId));
  progress(`Vault ${input.namespace}/${input.vaultName} applied`);
  return { ownerId: state.ownerId, sessions: out, resumed };
}
