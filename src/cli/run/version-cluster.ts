// The cluster half of `scone version` (loaded only when a kubeconfig exists): read the versions with a short
// timeout, decide the skew warnings, render them. An unreachable cluster is an answer ("not reachable: why"), not
// an error: `scone version` exits 0 whenever it could print the client's version.
import { observeClusterVersions } from "../../flows/versions/observe.ts";
import { skewWarnings } from "../../flows/versions/skew.ts";
import { SCONE_VERSION } from "../../version.ts";
import { openKube } from "../flags.ts";
import { renderTable } from "../table.ts";
import { type ClusterSide, notReachableLine } from "./version.ts";

/** How long the cluster may take to answer: `scone version` is asked interactively and must not hang. */
export const CLUSTER_TIMEOUT_MS = 5_000;

export async function readClusterSide(options: {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}): Promise<ClusterSide> {
  const deadline = AbortSignal.timeout(CLUSTER_TIMEOUT_MS);
  try {
    const kube = await openKube(options, { timeoutMs: CLUSTER_TIMEOUT_MS });
    // The transport's timeout bounds each request; the race bounds the whole (discovery, retries included).
    const versions = await Promise.race([
      observeClusterVersions(kube, options.namespace),
      new Promise<never>((_, reject) =>
        deadline.addEventListener("abort", () => reject(new Error(`no answer within ${CLUSTER_TIMEOUT_MS / 1000}s`))),
      ),
    ]);
    return { reachable: true, versions, warnings: skewWarnings(SCONE_VERSION, versions.operators, versions.crds) };
  } catch (err) {
    return { reachable: false, reason: err instanceof Error ? err.message : String(err) };
  }
}

export function renderClusterSide(side: ClusterSide): string {
  if (!side.reachable) return notReachableLine(side.reason);
  const { versions, warnings } = side;
  let text = `kubernetes ${versions.kubernetes}\n`;
  if (versions.operators.length === 0) text += "operator: none found in the cluster\n";
  else {
    text += `\n${renderTable(
      ["OPERATOR", "VERSION", "SCONE", "READY", "IMAGE"],
      versions.operators.map((o) => [
        `${o.namespace}/${o.name}`,
        o.version ?? "?",
        o.sconeVersion ?? "-",
        `${o.ready}/${o.replicas}`,
        o.image,
      ]),
    )}`;
  }
  text += `\n${renderTable(
    ["CRD", "SERVED", "INSTALLED BY"],
    versions.crds.map((c) =>
      c.installed
        ? [c.name, c.served.join(",") || "-", c.installedBy ? `scone ${c.installedBy}` : "unknown"]
        : [c.name, "not installed", "-"],
    ),
  )}`;
  for (const w of warnings) text += `warning: ${w}\n`;
  return text;
}
