// The state file: which processes make up a running cluster and how to reach it, so a later command (`status`,
// `down`, a second `up`) can find and judge it.
import { readFile, rename, writeFile } from "node:fs/promises";
import type { KubeBinaries } from "./binaries.ts";
import type { ClusterNetwork, ClusterPorts } from "./components.ts";
import type { ComponentName } from "./layout.ts";
import type { RealNodeState } from "./node/real-node.ts";
import type { ProcessRecord } from "./process.ts";

export interface ClusterState {
  readonly format: 1;
  readonly k8sVersion: string;
  readonly server: string;
  readonly ports: ClusterPorts;
  readonly binaries: KubeBinaries;
  readonly startedAt: string;
  processes: Partial<Record<ComponentName, ProcessRecord>>;
  /** Kills the cluster when the process that owns it dies without stopping it (test runs). */
  watchdog?: ProcessRecord;
  ownerPid?: number;
  /** Set for a cluster with a real node: where kube-apiserver listens, and the node's ports and processes. */
  readonly network?: ClusterNetwork;
  readonly node?: RealNodeState;
}

export async function readState(file: string): Promise<ClusterState | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return undefined;
  }
  const parsed = JSON.parse(text) as Partial<ClusterState>;
  if (parsed.format !== 1 || typeof parsed.server !== "string" || typeof parsed.processes !== "object") {
    throw new Error(`${file} is not a cluster state file of this harness; remove its directory to start over`);
  }
  return parsed as ClusterState;
}

export async function writeState(file: string, state: ClusterState): Promise<void> {
  const temporary = `${file}.${process.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`);
  await rename(temporary, file);
}
