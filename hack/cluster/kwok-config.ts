// kwok's --config: the lifecycle Stages kwokctl would give it, plus what simulated containers answer to
// `kubectl logs` and `kubectl exec` (served by kwok's kubelet-style server, reached through the API server).
import { stringify } from "yaml";

export interface KwokConfigInput {
  /** Multi-document YAML of Stage objects (kwokctl's defaults: node-initialize, heartbeat, pod-ready, ...). */
  readonly stagesYaml: string;
  /** A CRI-format log file every simulated container's `kubectl logs` returns. */
  readonly containerLogFile: string;
  /** Where `kubectl exec` into a simulated container runs its command: on this host, as this user. */
  readonly execWorkDir: string;
}

export function renderKwokConfig(input: KwokConfigInput): string {
  const clusterLogs = {
    apiVersion: "kwok.x-k8s.io/v1alpha1",
    kind: "ClusterLogs",
    metadata: { name: "scone-simulated-logs" },
    spec: { logs: [{ logsFile: input.containerLogFile }] },
  };
  const clusterExec = {
    apiVersion: "kwok.x-k8s.io/v1alpha1",
    kind: "ClusterExec",
    metadata: { name: "scone-simulated-exec" },
    spec: { execs: [{ local: { workDir: input.execWorkDir } }] },
  };
  return [input.stagesYaml.trim(), stringify(clusterLogs), stringify(clusterExec)]
    .map((doc) => doc.replace(/^---\n/, ""))
    .join("\n---\n");
}

/** kubelet's CRI log line format (`<RFC3339Nano> <stream> <F|P> <text>`), which kwok's log reader parses. */
export function criLogLines(lines: readonly string[], at = new Date()): string {
  const time = at.toISOString().replace("Z", "000000Z");
  return lines.map((line) => `${time} stdout F ${line}\n`).join("");
}

export const SIMULATED_LOG_LINES = [
  "scone local cluster: simulated container started",
  "scone local cluster: this log is served by kwok from a file in the cluster directory",
];
