// `scone cas evict NAME -n NS [--node N]`: cordon the CAS node, delete NAME-0, wait until CAS is HEALTHY on another
// node, uncordon. Every step observes the cluster (node cordoned? pod still there? marker annotation?), so a run killed
// after the cordon is continued by the next one, and a successful run never leaves the node cordoned.
import type { V1Node } from "@kubernetes/client-node";
import { describeStatus, isHealthy, statusSeesPod } from "../status/health.ts";
import {
  type CasId,
  casLabel,
  casRef,
  DAY2_FIELD_MANAGER,
  type DayTwoKube,
  isPodReady,
  nodeRef,
  observeCas,
  podName,
  podRef,
  readCas,
  readPod,
} from "../status/observe.ts";
import { notYet, reached, waitUntil } from "../status/wait.ts";
import { runSteps, type Step, type StepRecord, type StepsProgress } from "../steps.ts";
import { EVICT_ANNOTATION, type EvictPlan, planEviction, readEvictMarker, serializeEvictMarker } from "./plan.ts";

export interface EvictOptions extends CasId {
  readonly node?: string;
  /** How long to wait for CAS HEALTHY on the new node (default 10 min). */
  readonly timeoutMs?: number;
  readonly pollMs?: number;
}

export class EvictRefusedError extends Error {
  override readonly name = "EvictRefusedError";
}

interface EvictContext {
  readonly kube: DayTwoKube;
  readonly options: EvictOptions;
  plan?: Extract<EvictPlan, { action: "move" }>;
  newNode?: string;
}

type EvictStep = Step<EvictContext>;

const movePlan = (ctx: EvictContext) => {
  if (!ctx.plan) throw new Error("internal: the move was not planned");
  return ctx.plan;
};

const readNode = (ctx: EvictContext, name: string) =>
  ctx.kube.tryGet<V1Node & { metadata: { name: string } }>(nodeRef(name));

const planStep: EvictStep = {
  name: "plan",
  title: "Find the node CAS leaves and the nodes that may take it",
  done: async () => false,
  async run(ctx) {
    const observed = await observeCas(ctx.kube, ctx.options);
    const plan = planEviction({ ...observed, ...(ctx.options.node ? { requestedNode: ctx.options.node } : {}) });
    if (plan.action === "refuse") throw new EvictRefusedError(`${casLabel(ctx.options)}: ${plan.reason}`);
    ctx.plan = plan;
    const resumed = plan.resuming ? " (continuing an interrupted move)" : "";
    return `leaving ${plan.from}; eligible: ${plan.eligible.join(", ") || "(CAS already moved)"}${resumed}`;
  },
};

const markStep: EvictStep = {
  name: "mark",
  title: "Record the move on the CAS resource",
  async done(ctx) {
    const marker = readEvictMarker(await readCas(ctx.kube, ctx.options));
    return marker?.from === movePlan(ctx).from ? `annotation ${EVICT_ANNOTATION} present` : false;
  },
  async run(ctx) {
    const { from, uncordon } = movePlan(ctx);
    const value = serializeEvictMarker({ from, uncordon });
    await ctx.kube.patch(casRef(ctx.options), { metadata: { annotations: { [EVICT_ANNOTATION]: value } } }, "merge", {
      fieldManager: DAY2_FIELD_MANAGER,
    });
  },
};

const cordonStep: EvictStep = {
  name: "cordon",
  title: "Cordon the node CAS leaves",
  async done(ctx) {
    const node = await readNode(ctx, movePlan(ctx).from);
    if (!node) return "the node is gone";
    return node.spec?.unschedulable ? `${movePlan(ctx).from} is cordoned` : false;
  },
  async run(ctx) {
    await ctx.kube.patch(nodeRef(movePlan(ctx).from), { spec: { unschedulable: true } }, "merge", {
      fieldManager: DAY2_FIELD_MANAGER,
    });
    return `cordoned ${movePlan(ctx).from}`;
  },
};

const deletePodStep: EvictStep = {
  name: "delete-pod",
  title: "Delete the CAS pod on that node",
  async done(ctx) {
    const pod = await readPod(ctx.kube, ctx.options);
    if (!pod) return "the pod is gone";
    if (pod.metadata?.deletionTimestamp) return "the pod is being deleted";
    if (pod.spec?.nodeName !== movePlan(ctx).from) return `the pod runs on ${pod.spec?.nodeName ?? "no node yet"}`;
    return false;
  },
  async run(ctx) {
    const pod = await readPod(ctx.kube, ctx.options);
    const uid = pod?.metadata?.uid;
    await ctx.kube.delete(podRef(ctx.options), uid ? { preconditions: { uid } } : {});
    return `deleted ${podName(ctx.options)}`;
  },
};

const waitStep: EvictStep = {
  name: "wait-healthy",
  title: "Wait until CAS is HEALTHY on another node",
  done: async () => false,
  async run(ctx) {
    const from = movePlan(ctx).from;
    const node = await waitUntil(
      `${casLabel(ctx.options)} to be HEALTHY on a node other than ${from}`,
      async () => {
        const pod = await readPod(ctx.kube, ctx.options);
        const at = pod?.spec?.nodeName;
        if (!pod || !at) return notYet(`pod ${podName(ctx.options)} is not scheduled yet`);
        if (at === from) return notYet(`pod ${podName(ctx.options)} still runs on ${from}`);
        if (!isPodReady(pod)) return notYet(`pod ${podName(ctx.options)} on ${at} is not Ready yet`);
        const cas = await readCas(ctx.kube, ctx.options);
        if (!statusSeesPod(cas, pod)) return notYet(`pod on ${at}; the CAS status still describes the pod on ${from}`);
        return isHealthy(cas) ? reached(at) : notYet(`pod on ${at}; ${describeStatus(cas)}`);
      },
      { timeoutMs: ctx.options.timeoutMs ?? 600_000, pollMs: ctx.options.pollMs ?? 1000 },
    );
    ctx.newNode = node;
    return `HEALTHY on ${node}`;
  },
};

const uncordonStep: EvictStep = {
  name: "uncordon",
  title: "Uncordon the node",
  async done(ctx) {
    const plan = movePlan(ctx);
    if (!plan.uncordon) return `${plan.from} was cordoned before the move: left as it was`;
    const node = await readNode(ctx, plan.from);
    if (!node) return "the node is gone";
    return node.spec?.unschedulable ? false : `${plan.from} is schedulable`;
  },
  async run(ctx) {
    await ctx.kube.patch(nodeRef(movePlan(ctx).from), { spec: { unschedulable: null } }, "merge", {
      fieldManager: DAY2_FIELD_MANAGER,
    });
    return `uncordoned ${movePlan(ctx).from}`;
  },
};

const unmarkStep: EvictStep = {
  name: "unmark",
  title: "Remove the move record",
  async done(ctx) {
    return readEvictMarker(await readCas(ctx.kube, ctx.options)) ? false : "no move record";
  },
  async run(ctx) {
    await ctx.kube.patch(casRef(ctx.options), { metadata: { annotations: { [EVICT_ANNOTATION]: null } } }, "merge", {
      fieldManager: DAY2_FIELD_MANAGER,
    });
  },
};

export const EVICT_STEPS: readonly EvictStep[] = [
  planStep,
  markStep,
  cordonStep,
  deletePodStep,
  waitStep,
  uncordonStep,
  unmarkStep,
];

export interface EvictOutcome {
  readonly ok: boolean;
  readonly steps: readonly StepRecord[];
  readonly from?: string;
  readonly to?: string;
  readonly error?: string;
  /** The error was a refusal (nothing was changed). */
  readonly refused?: boolean;
}

export async function runEvict(
  kube: DayTwoKube,
  options: EvictOptions,
  progress?: StepsProgress,
): Promise<EvictOutcome> {
  const ctx: EvictContext = { kube, options };
  const result = await runSteps(EVICT_STEPS, ctx, progress ? { progress } : {});
  const base = {
    steps: result.steps,
    ...(ctx.plan ? { from: ctx.plan.from } : {}),
    ...(ctx.newNode ? { to: ctx.newNode } : {}),
  };
  if (result.ok) return { ok: true, ...base };
  const error = result.error instanceof Error ? result.error.message : String(result.error);
  const refused = result.error instanceof EvictRefusedError;
  const hint =
    !refused && ctx.plan
      ? `; node ${ctx.plan.from} may still be cordoned: rerun scone cas evict ${options.name} -n ${options.namespace} to continue`
      : "";
  return { ok: false, ...base, error: `${error}${hint}`, ...(refused ? { refused: true } : {}) };
}
