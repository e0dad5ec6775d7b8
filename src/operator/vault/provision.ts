// `scone vault provision NAME -n NS --cas CAS[.NS]`: upstream's deprecated vault flow (SCONE-INTERFACE §10.5) as
// resumable steps over ports (kube, CAS, a small state file), so a rerun after a failure continues with the same
// OWNER_ID and never uploads a session twice:
//   1. the CAS must be provisioned, HEALTHY and fully migratable (its status says so);
//   2. OWNER_ID: random ($RANDOM$RANDOM), recorded before anything is uploaded;
//   3. the vault sessions (sessions.ts, inferred) are created on the CAS, each recorded with its hash;
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
  /** Creates a session; throws SessionExistsError when a session of that name exists. */
  createSession(text: string): Promise<{ hash: string }>;
  /** The current hash of an existing session (readable by its creator). */
  sessionHash(name: string): Promise<string>;
  applyVault(manifest: Record<string, unknown>): Promise<void>;
  loadState(): Promise<ProvisionState | undefined>;
  saveState(state: ProvisionState): Promise<void>;
}

/** The CAS answered that the session exists (409 on create). */
export class SessionExistsError extends Error {
  override readonly name = "SessionExistsError";
}

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
  readonly sessions: { readonly name: string; readonly hash: string; readonly created: boolean }[];
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
  const out: VaultProvisionResult["sessions"] = [];
  for (const s of sessions) {
    const known = state.sessions[s.name];
    if (known) {
      out.push({ name: s.name, hash: known, created: false });
      continue;
    }
    let hash: string;
    let created = true;
    try {
      ({ hash } = await ports.createSession(s.text));
      progress(`session ${s.name} created (${s.source})`);
    } catch (e) {
      // Created by an earlier run that died before recording it: take it as it is.
      if (!(e instanceof SessionExistsError)) throw e;
      hash = await ports.sessionHash(s.name);
      created = false;
      progress(`session ${s.name} exists already`);
    }
    state = { ...state, sessions: { ...state.sessions, [s.name]: hash } };
    await ports.saveState(state);
    out.push({ name: s.name, hash, created });
  }

  await ports.applyVault(input.manifest(state.ownerId));
  progress(`Vault ${input.namespace}/${input.vaultName} applied`);
  return { ownerId: state.ownerId, sessions: out, resumed };
}
