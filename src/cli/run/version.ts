// `scone version [--client] [-o text|json|yaml]`: this client's version and, when a cluster is configured and answers
// within a few seconds, the operator(s) running there, the installed CRDs and the skew warnings. Without a cluster
// it stays the lightest start-up path (bench/startup.ts): the cluster part (version-cluster.ts, the kube client,
// YAML) is imported only once a kubeconfig is known to exist.
import { SCONE_COMMIT, SCONE_VERSION } from "../../version.ts";
import { textFlag } from "../flags.ts";
import type { SconeContext } from "../spec.ts";
import { writeStdout } from "../stdout.ts";

export interface ClientVersion {
  version: string;
  commit: string;
  bun: string;
}

/** The cluster side of `scone version`: its versions, or why there are none. */
export type ClusterSide =
  | { reachable: true; versions: import("../../flows/versions/observe.ts").ClusterVersions; warnings: string[] }
  | { reachable: false; reason: string };

export function versionInfo(): ClientVersion {
  return { version: SCONE_VERSION, commit: SCONE_COMMIT, bun: Bun.version };
}

export function clientLine(info: ClientVersion): string {
  return `scone ${info.version} (commit ${info.commit}, bun ${info.bun})\n`;
}

export function renderVersion(output: string | undefined): string {
  const info = versionInfo();
  if (output === "json") return `${JSON.stringify(info)}\n`;
  return clientLine(info);
}

/** Here, not in version-cluster.ts: without a cluster nothing of the cluster part is loaded. */
export function notReachableLine(reason: string): string {
  return `cluster: not reachable, showing the client only (${reason})\n`;
}

/**
 * Why no cluster is configured, or undefined when one may be (a kubeconfig flag, KUBECONFIG, in-cluster, or
 * ~/.kube/config exists). Asked without loading the kube client: only a file's existence.
 */
export async function noClusterReason(
  flags: { kubeconfig?: string },
  env: Record<string, string | undefined>,
): Promise<string | undefined> {
  if (flags.kubeconfig || textFlag(env.KUBECONFIG) || env.KUBERNETES_SERVICE_HOST) return undefined;
  const home = textFlag(env.HOME);
  // .size is a synchronous stat (0 when missing; an empty kubeconfig names no cluster either): exists() would
  // wait on a thread-pool stat, ≈3 ms of every `scone version`.
  if (!home || Bun.file(`${home}/.kube/config`).size > 0) return undefined;
  return "no kubeconfig found: pass --kubeconfig or set KUBECONFIG";
}

export async function run(ctx: SconeContext): Promise<void> {
  const a = ctx.args;
  const output = textFlag(a.output);
  let cluster: ClusterSide | undefined;
  if (a.client !== true) {
    const kubeconfig = textFlag(a.kubeconfig);
    const reason = await noClusterReason({ kubeconfig }, process.env);
    cluster = reason
      ? { reachable: false, reason }
      : await (await import("./version-cluster.ts")).readClusterSide({
          kubeconfig,
          context: textFlag(a.context),
          namespace: textFlag(a.namespace),
        });
  }
  if (output === "json" || output === "yaml") {
    const data = { ...versionInfo(), ...(cluster && { cluster }) };
    // yaml is loaded only when asked for: `scone version` stays the lightest start-up path.
    if (output === "yaml") {
      const { renderData } = await import("../output.ts");
      writeStdout(renderData(output, data));
    } else writeStdout(`${JSON.stringify(data)}\n`);
    return;
  }
  let text = clientLine(versionInfo());
  if (cluster && !cluster.reachable) text += notReachableLine(cluster.reason);
  else if (cluster) text += (await import("./version-cluster.ts")).renderClusterSide(cluster);
  writeStdout(text);
}
