// The policy reconcilers' effect on a CAS: connect as the operator (never the owner), name the CAS key the
// operator's CLI attested (`cas show-identification --cas-key`, CLI §3, made when the owner admitted it; reused per
// CAS and address) and run the submission — one session's submissions in turn, a bounded number per CAS at once
// (schedule.ts). The answer is an Outcome; nothing here writes to Kubernetes.
import type { CasTarget } from "../../cas/driver/commands.ts";
import { SconeCliError } from "../../cas/driver/commands.ts";
import type { CasConnection, CasDriverSource, CasRef } from "../../cas/driver/reach.ts";
import type { ReconcileContext } from "../../runtime/controller.ts";
import { casRefOfAddress } from "./address.ts";
import { invalidAddress, notAttested, outcomeOfConnectError } from "./plan.ts";
import type { SubmissionScheduler } from "./schedule.ts";
import type { PolicyOutcome } from "./status.ts";
import { outcomeOfDriverError } from "./submit.ts";

export type Submit = (conn: CasConnection, target: CasTarget) => Promise<PolicyOutcome>;

/** The CAS key per CAS and address; a promise, so concurrent first reconciles of one CAS share one CLI call. */
export type CasKeys = Map<string, { readonly at: number; readonly casKey: Promise<string> }>;

export interface ApplyDeps {
  /** How the operator reaches a CAS: connect(cas, {kind: "operator"}). */
  readonly source: CasDriverSource;
  readonly scheduler: SubmissionScheduler;
  readonly casKeys: CasKeys;
  /** How long an attested CAS key is reused. */
  readonly targetReuseMs: number;
  readonly now: () => number;
}

/** The CAS key of `conn` (cached); forgotten when asking failed, so the next reconcile asks again. */
async function casKeyOf(d: ApplyDeps, ref: CasRef, conn: CasConnection): Promise<string> {
  const key = `${ref.namespace}/${ref.name}\u0000${conn.address}`;
  let hit = d.casKeys.get(key);
  if (!hit || d.now() - hit.at >= d.targetReuseMs) {
    // CLI §3 `cas_keys` (table.ts cas-keys): session calls name the CAS key.
    hit = { at: d.now(), casKey: conn.driver.casKeys(conn.address).then((k) => k.casKey) };
    d.casKeys.set(key, hit);
  }
  try {
    return await hit.casKey;
  } catch (err) {
    if (d.casKeys.get(key) === hit) d.casKeys.delete(key);
    throw err;
  }
}

async function connectAndSubmit(d: ApplyDeps, ref: CasRef, rctx: ReconcileContext, submit: Submit) {
  let conn: CasConnection;
  try {
    conn = await d.source.connect(ref, { kind: "operator" }, rctx.signal);
  } catch (err) {
    return outcomeOfConnectError(err);
  }
  try {
    let casKey: string;
    try {
      casKey = await casKeyOf(d, ref, conn);
    } catch (err) {
      if (!(err instanceof SconeCliError)) return outcomeOfDriverError(err);
      return notAttested(ref, conn.address, d.source.description, err.message);
    }
    return await submit(conn, { address: conn.address, casKey });
  } finally {
    await conn.release().catch(() => undefined);
  }
}

/** Runs `submit` against the CAS `casAddress` names, as the operator; `session`: the session it writes, if known. */
export async function submitToCas(
  d: ApplyDeps,
  casAddress: string,
  session: string | undefined,
  rctx: ReconcileContext,
  submit: Submit,
): Promise<PolicyOutcome> {
  const ref = casRefOfAddress(casAddress);
  if (!ref) return invalidAddress(casAddress);
  return d.scheduler.run(`${ref.namespace}/${ref.name}`, session, () => connectAndSubmit(d, ref, rctx, submit));
}
