// The SignedPolicy and EncryptedPolicy controllers: Kubernetes carries policies but can neither read nor change
// them, and the operator must never be the weak link. So a SignedPolicy is verified (every signature over the
// exact text, creator among the signers, signers trusted for that CAS) and an EncryptedPolicy's key is compared
// with the ATTESTED CAS's session-encryption key before anything is sent; a refused policy never reaches the CAS.
// A valid one is submitted with the CAS owner identity: created when new, updated when its text names the
// predecessor (the CAS enforces that it is current); a version changed at the CAS by someone else is reported as
// Conflict with both hashes, never overwritten. A steady state costs no write: one cheap read of the session's
// current hash per `recheckMs`, and none at all when nothing is due. States: see status.ts; identity: owner.ts.
import { CasAuthError, CasConflictError, CasError, CasNotFoundError, CasUnavailableError } from "../../cas/errors.ts";
import { parseSession, type SignedSession, sessionHash } from "../../cas/session.ts";
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
import { type CasAddressResolver, sameCasAddress } from "./address.ts";
import {
  attestedCasClients,
  isAttestationError,
  type PolicyCas,
  type PolicyCasFactory,
  PolicySetupError,
} from "./cas-port.ts";
import { type OwnerLookup, ownerIdentitySource, type PolicyOwner } from "./owner.ts";
import { nextPolicyStatus, type PolicyOutcome, transitionEvent, type ValidityCondition } from "./status.ts";
import { checkEncryptedPolicyFormat, encryptionKeyProblem, untrustedSigners, verifySignedPolicy } from "./verify.ts";

export const SIGNED_POLICY_TYPE: TypeRef = { apiVersion: apiVersionOf(signedPolicyDefinition), kind: "SignedPolicy" };
export const ENCRYPTED_POLICY_TYPE: TypeRef = {
  apiVersion: apiVersionOf(encryptedPolicyDefinition),
  kind: "EncryptedPolicy",
};

export interface PolicyControllerDeps {
  /** The CAS owner identity (CLI config) and trust list for a casAddress; undefined when none is configured. */
  readonly identityFor: OwnerLookup;
  /** A connection to the CAS at casAddress, as that owner. */
  readonly casClientFor: PolicyCasFactory;
  /** How often a Synced policy's session is compared with the CAS's current version (default 5 min). */
  readonly recheckMs?: number;
  /** Retry delay while no owner identity is configured or the CAS cannot be reached (default 30 s). */
  readonly retryMs?: number;
  /** Reconciles in parallel per kind (default 8: most of a reconcile is waiting for the CAS and the API server). */
  readonly workers?: number;
}

type AnyPolicy = SignedPolicy | EncryptedPolicy;
/** A policy as read for a reconcile: its spec is there (the CRD requires it). */
type Loaded<T extends AnyPolicy> = T & { spec: NonNullable<T["spec"]> };

const DEFAULT_RECHECK_MS = 5 * 60_000;
const DEFAULT_RETRY_MS = 30_000;

const nameOf = (o: KubeObject) => `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** The session name of a policy text that was verified before (undefined if it no longer parses). */
function sessionNameOf(text: string): string | undefined {
  try {
    return parseSession(text).name;
  } catch {
    return undefined;
  }
}

/** The production deps: owner identity from `scone-owner-<cas>` Secrets (or a mounted file), attested CAS clients. */
export function defaultPolicyDeps(
  ctx: Pick<OperatorContext, "client"> & Partial<Pick<OperatorContext, "operatorNamespace">>,
  options: { resolve?: CasAddressResolver; identityFile?: string | undefined; recheckMs?: number } = {},
): PolicyControllerDeps {
  return {
    identityFor: ownerIdentitySource(ctx.client, {
      ...(options.identityFile ? { identityFile: options.identityFile } : {}),
      ...(ctx.operatorNamespace ? { operatorNamespace: ctx.operatorNamespace } : {}),
    }),
    casClientFor: attestedCasClients(options.resolve ? { resolve: options.resolve } : {}),
    ...(options.recheckMs !== undefined ? { recheckMs: options.recheckMs } : {}),
  };
}

/** An Outcome for a failure while talking to the CAS (after the operator's own checks passed). */
export function outcomeOfCasError(err: unknown): PolicyOutcome {
  if (err instanceof PolicySetupError) return { kind: "error", reason: "NoOwnerIdentity", message: err.message };
  if (isAttestationError(err)) return { kind: "error", reason: "AttestationFailed", message: errorText(err) };
  if (err instanceof CasUnavailableError) return { kind: "error", reason: "CasUnavailable", message: err.message };
  if (err instanceof CasNotFoundError) {
    // e.g. the namespace session of `ns/name` does not exist yet: it may be registered later
    return { kind: "error", reason: "CasError", message: err.message };
  }
  if (err instanceof CasAuthError || (err instanceof CasError && err.status >= 400 && err.status < 500)) {
    return { kind: "casRejected", message: err.message };
  }
  return { kind: "error", reason: "CasError", message: errorText(err) };
}

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
  const recheckMs = deps.recheckMs ?? DEFAULT_RECHECK_MS;
  const retryMs = deps.retryMs ?? DEFAULT_RETRY_MS;
  const signedInformer = ctx.informers.informer<KubeObject>({ type: SIGNED_POLICY_TYPE });
  const encryptedInformer = ctx.informers.informer<KubeObject>({ type: ENCRYPTED_POLICY_TYPE });
  /** The status each object was last given by us: the cache may lag behind our own write. */
  const memos = new Map<string, Memo>();
  /** When each Synced SignedPolicy's session was last compared with the CAS. */
  const lastChecked = new Map<string, number>();
  const log = ctx.log.child({ component: "policies" });

  const allPolicies = (): AnyPolicy[] => [
    ...(signedInformer.list() as SignedPolicy[]),
    ...(encryptedInformer.list() as EncryptedPolicy[]),
  ];

  const effectiveStatus = (key: string, o: AnyPolicy): PolicyStatus | undefined => {
    const memo = memos.get(key);
    if (memo && memo.uid === o.metadata?.uid && memo.generation === o.metadata?.generation) return memo.status;
    return o.status;
  };

  /** A policy that registered the version after `hash` at the same CAS (through this operator). */
  const successorOf = (o: AnyPolicy, hash: string): AnyPolicy | undefined =>
    allPolicies().find((p) => {
      if (p.metadata?.uid === o.metadata?.uid || !p.spec || !o.spec) return false;
      const st = effectiveStatus(`${p.kind}:${nameOf(p)}`, p) ?? p.status;
      return (
        (st?.state === "Synced" || st?.state === "Superseded") &&
        st.predecessor === hash &&
        sameCasAddress(p.spec.casAddress, o.spec.casAddress)
      );
    });

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
    const event = transitionEvent(previous, status, outcome);
    if (event) ctx.kit.events.record(o, event.type, event.reason, event.message);
    if (outcome.kind === "synced") lastChecked.set(key, Date.now());
    if (outcome.kind !== "synced" && outcome.kind !== "superseded") {
      // Names and hashes only: spec.policy and the identity never reach the log.
      log.info("policy not registered", {
        policy: `${o.kind} ${nameOf(o)}`,
        state: status.state,
        outcome: outcome.kind,
      });
    }
  };

  const ownerOrOutcome = async (
    casAddress: string,
    rctx: ReconcileContext,
  ): Promise<{ owner: PolicyOwner } | { outcome: PolicyOutcome }> => {
    try {
      const owner = await deps.identityFor(casAddress, rctx.signal);
      if (owner) return { owner };
      return {
        outcome: {
          kind: "error",
          reason: "NoOwnerIdentity",
          message: `no CAS owner identity is configured for ${casAddress} (Secret scone-owner-<cas> in the CAS namespace, key config.json)`,
        },
      };
    } catch (err) {
      return { outcome: { kind: "error", reason: "NoOwnerIdentity", message: errorText(err) } };
    }
  };

  const resultFor = (outcome: PolicyOutcome, untrusted = false): ReconcileResult | undefined => {
    if (outcome.kind === "error") return { requeueAfterMs: retryMs };
    if (outcome.kind === "synced") return { requeueAfterMs: recheckMs };
    // A trust list may change (Secret edit): look again now and then; other refusals wait for a new spec.
    if (untrusted) return { requeueAfterMs: recheckMs };
    return undefined;
  };

  // --- SignedPolicy -------------------------------------------------------------------------------------------------

  /** Submit the signed policy; every failure becomes an Outcome. */
  const submitSigned = async (
    o: Loaded<SignedPolicy>,
    cas: PolicyCas,
    sessionName: string,
    predecessor: string | null,
  ): Promise<PolicyOutcome> => {
    const spec = o.spec;
    const signed: SignedSession = { session: spec.policy, signatures: spec.signatures };
    const ownHash = (() => {
      try {
        return sessionHash(spec.policy);
      } catch {
        return undefined;
      }
    })();
    try {
      const { hash } = predecessor === null ? await cas.createSession(signed) : await cas.updateSession(signed);
      return {
        kind: "synced",
        hash,
        predecessor,
        action: predecessor === null ? "Created" : "Updated",
        casAddress: spec.casAddress,
      };
    } catch (err) {
      if (!(err instanceof CasConflictError)) return outcomeOfCasError(err);
      const current = err.currentHash;
      // Already registered by us (a status write lost before a restart): the CAS holds exactly this text.
      if (current !== undefined && (current === ownHash || (await sameText(cas, sessionName, spec.policy)))) {
        return { kind: "synced", hash: current, predecessor, action: "Adopted", casAddress: spec.casAddress };
      }
      if (predecessor === null) {
        return {
          kind: "conflict",
          reason: "SessionExists",
          currentHash: current,
          expectedHash: undefined,
          message: `session ${sessionName} already exists at ${spec.casAddress} (current hash ${current ?? "unknown"}): to update it, sign a new version with predecessor: ${current ?? "<current hash>"}`,
        };
      }
      return {
        kind: "conflict",
        reason: "StalePredecessor",
        currentHash: current,
        expectedHash: predecessor,
        message: `session ${sessionName} at ${spec.casAddress} is at ${current ?? "an unknown hash"}, not at this policy's predecessor ${predecessor}: it was changed at the CAS by someone else; not overwritten — sign a new version with predecessor: ${current ?? "<current hash>"}`,
      };
    }
  };

  const sameText = async (cas: PolicyCas, name: string, text: string): Promise<boolean> => {
    try {
      return (await cas.readSession(name)).session === text;
    } catch {
      return false;
    }
  };

  /** A Synced (or drift-Conflict) policy of the current generation: successor, then the cheap CAS check. */
  const steadySigned = async (
    key: string,
    o: Loaded<SignedPolicy>,
    status: PolicyStatus,
    rctx: ReconcileContext,
  ): Promise<ReconcileResult | undefined> => {
    const superseded = supersededOutcome(o, status);
    if (superseded) {
      await finish(key, o, superseded, "SignatureValid", rctx);
      return undefined;
    }
    if (status.state !== "Synced") return undefined;
    // First sight after a (re)start: spread the checks over one interval instead of reading every session at once.
    if (!lastChecked.has(key)) lastChecked.set(key, Date.now() - Math.random() * recheckMs);
    const due = (lastChecked.get(key) ?? 0) + recheckMs - Date.now();
    if (due > 0) return { requeueAfterMs: due };
    const sessionName = sessionNameOf(o.spec.policy);
    if (!sessionName) return undefined;
    lastChecked.set(key, Date.now());
    const found = await ownerOrOutcome(o.spec.casAddress, rctx);
    if ("outcome" in found) return { requeueAfterMs: recheckMs };
    let current: string;
    try {
      const cas = await deps.casClientFor(o.spec.casAddress, found.owner);
      current = (await cas.readSession(sessionName, rctx.signal)).hash;
    } catch (err) {
      // Not readable by the owner (access_policy.read) or not reachable: nothing to compare now; the CAS's
      // predecessor rule still refuses any stale update.
      if (!(err instanceof CasAuthError))
        log.debug("policy check skipped", { policy: nameOf(o), error: errorText(err) });
      return { requeueAfterMs: recheckMs };
    }
    if (current === status.hash) return { requeueAfterMs: recheckMs };
    await finish(
      key,
      o,
      {
        kind: "conflict",
        reason: "ChangedAtCas",
        currentHash: current,
        expectedHash: status.hash,
        message: `session ${sessionName} at ${o.spec.casAddress} was changed at the CAS by someone else: current hash ${current}, this policy registered ${status.hash}; not overwritten`,
      },
      "SignatureValid",
      rctx,
    );
    return undefined;
  };

  const reconcileSigned = async (req: ReconcileRequest, rctx: ReconcileContext) => {
    const key = `SignedPolicy:${req.namespace ?? ""}/${req.name}`;
    const o = await readPolicy<SignedPolicy>(SIGNED_POLICY_TYPE, signedInformer, req, rctx);
    if (!o) {
      memos.delete(key);
      lastChecked.delete(key);
      return undefined;
    }
    observe(o, rctx);
    const status = effectiveStatus(key, o);
    const current = status?.observedGeneration === o.metadata?.generation && status !== undefined;
    const reason = findCondition(status?.conditions, "Synced")?.reason;
    const validityReason = findCondition(status?.conditions, "SignatureValid")?.reason;
    if (current && (status.state === "Synced" || (status.state === "Conflict" && reason === "Conflict"))) {
      return steadySigned(key, o, status, rctx);
    }
    if (current && (status.state === "Superseded" || status.state === "Conflict")) return undefined;
    if (current && status.state === "Rejected" && validityReason !== "UntrustedSigner" && reason !== "CasRejected") {
      return undefined;
    }

    // 1. The operator's own checks, before any identity or CAS is involved.
    const verified = await verifySignedPolicy(o.spec);
    if (!verified.ok || verified.sessionName === undefined || verified.predecessor === undefined) {
      const outcome: PolicyOutcome = { kind: "invalid", problems: verified.problems };
      await finish(key, o, outcome, "SignatureValid", rctx);
      return undefined;
    }
    // 2. Whose identity submits it, and whom that owner trusts.
    const found = await ownerOrOutcome(o.spec.casAddress, rctx);
    if ("outcome" in found) {
      await finish(key, o, found.outcome, "SignatureValid", rctx);
      return resultFor(found.outcome);
    }
    const untrusted = found.owner.trustedSigners ? untrustedSigners(verified.signers, found.owner.trustedSigners) : [];
    if (untrusted.length > 0) {
      await finish(key, o, { kind: "invalid", problems: untrusted }, "SignatureValid", rctx);
      return resultFor({ kind: "invalid", problems: untrusted }, true);
    }
    // 3. Submit; the CAS enforces the predecessor rule atomically.
    let outcome: PolicyOutcome;
    try {
      const cas = await deps.casClientFor(o.spec.casAddress, found.owner);
      outcome = await submitSigned(o, cas, verified.sessionName, verified.predecessor);
    } catch (err) {
      outcome = outcomeOfCasError(err);
    }
    await finish(key, o, outcome, "SignatureValid", rctx);
    if (outcome.kind === "synced") rctx.actions.push(`${outcome.action.toLowerCase()} session ${verified.sessionName}`);
    return resultFor(outcome);
  };

  // --- EncryptedPolicy ----------------------------------------------------------------------------------------------

  const reconcileEncrypted = async (req: ReconcileRequest, rctx: ReconcileContext) => {
    const key = `EncryptedPolicy:${req.namespace ?? ""}/${req.name}`;
    const o = await readPolicy<EncryptedPolicy>(ENCRYPTED_POLICY_TYPE, encryptedInformer, req, rctx);
    if (!o) {
      memos.delete(key);
      return undefined;
    }
    observe(o, rctx);
    const status = effectiveStatus(key, o);
    const current = status !== undefined && status.observedGeneration === o.metadata?.generation;
    const reason = findCondition(status?.conditions, "Synced")?.reason;
    if (current && status.state === "Synced") {
      // The session name is inside the ciphertext: only a successor registered through the operator is visible.
      const superseded = supersededOutcome(o, status);
      if (superseded) await finish(key, o, superseded, "EncryptionKeyValid", rctx);
      return undefined;
    }
    if (current && (status.state === "Superseded" || status.state === "Conflict")) return undefined;
    if (current && status.state === "Rejected" && reason !== "CasRejected") return undefined;

    const problems = checkEncryptedPolicyFormat(o.spec);
    if (problems.length > 0) {
      await finish(key, o, { kind: "invalid", problems }, "EncryptionKeyValid", rctx);
      return undefined;
    }
    const found = await ownerOrOutcome(o.spec.casAddress, rctx);
    if ("outcome" in found) {
      await finish(key, o, found.outcome, "EncryptionKeyValid", rctx);
      return resultFor(found.outcome);
    }
    let outcome: PolicyOutcome;
    try {
      const cas = await deps.casClientFor(o.spec.casAddress, found.owner);
      const wrongKey = encryptionKeyProblem(o.spec, await cas.sessionEncryptionKey());
      if (wrongKey) outcome = { kind: "invalid", problems: [wrongKey] };
      else {
        try {
          const { hash } = await cas.uploadEncryptedSession({
            encrypted_session: o.spec.policy,
            encryption_key: o.spec.encryptionKey,
          });
          outcome = { kind: "synced", hash, predecessor: undefined, action: "Created", casAddress: o.spec.casAddress };
        } catch (err) {
          outcome =
            err instanceof CasConflictError
              ? {
                  kind: "conflict",
                  reason: "StalePredecessor",
                  currentHash: err.currentHash,
                  expectedHash: status?.hash || undefined,
                  message: `the CAS refused the encrypted session as stale: its current version is ${err.currentHash ?? "unknown"} (changed at the CAS, or the session already exists); not overwritten — encrypt a new version with predecessor: ${err.currentHash ?? "<current hash>"}`,
                }
              : outcomeOfCasError(err);
        }
      }
    } catch (err) {
      outcome = outcomeOfCasError(err);
    }
    await finish(key, o, outcome, "EncryptionKeyValid", rctx);
    if (outcome.kind === "synced") rctx.actions.push(`upload encrypted session ${outcome.hash}`);
    return resultFor(outcome);
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
      workers: deps.workers ?? 8,
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
  for (const informer of [signedInformer, encryptedInformer]) {
    informer.addHandlers({ add: onSuccessor, update: (_a, b) => onSuccessor(b) });
  }

  ctx.manager.addController(signed);
  ctx.manager.addController(encrypted);
  return { signed, encrypted };
}
