// The SignedPolicy and EncryptedPolicy controllers: Kubernetes carries policies; the CAS decides about them. A
// policy with the documented shape (precheck.ts) is handed to the SCONE CLI through the CAS driver (reach.ts), as
// the operator's own identity — which the CAS owner admits with `scone cas admit-operator` (admit.ts) — in SCONE's
// own formats: the signed-session JSON and the encrypted-session JSON (SCONE-CLI §6). The CLI's answer becomes the
// status: the hash it printed, or its refusal (CasRejected, distinct from the operator's own NotSubmitted). A
// version that exists is updated (the CAS enforces the predecessor rule); nothing is overwritten behind the CAS's
// back. A steady state costs no CLI call and no write. States: see status.ts.
import type { CasTarget } from "../../cas/driver/commands.ts";
import { SconeCliError } from "../../cas/driver/commands.ts";
import type { CasConnection, CasDriverSource } from "../../cas/driver/reach.ts";
import { CliRunError } from "../../cas/driver/runner.ts";
import type { Informer } from "../../kube/informer.ts";
import type { KubeObject, TypeRef } from "../../kube/types.ts";
import { apiVersionOf } from "../../resources/definition.ts";
import {
  type EncryptedPolicy,
  encryptedPolicyDefinition,
  type PolicyStatus,
  type SignedPolicy,
  signedPolicyDefinition,
} from "../../resources/policies.ts";
import { findCondition } from "../../runtime/conditions.ts";
import {
  Controller,
  type ReconcileContext,
  type ReconcileRequest,
  type ReconcileResult,
  type Reconciler,
} from "../../runtime/controller.ts";
import { writeStatus } from "../reconcile-kit.ts";
import { type OperatorContext, requestOf, watchPrimary } from "../wiring.ts";
import { casRefOfAddress, sameCasAddress } from "./address.ts";
import { precheckEncryptedPolicy, precheckSignedPolicy } from "./precheck.ts";
import { SubmissionScheduler } from "./schedule.ts";
import { nextPolicyStatus, type PolicyOutcome, transitionEvent, type ValidityCondition } from "./status.ts";
import { outcomeOfDriverError, submitEncryptedPolicy, submitSignedPolicy } from "./submit.ts";

export const SIGNED_POLICY_TYPE: TypeRef = { apiVersion: apiVersionOf(signedPolicyDefinition), kind: "SignedPolicy" };
export const ENCRYPTED_POLICY_TYPE: TypeRef = {
  apiVersion: apiVersionOf(encryptedPolicyDefinition),
  kind: "EncryptedPolicy",
};

export interface PolicyControllerDeps {
  /** How the operator reaches a CAS: connect(cas, {kind: "operator"}) — never the owner's identity. */
  readonly source: CasDriverSource;
  /** Retry delay while the CAS cannot be reached or the operator's CLI has not attested it (default 30 s). */
  readonly retryMs?: number;
  /** When a policy the CAS refused is submitted again: the owner may admit the operator later (default 5 min). */
  readonly casRejectedRetryMs?: number;
  /**
   * Reconciles in parallel per kind (default 32: most of a reconcile is waiting for the CLI and the API server; the
   * CLI calls are bounded per CAS by `submissionsPerCas`).
   */
  readonly workers?: number;
  /** Submissions to one CAS at once (default 8); one session's submissions always run one after another. */
  readonly submissionsPerCas?: number;
  /** How long the CAS key the operator's CLI attested is reused per address (default 5 min). */
  readonly targetReuseMs?: number;
}

/** The source of an operator context without a CAS driver: every policy waits in Error, saying so. */
export const noCasDriver: CasDriverSource = {
  description: "no CAS driver",
  connect: async () => {
    throw new CliRunError("this operator was started without a CAS driver (casDriverSource); it cannot reach a CAS");
  },
};

type AnyPolicy = SignedPolicy | EncryptedPolicy;
/** A policy as read for a reconcile: its spec is there (the CRD requires it). */
type Loaded<T extends AnyPolicy> = T & { spec: NonNullable<T["spec"]> };

const DEFAULT_RETRY_MS = 30_000;
const DEFAULT_CAS_REJECTED_RETRY_MS = 5 * 60_000;

const nameOf = (o: KubeObject) => `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;

interface Memo {
  readonly uid: string;
  readonly generation: number | undefined;
  readonly status: PolicyStatus;
}

export interface PolicyControllers {
  readonly signed: Controller;
  readonly encrypted: Controller;
}

/** Registers both controllers with the manager (the operator calls this once). */
export function registerPolicyControllers(ctx: OperatorContext, deps: PolicyControllerDeps): PolicyControllers {
  const retryMs = deps.retryMs ?? DEFAULT_RETRY_MS;
  const signedInformer = ctx.informers.informer<KubeObject>({ type: SIGNED_POLICY_TYPE });
  const encryptedInformer = ctx.informers.informer<KubeObject>({ type: ENCRYPTED_POLICY_TYPE });
  /** The status each object was last given by us: the cache may lag behind our own write. */
  const memos = new Map<string, Memo>();
  /** The CAS key the operator's CLI attested, per CAS and address (session calls name it, CLI §3). */
  // A promise: concurrent first reconciles of one CAS share one `show-identification` call.
  const targets = new Map<string, { at: number; casKey: Promise<string> }>();
  const log = ctx.log.child({ component: "policies" });
  const scheduler = new SubmissionScheduler(deps.submissionsPerCas);
  /**
   * Policy keys by the predecessor their status names (ours in `memos`, or the cached object's): the only candidates
   * successorOf looks at, so a steady-state reconcile does not scan every policy. A superset: each is checked in full.
   */
  const byPredecessor = new Map<string, Set<string>>();
  const notePredecessor = (key: string, status: PolicyStatus | undefined): void => {
    const hash = status?.predecessor;
    if (!hash) return;
    let keys = byPredecessor.get(hash);
    if (!keys) {
      keys = new Set();
      byPredecessor.set(hash, keys);
    }
    keys.add(key);
  };
  const forgetPredecessor = (key: string, status: PolicyStatus | undefined): void => {
    const hash = status?.predecessor;
    const keys = hash ? byPredecessor.get(hash) : undefined;
    if (!hash || !keys) return;
    keys.delete(key);
    if (keys.size === 0) byPredecessor.delete(hash);
  };

  const allPolicies = (): AnyPolicy[] => [
    ...(signedInformer.list() as SignedPolicy[]),
    ...(encryptedInformer.list() as EncryptedPolicy[]),
  ];

  const effectiveStatus = (key: string, o: AnyPolicy): PolicyStatus | undefined => {
    const memo = memos.get(key);
    if (memo && memo.uid === o.metadata?.uid && memo.generation === o.metadata?.generation) return memo.status;
    return o.status;
  };

  /** The cached policy a memo key (`Kind:namespace/name`) names. */
  const policyOfKey = (key: string): AnyPolicy | undefined => {
    const colon = key.indexOf(":");
    const slash = key.indexOf("/", colon);
    const informer = key.slice(0, colon) === "EncryptedPolicy" ? encryptedInformer : signedInformer;
    return informer.get(key.slice(colon + 1, slash), key.slice(slash + 1)) as AnyPolicy | undefined;
  };

  /** A policy that registered the version after `hash` at the same CAS (through this operator). */
  const successorOf = (o: AnyPolicy, hash: string): AnyPolicy | undefined => {
    for (const key of byPredecessor.get(hash) ?? []) {
      const p = policyOfKey(key);
      if (!p || p.metadata?.uid === o.metadata?.uid || !p.spec || !o.spec) continue;
      const st = effectiveStatus(key, p) ?? p.status;
      if (
        (st?.state === "Synced" || st?.state === "Superseded") &&
        st.predecessor === hash &&
        sameCasAddress(p.spec.casAddress, o.spec.casAddress)
      )
        return p;
    }
    return undefined;
  };

  /** Superseded, when a policy registered the version after this one's (status.predecessor = our hash). */
  const supersededOutcome = (o: AnyPolicy, status: PolicyStatus): PolicyOutcome | undefined => {
    const successor = status.hash ? successorOf(o, status.hash) : undefined;
    if (!successor) return undefined;
    const byHash = effectiveStatus(`${successor.kind}:${nameOf(successor)}`, successor)?.hash ?? "";
    return { kind: "superseded", by: `${successor.kind} ${nameOf(successor)}`, byHash };
  };

  /** Notes the object version a reconcile acted on (for the history). */
  const observe = (o: AnyPolicy, rctx: ReconcileContext): void => {
    rctx.observed = {
      ...(o.metadata?.generation !== undefined ? { generation: o.metadata.generation } : {}),
      ...(o.metadata?.resourceVersion ? { resourceVersion: o.metadata.resourceVersion } : {}),
    };
  };

  const finish = async (
    key: string,
    o: AnyPolicy,
    outcome: PolicyOutcome,
    validity: ValidityCondition,
    rctx: ReconcileContext,
  ): Promise<void> => {
    const previous = effectiveStatus(key, o);
    const generation = o.metadata?.generation;
    const status = nextPolicyStatus({ previous, outcome, generation, validity, now: new Date() });
    await writeStatus(ctx.kit, { ...o, status: previous }, status, rctx);
    memos.set(key, { uid: o.metadata?.uid ?? "", generation, status });
    notePredecessor(key, status);
    const event = transitionEvent(previous, status, outcome);
    if (event) ctx.kit.events.record(o, event.type, event.reason, event.message);
    if (outcome.kind !== "synced" && outcome.kind !== "superseded") {
      // Names and hashes only: spec.policy and the identity never reach the log.
      log.info("policy not registered", {
        policy: `${o.kind} ${nameOf(o)}`,
        state: status.state,
        outcome: outcome.kind,
      });
    }
  };

  /** When a policy in Error or refused by the CAS is due to be submitted again (not at our own status write). */
  const retryAt = new Map<string, number>();
  const resultFor = (key: string, outcome: PolicyOutcome): ReconcileResult | undefined => {
    // A CAS refusal may end when the owner admits the operator (admit-operator): look again, rarely.
    const delay =
      outcome.kind === "error"
        ? retryMs
        : outcome.kind === "casRejected"
          ? (deps.casRejectedRetryMs ?? DEFAULT_CAS_REJECTED_RETRY_MS)
          : undefined;
    if (delay === undefined) {
      retryAt.delete(key);
      return undefined;
    }
    retryAt.set(key, Date.now() + delay);
    return { requeueAfterMs: delay };
  };
  /** A retry not due yet (the event was e.g. our own status write): wait for the timer instead. */
  const notDue = (key: string, status: PolicyStatus, reason: string | undefined): ReconcileResult | undefined => {
    if (status.state !== "Error" && !(status.state === "Rejected" && reason === "CasRejected")) return undefined;
    const wait = (retryAt.get(key) ?? 0) - Date.now();
    return wait > 0 ? { requeueAfterMs: wait } : undefined;
  };

  /**
   * Connects as the operator and runs `submit` against the CAS the address names. The CAS key comes from the
   * operator's own attestation (`cas show-identification --cas-key`, CLI §3), made when the owner admitted it.
   */
  const withCas = async (
    casAddress: string,
    session: string | undefined,
    rctx: ReconcileContext,
    submit: (conn: CasConnection, target: CasTarget) => Promise<PolicyOutcome>,
  ): Promise<PolicyOutcome> => {
    // The pre-check refused any other address; kept total rather than cast.
    const ref = casRefOfAddress(casAddress);
    if (!ref) {
      const message = `spec.casAddress: ${casAddress} does not name a CAS of this cluster`;
      return { kind: "invalid", problems: [{ reason: "InvalidCasAddress", field: "spec.casAddress", message }] };
    }
    // One session's submissions in turn, at most submissionsPerCas per CAS at once (schedule.ts).
    return scheduler.run(`${ref.namespace}/${ref.name}`, session, () => connectAndSubmit(ref, rctx, submit));
  };

  const connectAndSubmit = async (
    ref: NonNullable<ReturnType<typeof casRefOfAddress>>,
    rctx: ReconcileContext,
    submit: (conn: CasConnection, target: CasTarget) => Promise<PolicyOutcome>,
  ): Promise<PolicyOutcome> => {
    let conn: CasConnection;
    try {
      conn = await deps.source.connect(ref, { kind: "operator" }, rctx.signal);
    } catch (err) {
      const outcome = outcomeOfDriverError(err);
      return outcome.kind === "casRejected"
        ? { kind: "error", reason: "CasUnavailable", message: outcome.message }
        : outcome;
    }
    try {
      const key = `${ref.namespace}/${ref.name}\u0000${conn.address}`;
      let hit = targets.get(key);
      if (!hit || Date.now() - hit.at >= (deps.targetReuseMs ?? 5 * 60_000)) {
        // CLI §3 `cas_keys` (table.ts cas-keys): session calls name the CAS key.
        hit = { at: Date.now(), casKey: conn.driver.casKeys(conn.address).then((k) => k.casKey) };
        targets.set(key, hit);
      }
      let casKey: string;
      try {
        casKey = await hit.casKey;
      } catch (err) {
        if (targets.get(key) === hit) targets.delete(key); // not remembered: the next reconcile asks again
        if (!(err instanceof SconeCliError)) return outcomeOfDriverError(err);
        return {
          kind: "error",
          reason: "CasNotAttested",
          message: `the operator's SCONE CLI identity (${deps.source.description}) has not attested CAS ${ref.namespace}/${ref.name} at ${conn.address}: the CAS owner admits the operator with \`scone cas admit-operator ${ref.name} -n ${ref.namespace}\` (${err.message.slice(0, 300)})`,
        };
      }
      return await submit(conn, { address: conn.address, casKey });
    } finally {
      await conn.release().catch(() => undefined);
    }
  };

  // --- SignedPolicy -------------------------------------------------------------------------------------------------

  const reconcileSigned = async (req: ReconcileRequest, rctx: ReconcileContext) => {
    const key = `SignedPolicy:${req.namespace ?? ""}/${req.name}`;
    const o = await readPolicy<SignedPolicy>(SIGNED_POLICY_TYPE, signedInformer, req, rctx);
    if (!o) {
      forgetPredecessor(key, memos.get(key)?.status);
      memos.delete(key);
      retryAt.delete(key);
      return undefined;
    }
    observe(o, rctx);
    const status = effectiveStatus(key, o);
    const current = status?.observedGeneration === o.metadata?.generation && status !== undefined;
    const reason = findCondition(status?.conditions, "Synced")?.reason;
    if (current && status.state === "Synced") {
      // No CLI call in a steady state: a successor registered through the operator is what can change it.
      const superseded = supersededOutcome(o, status);
      if (superseded) await finish(key, o, superseded, "SignatureValid", rctx);
      return undefined;
    }
    if (current && (status.state === "Superseded" || status.state === "Conflict")) return undefined;
    if (current && status.state === "Rejected" && reason !== "CasRejected") return undefined;
    const later = current ? notDue(key, status, reason) : undefined;
    if (later) return later;

    // 1. The documented shape only (precheck.ts); nothing is sent when it is wrong.
    const pre = precheckSignedPolicy(o.spec);
    if (pre.problems.length > 0 || pre.sessionName === undefined || pre.predecessor === undefined) {
      await finish(key, o, { kind: "invalid", problems: pre.problems }, "SignatureValid", rctx);
      return undefined;
    }
    const header = { sessionName: pre.sessionName, predecessor: pre.predecessor };
    // 2. Through the driver, as the operator; the CAS verifies the signatures and decides.
    const outcome = await withCas(o.spec.casAddress, header.sessionName, rctx, (conn, target) =>
      submitSignedPolicy(conn.driver, target, o.spec, header),
    );
    await finish(key, o, outcome, "SignatureValid", rctx);
    if (outcome.kind === "synced") rctx.actions.push(`${outcome.action.toLowerCase()} session ${header.sessionName}`);
    return resultFor(key, outcome);
  };

  // --- EncryptedPolicy ----------------------------------------------------------------------------------------------

  const reconcileEncrypted = async (req: ReconcileRequest, rctx: ReconcileContext) => {
    const key = `EncryptedPolicy:${req.namespace ?? ""}/${req.name}`;
    const o = await readPolicy<EncryptedPolicy>(ENCRYPTED_POLICY_TYPE, encryptedInformer, req, rctx);
    if (!o) {
      forgetPredecessor(key, memos.get(key)?.status);
      memos.delete(key);
      retryAt.delete(key);
      return undefined;
    }
    observe(o, rctx);
    const status = effectiveStatus(key, o);
    const current = status !== undefined && status.observedGeneration === o.metadata?.generation;
    const reason = findCondition(status?.conditions, "Synced")?.reason;
    if (current && status.state === "Synced") {
      const superseded = supersededOutcome(o, status);
      if (superseded) await finish(key, o, superseded, "EncryptionKeyValid", rctx);
      return undefined;
    }
    if (current && (status.state === "Superseded" || status.state === "Conflict")) return undefined;
    if (current && status.state === "Rejected" && reason !== "CasRejected") return undefined;
    const later = current ? notDue(key, status, reason) : undefined;
    if (later) return later;

    const problems = precheckEncryptedPolicy(o.spec);
    if (problems.length > 0) {
      await finish(key, o, { kind: "invalid", problems }, "EncryptionKeyValid", rctx);
      return undefined;
    }
    // The session's name is inside the ciphertext: only the CAS bound applies.
    const outcome = await withCas(o.spec.casAddress, undefined, rctx, (conn, target) =>
      submitEncryptedPolicy(conn.driver, target, o.spec),
    );
    await finish(key, o, outcome, "EncryptionKeyValid", rctx);
    if (outcome.kind === "synced") rctx.actions.push(`upload encrypted session ${outcome.hash}`);
    return resultFor(key, outcome);
  };

  // --- wiring -------------------------------------------------------------------------------------------------------

  const readPolicy = async <T extends AnyPolicy>(
    type: TypeRef,
    informer: Informer<KubeObject>,
    req: ReconcileRequest,
    rctx: ReconcileContext,
  ): Promise<Loaded<T> | undefined> => {
    const cached = informer.hasSynced()
      ? informer.get(req.namespace ?? "", req.name)
      : await ctx.client.tryGet<KubeObject>(
          { ...type, name: req.name, ...(req.namespace ? { namespace: req.namespace } : {}) },
          { signal: rctx.signal },
        );
    const o = cached as T | undefined;
    return o && !o.metadata?.deletionTimestamp && o.spec ? (o as Loaded<T>) : undefined;
  };

  const controllerOf = (name: string, reconcile: Reconciler) =>
    new Controller({
      name,
      reconcile,
      workers: deps.workers ?? 32,
      metrics: ctx.manager.metrics,
      onRecord: ctx.recordHistory,
    });
  const signed = controllerOf("signedpolicy", reconcileSigned);
  const encrypted = controllerOf("encryptedpolicy", reconcileEncrypted);
  watchPrimary(signed, signedInformer);
  watchPrimary(encrypted, encryptedInformer);

  // When a policy registers a version naming a predecessor, the policy that held that version is superseded: tell
  // it now (after the cache has the successor's status), without waiting for its timer.
  const onSuccessor = (o: KubeObject) => {
    const st = (o as AnyPolicy).status;
    if (st?.state !== "Synced" || !st.predecessor) return;
    for (const p of allPolicies()) {
      if (p.status?.hash !== st.predecessor || p.metadata?.uid === o.metadata?.uid) continue;
      const controller = p.kind === "EncryptedPolicy" ? encrypted : signed;
      controller.enqueue(requestOf(p));
    }
  };
  // Every status naming a predecessor is indexed as it arrives in the cache (written by us or by an earlier run).
  for (const [informer, kind] of [
    [signedInformer, "SignedPolicy"],
    [encryptedInformer, "EncryptedPolicy"],
  ] as const) {
    const indexed = (o: KubeObject) => notePredecessor(`${kind}:${nameOf(o)}`, (o as AnyPolicy).status);
    const unindexed = (o: KubeObject) => forgetPredecessor(`${kind}:${nameOf(o)}`, (o as AnyPolicy).status);
    informer.addHandlers({
      add: (o) => {
        indexed(o);
        onSuccessor(o);
      },
      // An entry a later status no longer names stays until the policy goes: a stale candidate is checked and
      // passed over, a missing one would hide a successor.
      update: (_a, b) => {
        indexed(b);
        onSuccessor(b);
      },
      delete: unindexed,
    });
  }

  ctx.manager.addController(signed);
  ctx.manager.addController(encrypted);
  return { signed, encrypted };
}
