// From a list of detected problems to the upstream state (HEALTHY / PENDING / UNHEALTHY) and the conditions
// Ready, Progressing and Degraded (pure; shared by the SGXPlugin and LAS status derivations).
//
// Upstream rules (SCONE-INTERFACE §8): any alert > 0 or -1 ⇒ UNHEALTHY, still reconciling ⇒ PENDING. A freshly
// created or rolled DaemonSet always has unready pods for a moment, so a problem is reported as PENDING while the
// pods are younger than the progress deadline and becomes UNHEALTHY after it ("-1: could not be calculated" is
// UNHEALTHY at once). Messages carry counts, never times: a steady state must derive an identical status.
import type { KubeObject } from "../../kube/types.ts";
import type { ServiceState } from "../../resources/common-fields.ts";
import { SERVICE_CONDITION, SERVICE_EVENT_REASON, SERVICE_REASON } from "../../resources/service-conditions.ts";
import { type Condition, type ConditionInput, setConditions } from "../../runtime/conditions.ts";
import type { EventSink } from "../reconcile-kit.ts";

/** While not HEALTHY, look again this often (pods may be settling; the progress deadline may pass). */
export const RECHECK_MS = 60_000;

/** How long a new or updated DaemonSet may take before its missing pods count as a failure. */
export const PROGRESS_DEADLINE_MS = 5 * 60_000;

export interface Problem {
  readonly reason: string;
  readonly message: string;
  /** The value could not be calculated (-1): unhealthy at once, no grace. */
  readonly unknown?: boolean;
  /** Waiting for something outside the operator's control (no SGX nodes yet): PENDING, never UNHEALTHY. */
  readonly waiting?: boolean;
}

/** The problems every node-agent DaemonSet shares: not created yet, no status yet, or its nodes/pods unreadable. */
export function daemonSetProblems(
  what: string,
  daemonSet: { status?: unknown } | undefined,
  observable: boolean,
): Problem[] {
  const problems: Problem[] = [];
  if (!daemonSet)
    problems.push({
      reason: SERVICE_REASON.Installing,
      message: `the ${what} DaemonSet does not exist yet`,
      waiting: true,
    });
  else if (!daemonSet.status)
    problems.push({ reason: SERVICE_REASON.Installing, message: `the ${what} DaemonSet reports no status yet` });
  if (daemonSet && !observable)
    problems.push({ reason: SERVICE_REASON.Unobservable, message: "nodes or pods could not be read", unknown: true });
  return problems;
}

export interface Assessment {
  readonly state: ServiceState;
  readonly conditions: Condition[];
}

export interface AssessInput {
  readonly problems: readonly Problem[];
  /** The DaemonSet controller has not rolled the current template out everywhere yet. */
  readonly rollingOut: boolean;
  /** The newest of: DaemonSet creation, its pods' creation (ms since epoch); within the deadline = settling. */
  readonly settlingSinceMs: number;
  readonly healthyMessage: string;
  readonly previous: readonly Condition[] | undefined;
  readonly generation: number | undefined;
  readonly now: Date;
}

export function assess(input: AssessInput): Assessment {
  const { problems, rollingOut } = input;
  const settling = input.now.getTime() - input.settlingSinceMs < PROGRESS_DEADLINE_MS;
  const failing = problems.filter((p) => p.unknown || (!p.waiting && !settling));
  const state: ServiceState =
    failing.length > 0 ? "UNHEALTHY" : problems.length > 0 || rollingOut ? "PENDING" : "HEALTHY";
  const first = failing[0] ?? problems[0];
  const ready: ConditionInput =
    state === "HEALTHY"
      ? { type: SERVICE_CONDITION.Ready, status: "True", reason: SERVICE_REASON.Healthy, message: input.healthyMessage }
      : first
        ? { type: SERVICE_CONDITION.Ready, status: "False", reason: first.reason, message: first.message }
        : {
            type: SERVICE_CONDITION.Ready,
            status: "False",
            reason: SERVICE_REASON.RollingOut,
            message: "the DaemonSet is rolling out",
          };
  const progressing: ConditionInput = rollingOut
    ? {
        type: SERVICE_CONDITION.Progressing,
        status: "True",
        reason: SERVICE_REASON.RollingOut,
        message: "the DaemonSet is rolling out",
      }
    : {
        type: SERVICE_CONDITION.Progressing,
        status: "False",
        reason: SERVICE_REASON.RolloutComplete,
        message: "every selected node runs the current pod template",
      };
  const degraded: ConditionInput =
    failing.length > 0
      ? {
          type: SERVICE_CONDITION.Degraded,
          status: "True",
          reason: failing[0]?.reason ?? "Unhealthy",
          message: failing.map((p) => p.message).join("; "),
        }
      : {
          type: SERVICE_CONDITION.Degraded,
          status: "False",
          reason: SERVICE_REASON.AsExpected,
          message: "no problem detected",
        };
  return {
    state,
    conditions: setConditions(input.previous, [ready, progressing, degraded], input.generation, input.now),
  };
}

/** The conditions of a resource the operator cannot reconcile (a second LAS or SGXPlugin, an apply refused). */
export function failedConditions(
  reason: string,
  message: string,
  previous: readonly Condition[] | undefined,
  generation: number | undefined,
  now: Date,
): Condition[] {
  return setConditions(
    previous,
    [
      { type: SERVICE_CONDITION.Ready, status: "False", reason, message },
      { type: SERVICE_CONDITION.Progressing, status: "False", reason, message },
      { type: SERVICE_CONDITION.Degraded, status: "True", reason, message },
    ],
    generation,
    now,
  );
}

/** Milliseconds since the epoch of the newest timestamp given (0 when none). */
export function newestMs(times: readonly (Date | string | undefined)[]): number {
  let max = 0;
  for (const t of times) {
    if (t === undefined) continue;
    const ms = t instanceof Date ? t.getTime() : Date.parse(t);
    if (Number.isFinite(ms) && ms > max) max = ms;
  }
  return max;
}

/** Prometheus encoding of the state, as upstream's dashboards read it. */
export const stateMetricValue = (s: ServiceState | undefined): number =>
  s === "HEALTHY" ? 1 : s === "UNHEALTHY" ? -1 : 0;

/** Events on the transitions a human wants to see: becoming HEALTHY or UNHEALTHY. */
export function recordStateTransition(
  events: EventSink,
  obj: KubeObject,
  before: ServiceState | undefined,
  after: ServiceState,
  detail: string,
): void {
  if (before === after) return;
  if (after === "HEALTHY")
    events.record(obj, "Normal", SERVICE_EVENT_REASON.Healthy, `${obj.kind} ${obj.metadata?.name} is HEALTHY`);
  else if (after === "UNHEALTHY")
    events.record(
      obj,
      "Warning",
      SERVICE_EVENT_REASON.Unhealthy,
      `${obj.kind} ${obj.metadata?.name} is UNHEALTHY: ${detail}`,
    );
}
