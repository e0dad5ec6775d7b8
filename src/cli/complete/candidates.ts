// `scone __complete cas|namespace WORDS…`: the names the shell offers for a CAS argument or a --namespace value,
// read from the cluster the typed line points at. A completion must never print an error into the prompt or make
// the shell wait: any failure prints nothing, and the whole lookup is bounded.
import type { KubeObject, TypeRef } from "../../kube/types.ts";
import { casDefinition } from "../../resources/cas.ts";
import { apiVersionOf } from "../../resources/definition.ts";
import { openKube } from "../flags.ts";
import { type CompletionSource, isCompletionSource, readCompletionLine } from "./line.ts";

/** A shell waits for this at most; an unreachable cluster then simply offers nothing. */
export const COMPLETION_TIMEOUT_MS = 2_000;
const CAS_TYPE: TypeRef = { apiVersion: apiVersionOf(casDefinition), kind: "CAS" };
const NAMESPACE_TYPE: TypeRef = { apiVersion: "v1", kind: "Namespace" };

async function names(source: CompletionSource, words: readonly string[], signal: AbortSignal): Promise<string[]> {
  const line = readCompletionLine(words);
  const kube = await openKube({ kubeconfig: line.kubeconfig, context: line.context });
  const list =
    source === "namespace"
      ? await kube.list<KubeObject>(NAMESPACE_TYPE, { signal })
      : await kube.list<KubeObject>(CAS_TYPE, { signal, ...(line.namespace ? { namespace: line.namespace } : {}) });
  return [...new Set(list.items.map((o) => o.metadata?.name ?? "").filter(Boolean))].sort();
}

/** The candidates, one per line (empty on any failure). */
export async function completionCandidates(source: string | undefined, words: readonly string[]): Promise<string> {
  if (!isCompletionSource(source)) return "";
  const signal = AbortSignal.timeout(COMPLETION_TIMEOUT_MS);
  const found = await Promise.race([
    names(source, words, signal).catch(() => []),
    new Promise<string[]>((resolve) => signal.addEventListener("abort", () => resolve([]), { once: true })),
  ]);
  return found.map((n) => `${n}\n`).join("");
}
