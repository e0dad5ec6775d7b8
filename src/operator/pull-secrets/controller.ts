// The pull-secret injection controller (I/O around plan.ts): one reconcile per namespace. Namespace events enqueue
// the namespace; a change of a source secret in the operator's namespace enqueues every namespace annotated for it;
// the informers' periodic resync re-checks copies someone changed. Copies are written only where the operator may
// use Secrets (its namespace role bound there, as for every other Secret it touches: docs/RBAC.md); elsewhere the
// namespace gets a Warning Event naming the RoleBinding to create.
import { secretsGrantHint } from "../../install/rbac.ts";
import { ForbiddenError } from "../../kube/errors.ts";
import type { KubeObject, TypeRef } from "../../kube/types.ts";
import { Controller, type ReconcileContext, type ReconcileRequest } from "../../runtime/controller.ts";
import { SECRET_TYPE, waitForCaches } from "../kit/caches.ts";
import type { OperatorContext } from "../wiring.ts";
import { INJECTIONS, isOurCopy, type NamespaceLike, namespacesFor, planInjection, type SecretLike } from "./plan.ts";

const NAMESPACE_TYPE: TypeRef = { apiVersion: "v1", kind: "Namespace" };
/** Missing rights are re-checked this often (a RoleBinding may be added any time; no event tells the operator). */
const FORBIDDEN_RECHECK_MS = 5 * 60_000;

const wantsAny = (ns: NamespaceLike) => INJECTIONS.some((i) => ns.metadata?.annotations?.[i.annotation] === "true");
const mentionsAny = (ns: NamespaceLike) =>
  INJECTIONS.some((i) => ns.metadata?.annotations?.[i.annotation] !== undefined);

export function registerPullSecretController(ctx: OperatorContext): Controller {
  const opns = ctx.operatorNamespace;
  const namespaces = ctx.informers.informer<KubeObject>({ type: NAMESPACE_TYPE });
  const sources = ctx.informers.informer<KubeObject>({ type: SECRET_TYPE, namespace: opns });
  /** Namespaces holding a copy of ours, as far as this process saw (after a restart: those still annotated). */
  const injected = new Set<string>();

  const reconcile = async (req: ReconcileRequest, rctx: ReconcileContext) => {
    await waitForCaches([namespaces, sources], rctx.signal);
    const cached = namespaces.get(req.name) as (KubeObject & NamespaceLike) | undefined;
    if (!cached) return undefined; // gone: its copies went with it
    // List items carry no apiVersion/kind; the Events need them.
    const ns = { ...cached, apiVersion: "v1", kind: "Namespace" };
    // Read only where there may be something to do: a namespace that carries an injection annotation (any value), or
    // one this process copied into (its annotation may just have gone). Secrets elsewhere are none of its business,
    // and a read there would be a request refused by RBAC in every namespace not opted in.
    if (req.name === opns || !(mentionsAny(ns) || injected.has(req.name))) return undefined;
    const sourceMap = new Map(INJECTIONS.map((i) => [i.secret, sources.get(opns, i.secret) as SecretLike | undefined]));
    const existing = new Map<string, SecretLike | undefined>();
    try {
      for (const { secret } of INJECTIONS)
        existing.set(
          secret,
          await ctx.client.tryGet<KubeObject & SecretLike>(
            { ...SECRET_TYPE, namespace: req.name, name: secret },
            { signal: rctx.signal },
          ),
        );
    } catch (e) {
      if (!(e instanceof ForbiddenError)) throw e;
      // Without the annotation there is nothing of ours to keep or remove here.
      if (!wantsAny(ns)) return undefined;
      ctx.kit.events.record(ns, "Warning", "PullSecretNotInjected", secretsGrantHint(req.name, opns));
      return { requeueAfterMs: FORBIDDEN_RECHECK_MS };
    }
    if (INJECTIONS.some((i) => isOurCopy(existing.get(i.secret), opns, i.secret))) injected.add(req.name);
    for (const action of planInjection(ns, opns, sourceMap, existing)) {
      const ref = {
        ...SECRET_TYPE,
        namespace: req.name,
        name: action.op === "create" || action.op === "update" ? (action.secret.metadata?.name ?? "") : action.name,
      };
      if (action.op === "create") await ctx.client.create(action.secret as KubeObject, { signal: rctx.signal });
      else if (action.op === "update") await ctx.client.replace(action.secret as KubeObject, { signal: rctx.signal });
      else if (action.op === "delete")
        await ctx.client.deleteIfExists(ref, {
          signal: rctx.signal,
          ...(action.resourceVersion ? { preconditions: { resourceVersion: action.resourceVersion } } : {}),
        });
      else {
        ctx.kit.events.record(ns, "Warning", "PullSecretNotInjected", action.why);
        continue;
      }
      rctx.actions.push(`${action.op} Secret ${ref.namespace}/${ref.name}`);
      if (action.op === "create") injected.add(req.name);
    }
    // Unannotated: its copies were just removed (a refused precondition throws above and retries).
    if (!mentionsAny(ns)) injected.delete(req.name);
    return undefined;
  };

  const controller = new Controller({
    name: "pull-secrets",
    reconcile,
    metrics: ctx.manager.metrics,
    onRecord: ctx.recordHistory,
  });
  const enqueueNs = (o: KubeObject) => controller.enqueue({ name: o.metadata?.name ?? "" });
  namespaces.addHandlers({ add: enqueueNs, update: (_a, b) => enqueueNs(b), delete: enqueueNs });
  const enqueueFor = (o: KubeObject) => {
    const name = o.metadata?.name ?? "";
    if (!INJECTIONS.some((i) => i.secret === name)) return;
    for (const ns of namespacesFor(name, namespaces.list() as NamespaceLike[])) controller.enqueue({ name: ns });
  };
  sources.addHandlers({ add: enqueueFor, update: (_a, b) => enqueueFor(b), delete: enqueueFor });
  ctx.manager.addController(controller);
  return controller;
}
