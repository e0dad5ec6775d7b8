// CPU time (user + system) of the processes a bench run involves, from Linux's /proc: on a shared 2-core machine the
// wall time of a run moves with everyone else's load, the CPU each part spends does not. Figures only; on a system
// without /proc every figure is undefined and the bench says so.
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ: 100 on every Linux this runs on). */
const TICKS_PER_SECOND = 100;

/** Fields of /proc/<pid>/stat after the command name (which may contain spaces and parentheses). */
function statFields(pid: number | "self"): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    return text.slice(text.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

const ticksToMs = (ticks: number) => (ticks * 1000) / TICKS_PER_SECOND;

/** utime + stime of a live process, ms; with `reaped`, cutime + cstime (its children it waited for) instead. */
export function processCpuMs(pid: number | "self", reaped = false): number | undefined {
  const f = statFields(pid);
  if (!f) return undefined;
  // After the name: state(0) … utime(11) stime(12) cutime(13) cstime(14) (proc(5) fields 14–17).
  const [a, b] = reaped ? [13, 14] : [11, 12];
  return ticksToMs(Number(f[a]) + Number(f[b]));
}

/** The pids whose command line contains `needle` (e.g. a cluster's temp directory), this process excluded. */
export function pidsMentioning(needle: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, "utf8").includes(needle)) pids.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

export interface CpuParts {
  /** This process: the operator's controllers, the bench's own API client and watch. */
  readonly operator: number;
  /** Children this process ran and waited for: the CLI processes (one per driver call). */
  readonly cliProcesses: number | undefined;
  /** The simulated CAS (a child process), when its pid is given. */
  readonly cas: number | undefined;
  /** The cluster's processes (API server, etcd, KWOK), when they can be found. */
  readonly cluster: number | undefined;
}

/** A snapshot now; `since(before)` gives the CPU each part spent in between, ms. */
export function cpuSnapshot(o: { casPid?: number; clusterPids: readonly number[] }): CpuParts {
  const sum = (xs: (number | undefined)[]) =>
    xs.length === 0 || xs.some((x) => x === undefined) ? undefined : xs.reduce((a: number, x) => a + (x ?? 0), 0);
  const usage = process.cpuUsage();
  return {
    operator: (usage.user + usage.system) / 1000,
    cliProcesses: processCpuMs("self", true),
    cas: o.casPid === undefined ? undefined : processCpuMs(o.casPid),
    cluster: sum(o.clusterPids.map((p) => processCpuMs(p))),
  };
}

export function cpuSince(before: CpuParts, after: CpuParts): CpuParts {
  const d = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? undefined : Math.round(b - a);
  return {
    operator: Math.round(after.operator - before.operator),
    cliProcesses: d(before.cliProcesses, after.cliProcesses),
    cas: d(before.cas, after.cas),
    cluster: d(before.cluster, after.cluster),
  };
}
