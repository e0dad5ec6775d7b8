// The health of a node-agent DaemonSet (LAS, SGXPlugin) from the counts its status derivation made (pure): the
// DaemonSet's own problems, waiting for SGX nodes, nodes falling short, then kit/health.ts's assess().
import type { V1DaemonSet, V1Pod } from "@kubernetes/client-node";
import type { Condition } from "../../runtime/conditions.ts";
import { type Assessment, assess, daemonSetProblems, newestMs, type Problem } from "../kit/health.ts";
import { APP_NAME_LABEL } from "../kit/labels.ts";
import { isRollingOut } from "./node-facts.ts";

/** The agent's own pods: labelled app.kubernetes.io/name=`app` in the DaemonSet's namespace. */
export const agentPodsOf = (ds: V1DaemonSet, pods: readonly V1Pod[], app: string): V1Pod[] =>
  pods.filter((p) => p.metadata?.namespace === ds.metadata?.namespace && p.metadata?.labels?.[APP_NAME_LABEL] === app);

/** Nodes that fall short in one way (-1: could not be counted); a problem when above 0. */
export interface Shortfall {
  readonly count: number;
  readonly reason: string;
  readonly message: string;
}

export interface AgentHealthInput {
  /** The agent as messages name it ("LAS", "plugin"). */
  readonly what: string;
  /** The LAS or SGXPlugin: its generation and previous conditions. */
  readonly resource: { readonly metadata: { generation?: number }; readonly status?: { conditions?: unknown } };
  readonly daemonSet: V1DaemonSet | undefined;
  /** The agent's pods (their creation times tell whether the DaemonSet is still settling). */
  readonly agentPods: readonly V1Pod[];
  /** Nodes and pods could be read. */
  readonly observable: boolean;
  /** Nodes the agent serves (-1: unknown); none is waiting for SGX nodes, never a failure. */
  readonly servedNodes: number;
  readonly noNodes: { readonly reason: string; readonly message: string };
  readonly shortfalls: readonly Shortfall[];
  readonly healthyMessage: string;
  readonly now: Date;
}

export function assessAgent(input: AgentHealthInput): Assessment {
  const { daemonSet } = input;
  const problems: Problem[] = daemonSetProblems(input.what, daemonSet, input.observable);
  if (input.servedNodes === 0) problems.push({ ...input.noNodes, waiting: true });
  for (const s of input.shortfalls) if (s.count > 0) problems.push({ reason: s.reason, message: s.message });
  return assess({
    problems,
    rollingOut: daemonSet ? isRollingOut(daemonSet) : false,
    settlingSinceMs: newestMs([
      daemonSet?.metadata?.creationTimestamp,
      ...input.agentPods.map((p) => p.metadata?.creationTimestamp),
    ]),
    healthyMessage: input.healthyMessage,
    previous: input.resource.status?.conditions as Condition[] | undefined,
    generation: input.resource.metadata.generation,
    now: input.now,
  });
}
