// The CAS owner admits the operator (`scone cas admit-operator NAME -n NS`): the operator submits policies as its
// own SCONE CLI identity, never as the owner, so the owner grants that identity what it needs through a session —
// the documented construct (SCONE-INTERFACE §12.1 "Authentication model", §12.3 `access_policy{read, update,
// create_sessions}`; key hashes as principals, e.g. `3s1pm8W6Be…`). The session the owner creates or updates:
//
//   name: <session, default scone-operator>
//   version: "0.3.10"
//   access_policy:
//     read: [CREATOR, <operator key hash>]            the operator may read this session
//     update: [CREATOR]                               only the owner changes it
//     create_sessions: [CREATOR, <operator key hash>] the operator may create sessions `<session>/…`
//
// It lists exactly the current operator identity: admitting another one replaces it. Then the operator's CLI
// attests the CAS pinned to the CAS key the owner's CLI attested (`cas attest -c <key>`), so the operator's session
// calls name that key (CLI §3 `--cas-key`) instead of trusting whatever answers first.
import { stringify } from "yaml";
import { checkSessionName } from "../../cas/driver/commands.ts";
import type { CasDriverSource, CasRef } from "../../cas/driver/reach.ts";

export const DEFAULT_OPERATOR_SESSION = "scone-operator";

/** The admission session (built as an object, serialized once). Names the session language version it uses. */
export function operatorAdmissionSession(session: string, operatorKeyHash: string): string {
  checkSessionName("session", session);
  return stringify({
    name: session,
    version: "0.3.10",
    access_policy: {
      read: ["CREATOR", operatorKeyHash],
      update: ["CREATOR"],
      create_sessions: ["CREATOR", operatorKeyHash],
    },
  });
}

export interface AdmitRequest {
  readonly cas: CasRef;
  /** The owner's CLI config (`<target>/identity/config.json`, SCONE-INTERFACE §10.3). */
  readonly ownerConfigPath: string;
  readonly session?: string;
}

export interface AdmitOutcome {
  readonly operatorKeyHash: string;
  readonly session: string;
  readonly action: "Created" | "Updated";
  /** The hash the CLI printed for the admission session. */
  readonly hash: string;
  /** The CAS key the operator's CLI attested (pinned to the owner's). */
  readonly casKey: string;
}

export async function admitOperator(source: CasDriverSource, req: AdmitRequest): Promise<AdmitOutcome> {
  const session = req.session ?? DEFAULT_OPERATOR_SESSION;
  const operator = await source.connect(req.cas, { kind: "operator" });
  try {
    const owner = await source.connect(req.cas, { kind: "owner", configPath: req.ownerConfigPath });
    try {
      // CLI §3 `key_hash`: the operator identity's key hash, the principal the session admits.
      const operatorKeyHash = await operator.driver.keyHash();
      // CLI §3 `cas_keys` (table.ts cas-keys).
      const { casKey } = await owner.driver.casKeys(owner.address);
      const target = { address: owner.address, casKey };
      const body = operatorAdmissionSession(session, operatorKeyHash);
      // `session update` fills in the predecessor (SCONE-INTERFACE §12.3), so the same body serves both.
      // CLI §3 read/create/update_session (table.ts session-read, -create, -update).
      const exists = (await owner.driver.readSession(target, session)) !== null;
      const hash = exists
        ? await owner.driver.updateSession(target, body)
        : await owner.driver.createSession(target, body);
      // CLI §3/§4 `cas_attest` with upstream's tolerations (table.ts attest).
      const attested = await operator.driver.attest({ address: operator.address, casKeyHash: casKey });
      return { operatorKeyHash, session, action: exists ? "Updated" : "Created", hash, casKey: attested.casKey };
    } finally {
      await owner.release();
    }
  } finally {
    await operator.release();
  }
}
