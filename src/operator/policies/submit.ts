// A policy that passed the operator's pre-checks, submitted through the CAS driver (the SCONE CLI) with the
// operator's own identity, and the CLI's answer turned into an Outcome. The hash in status is what the CLI printed
// for the stored session (CLI §5: create/update "print the new hash"); scone computes no hash itself.
import { type CasTarget, CliInputError, CliOutputError, SconeCliError } from "../../cas/driver/commands.ts";
import type { CasDriver } from "../../cas/driver/driver.ts";
import { CliRunError } from "../../cas/driver/runner.ts";
import type { EncryptedPolicySpec, SignedPolicySpec } from "../../resources/policies.ts";
import { POLICY_REASON } from "../../resources/policy-conditions.ts";
import { encryptedSessionBody, signedSessionBody } from "./precheck.ts";
import type { PolicyOutcome } from "./status.ts";

/** How much of the CLI's error text reaches status, Events and logs. */
export const MAX_CAS_MESSAGE = 1000;

const bounded = (text: string) => (text.length > MAX_CAS_MESSAGE ? `${text.slice(0, MAX_CAS_MESSAGE)}…` : text);
const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * The CLI ran and said no: the CAS's decision (or the CLI's, which stands for it) → `casRejected`, with the CLI's
 * words. The CLI could not be run, or answered outside its documented format → `error`, retried.
 */
export function outcomeOfDriverError(err: unknown): PolicyOutcome {
  if (err instanceof SconeCliError) return { kind: "casRejected", message: bounded(err.message) };
  if (err instanceof CliRunError)
    return { kind: "error", reason: POLICY_REASON.CasUnavailable, message: bounded(err.message) };
  if (err instanceof CliOutputError || err instanceof CliInputError)
    return { kind: "error", reason: POLICY_REASON.CasError, message: bounded(err.message) };
  return { kind: "error", reason: POLICY_REASON.CasError, message: bounded(errorText(err)) };
}

/**
 * Whether the session exists (`session read`: exit 2 = none). A read the CAS refuses (e.g. `access_policy.read:
 * NONE`, as in the upstream sample) tells nothing: "unknown".
 */
async function existing(driver: CasDriver, target: CasTarget, name: string): Promise<"yes" | "no" | "unknown"> {
  try {
    // CLI §3 `read_session` [crate: pub/cli.rs] (table.ts session-read).
    return (await driver.readSession(target, name)) === null ? "no" : "yes";
  } catch (err) {
    if (err instanceof SconeCliError) return "unknown";
    throw err;
  }
}

/**
 * A predecessor in the text means an update (SCONE-INTERFACE §12.3: forbidden on create). Otherwise `session
 * create` — one CLI call for the common case, a new policy; when the CAS refuses it and `session read` shows the
 * session exists, `session update` (the CAS enforces the predecessor rule). Any other refusal is the create's.
 */
export async function submitSignedPolicy(
  driver: CasDriver,
  target: CasTarget,
  spec: SignedPolicySpec,
  header: { readonly sessionName: string; readonly predecessor: string | null },
): Promise<PolicyOutcome> {
  const body = signedSessionBody(spec);
  const updated = async (predecessor: string | undefined): Promise<PolicyOutcome> => ({
    kind: "synced",
    // CLI §3 `update_session`; the hash CAS printed (CLI §5) (table.ts session-update).
    hash: await driver.updateSession(target, body),
    predecessor,
    action: POLICY_REASON.Updated,
    casAddress: spec.casAddress,
  });
  try {
    if (header.predecessor !== null) return await updated(header.predecessor);
    try {
      // CLI §3 `create_session` (table.ts session-create): CAS verifies the signatures, not scone.
      const hash = await driver.createSession(target, body);
      return { kind: "synced", hash, predecessor: null, action: POLICY_REASON.Created, casAddress: spec.casAddress };
    } catch (refused) {
      if (!(refused instanceof SconeCliError)) throw refused;
      if ((await existing(driver, target, header.sessionName)) !== "yes") throw refused;
      return await updated(undefined);
    }
  } catch (err) {
    return outcomeOfDriverError(err);
  }
}

/** SCONE-CLI §6: the encrypted-session JSON is uploaded with `session create`; its name is inside the ciphertext. */
export async function submitEncryptedPolicy(
  driver: CasDriver,
  target: CasTarget,
  spec: EncryptedPolicySpec,
): Promise<PolicyOutcome> {
  try {
    // CLI §3 `create_session` (table.ts session-create).
    const hash = await driver.createSession(target, encryptedSessionBody(spec));
    return { kind: "synced", hash, predecessor: undefined, action: POLICY_REASON.Created, casAddress: spec.casAddress };
  } catch (err) {
    return outcomeOfDriverError(err);
  }
}
