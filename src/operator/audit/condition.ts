// What the CAS status and Events say about shipping its audit log, pure: the AuditShipped condition (constant
// reasons, cas-conditions.ts) from the shipper's state, and the Events of a change of that state.
import { CAS_CONDITION, CAS_EVENT_REASON, CAS_REASON } from "../../resources/cas-conditions.ts";
import type { ConditionInput } from "../../runtime/conditions.ts";
import type { ShipFailureReason } from "./ship-log.ts";

/** Lag above which AuditShipped turns False (ShippingLagging): segments are cut after seconds, not minutes. */
export const LAG_LIMIT_SECONDS = 60;

export interface ShippingState {
  /** The log being shipped (signature of its first entry). */
  readonly log?: string;
  /** Last archived seq of that log, -1 when none. */
  readonly through: number;
  readonly lagSeconds: number;
  readonly failure?: { readonly reason: ShipFailureReason; readonly message: string };
  /** Why nothing is followed (no running pod yet). */
  readonly waiting?: string;
  /** The last gap found (an earlier log's entries lost while no shipper ran), said in the condition's message. */
  readonly gap?: string;
}

const MAX_MESSAGE = 500;
const bounded = (s: string) => (s.length <= MAX_MESSAGE ? s : `${s.slice(0, MAX_MESSAGE)}…`);

export function shippingCondition(s: ShippingState): ConditionInput {
  const type = CAS_CONDITION.AuditShipped;
  if (s.failure) {
    const reason = s.failure.reason === "ChainRejected" ? CAS_REASON.ChainRejected : CAS_REASON.ShippingFailed;
    return { type, status: "False", reason, message: bounded(s.failure.message) };
  }
  if (s.lagSeconds > LAG_LIMIT_SECONDS) {
    return {
      type,
      status: "False",
      reason: CAS_REASON.ShippingLagging,
      message: `the oldest entry not yet archived was read ${Math.round(s.lagSeconds)}s ago (limit ${LAG_LIMIT_SECONDS}s)`,
    };
  }
  if (s.log === undefined) {
    return { type, status: "Unknown", reason: CAS_REASON.WaitingForLog, message: s.waiting ?? "no audit log read yet" };
  }
  const where = s.through < 0 ? "nothing archived yet" : `archived through seq ${s.through}`;
  const gap = s.gap ? `; ${s.gap}` : "";
  return {
    type,
    status: "True",
    reason: CAS_REASON.Shipped,
    message: bounded(`log ${s.log.slice(0, 16)}…: ${where}${gap}`),
  };
}

export interface ShippingEvent {
  readonly type: "Normal" | "Warning";
  readonly reason: string;
  readonly message: string;
}

/** Events of a change: a failure starting (or turning into another), and shipping resuming after one. */
export function shippingEvents(before: ShippingState | undefined, after: ShippingState): ShippingEvent[] {
  const was = before?.failure;
  const is = after.failure;
  if (is && (was?.reason !== is.reason || was.message !== is.message))
    return [{ type: "Warning", reason: CAS_EVENT_REASON.AuditShippingFailed, message: bounded(is.message) }];
  if (was && !is)
    return [
      {
        type: "Normal",
        reason: CAS_EVENT_REASON.AuditShippingResumed,
        message: `audit log shipping resumed${after.through >= 0 ? `; archived through seq ${after.through}` : ""}`,
      },
    ];
  return [];
}
