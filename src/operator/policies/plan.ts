// The policy reconcilers' decisions (pure): whether a policy is settled, waits for its retry, is superseded, is
// refused by the operator's own checks or goes to the CAS; which policy registered the version after another's;
// what a failed connection or attestation means; when to look again; which policies a new version wakes.
// reconciler.ts observes (observe.ts), asks these functions, submits (apply.ts) and reports.
import type { CasRef } from "../../cas/driver/reach.ts";
import type { KubeObject } from "../../kube/types.ts";
import type {
  EncryptedPolicy,
  EncryptedPolicySpec,
  PolicyStatus,
  SignedPolicy,
  SignedPolicySpec,
} from "../../resources/policies.ts";
import { POLICY_CONDITION, POLICY_REASON, POLICY_STATE } from "../../resources/policy-conditions.ts";
import { findCondition } from "../../runtime/conditions.ts";
import { sameCasAddress } from "./address.ts";
import { type PolicyProblem, precheckEncryptedPolicy, precheckSignedPolicy } from "./precheck.ts";
import type { PolicyOutcome } from "./status.ts";
import { outcomeOfDriverError } from "./submit.ts";

export type AnyPolicy = SignedPolicy | EncryptedPolicy;
export type PolicyKindName = AnyPolicy["kind"];

export const nameOf = (o: KubeObject) => `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;

/** The key of a policy in the controllers' memory: `Kind:namespace/name` (the two kinds share one index). */
export const policyKey = (kind: PolicyKindName, namespace: string | undefined, name: string): string =>
  `${kind}:${namespace ?? ""}/${name}`;

/** The kind, namespace and name a policyKey names. */
export function parsePolicyKey(key: string): { kind: PolicyKindName; namespace: string; name: string } {
  const colon = key.indexOf(":");
  const slash = key.indexOf("/", colon);
  return {
    kind: key.slice(0, colon) === "EncryptedPolicy" ? "EncryptedPolicy" : "SignedPolicy",
    namespace: key.slice(colon + 1, slash),
    name: key.slice(slash + 1),
  };
}

/** A policy with the status this operator last gave it (the cache may lag behind our own write). */
export interface Seen {
  readonly policy: AnyPolicy;
  readonly status: PolicyStatus | undefined;
}

/**
 * Among `candidates`, the policy that registered the version after `hash` at the same CAS (through this operator):
 * Synced or Superseded itself, naming `hash` as its predecessor.
 */
export function pickSuccessor(o: AnyPolicy, hash: string, candidates: readonly Seen[]): Seen | undefined {
  return candidates.find(({ policy: p, status: st }) => {
    if (p.metadata?.uid === o.metadata?.uid || !p.spec || !o.spec) return false;
    return (
      (st?.state === POLICY_STATE.Synced || st?.state === POLICY_STATE.Superseded) &&
      st.predecessor === hash &&
      sameCasAddress(p.spec.casAddress, o.spec.casAddress)
    );
  });
}

/** The outcome of a policy whose version `successor` replaced. */
export const supersededBy = (successor: Seen): PolicyOutcome => ({
  kind: "superseded",
  by: `${successor.policy.kind} ${nameOf(successor.policy)}`,
  byHash: successor.status?.hash ?? "",
});

/** What observe saw of one policy. */
export interface PolicyLook {
  readonly generation: number | undefined;
  /** The status this operator last wrote (or the cached one). */
  readonly status: PolicyStatus | undefined;
  /** For a Synced policy: the policy that registered the version after its hash, if any. */
  readonly successor: Seen | undefined;
  /** When a policy in Error or refused by the CAS is due to be submitted again (ms since the epoch). */
  readonly retryAt: number | undefined;
  readonly now: number;
}

/** A spec the operator's checks passed (what to submit, and the session it writes if known), or why not. */
export type Prepared<H> =
  | { readonly ok: false; readonly problems: readonly PolicyProblem[] }
  | { readonly ok: true; readonly session: string | undefined; readonly header: H };

export type PolicyPlan<H> =
  /** Nothing to do: settled for this generation (no CLI call, no write). */
  | { readonly kind: "leave" }
  /** A retry not due yet (the event was e.g. our own status write): wait for the timer instead. */
  | { readonly kind: "wait"; readonly requeueAfterMs: number }
  /** A status to write without asking the CAS: superseded, or refused by the operator's checks. */
  | { readonly kind: "report"; readonly outcome: PolicyOutcome }
  /** Submit to the CAS. */
  | { readonly kind: "submit"; readonly session: string | undefined; readonly header: H };

const LEAVE = { kind: "leave" } as const;

/** The decision for a policy whose status describes its current generation; undefined: it is to be submitted. */
function planSettled(look: PolicyLook): PolicyPlan<never> | undefined {
  const { status } = look;
  if (status === undefined || status.observedGeneration !== look.generation) return undefined;
  const reason = findCondition(status.conditions, POLICY_CONDITION.Synced)?.reason;
  const casRefused = status.state === POLICY_STATE.Rejected && reason === POLICY_REASON.CasRejected;
  // No CLI call in a steady state: a successor registered through the operator is what can change it.
  if (status.state === POLICY_STATE.Synced)
    return look.successor ? { kind: "report", outcome: supersededBy(look.successor) } : LEAVE;
  if (status.state === POLICY_STATE.Superseded || status.state === POLICY_STATE.Conflict) return LEAVE;
  if (status.state === POLICY_STATE.Rejected && !casRefused) return LEAVE;
  if (status.state !== POLICY_STATE.Error && !casRefused) return undefined;
  const wait = (look.retryAt ?? 0) - look.now;
  return wait > 0 ? { kind: "wait", requeueAfterMs: wait } : undefined;
}

/** What to do with a policy: `prepare` runs the operator's checks (only when a submission is due). */
export function planPolicy<H>(look: PolicyLook, prepare: () => Prepared<H>): PolicyPlan<H> {
  const settled = planSettled(look);
  if (settled) return settled;
  const prepared = prepare();
  if (!prepared.ok) return { kind: "report", outcome: { kind: "invalid", problems: prepared.problems } };
  return { kind: "submit", session: prepared.session, header: prepared.header };
}

export interface SignedHeader {
  readonly sessionName: string;
  readonly predecessor: string | null;
}

/** The documented shape only (precheck.ts); the session's name and predecessor go with the submission. */
export function prepareSigned(spec: SignedPolicySpec): Prepared<SignedHeader> {
  const pre = precheckSignedPolicy(spec);
  if (pre.problems.length > 0 || pre.sessionName === undefined || pre.predecessor === undefined)
    return { ok: false, problems: pre.problems };
  const header = { sessionName: pre.sessionName, predecessor: pre.predecessor };
  return { ok: true, session: header.sessionName, header };
}

/** The session's name is inside the ciphertext: none to order submissions by. */
export function prepareEncrypted(spec: EncryptedPolicySpec): Prepared<undefined> {
  const problems = precheckEncryptedPolicy(spec);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, session: undefined, header: undefined };
}

export interface RetryPolicy {
  /** While the CAS cannot be reached or the operator's CLI has not attested it. */
  readonly retryMs: number;
  /** A CAS refusal may end when the owner admits the operator (admit-operator): look again, rarely. */
  readonly casRejectedRetryMs: number;
}

/** When to submit again after `outcome`; undefined: not by a timer. */
export function retryDelay(outcome: PolicyOutcome, p: RetryPolicy): number | undefined {
  if (outcome.kind === "error") return p.retryMs;
  if (outcome.kind === "casRejected") return p.casRejectedRetryMs;
  return undefined;
}

/** spec.casAddress that names no CAS of the cluster (the pre-check refused it already; kept total). */
export function invalidAddress(casAddress: string): PolicyOutcome {
  const message = `spec.casAddress: ${casAddress} does not name a CAS of this cluster`;
  return {
    kind: "invalid",
    problems: [{ reason: POLICY_REASON.InvalidCasAddress, field: "spec.casAddress", message }],
  };
}

/** A connection that failed: even the CLI's refusal means the CAS could not be reached, not that it decided. */
export function outcomeOfConnectError(err: unknown): PolicyOutcome {
  const outcome = outcomeOfDriverError(err);
  return outcome.kind === "casRejected"
    ? { kind: "error", reason: POLICY_REASON.CasUnavailable, message: outcome.message }
    : outcome;
}

/** The operator's CLI could not name the CAS key (`cas show-identification`): the owner has to admit it. */
export function notAttested(ref: CasRef, address: string, identity: string, cliMessage: string): PolicyOutcome {
  return {
    kind: "error",
    reason: POLICY_REASON.CasNotAttested,
    message: `the operator's SCONE CLI identity (${identity}) has not attested CAS ${ref.namespace}/${ref.name} at ${address}: the CAS owner admits the operator with \`scone cas admit-operator ${ref.name} -n ${ref.namespace}\` (${cliMessage.slice(0, 300)})`,
  };
}

/**
 * The policies to look at now because `changed` registered the version after theirs (it names their hash as its
 * predecessor): they become Superseded without waiting for a timer.
 */
export function supersededByChange(changed: AnyPolicy, all: readonly AnyPolicy[]): AnyPolicy[] {
  const st = changed.status;
  if (st?.state !== POLICY_STATE.Synced || !st.predecessor) return [];
  return all.filter((p) => p.status?.hash === st.predecessor && p.metadata?.uid !== changed.metadata?.uid);
}
