// Control-plane processes run detached in their own process groups, with output in a log file, so they outlive the
// command that started them (`make cluster`) and can be stopped as a group (a component's own children included).
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";

export interface ProcessRecord {
  readonly pid: number;
  /** Start time in clock ticks since boot (/proc/PID/stat field 22): tells our process from a reused pid. */
  readonly startTicks: string;
}

export interface LaunchSpec {
  readonly binary: string;
  readonly args: readonly string[];
  readonly logFile: string;
  readonly cwd: string;
  /** Added to (and overriding) this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
}

function procStat(pid: number): { state: string; startTicks: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces and parentheses: fields after it are counted from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { state: fields[0] ?? "", startTicks: fields[19] ?? "" };
  } catch {
    return undefined;
  }
}

/**
 * Starts the process through a shell that backgrounds it and exits, so it is not a child of this process: bun's
 * test runner kills the child processes of a test that times out, and must not take the shared cluster with it.
 * `setsid` makes it the leader of its own session and process group (pgid = pid), which survives our exit and our
 * terminal's signals and can be stopped as a group.
 */
export function launchDetached(spec: LaunchSpec): ProcessRecord {
  const script = 'log=$1; shift; setsid "$@" >>"$log" 2>&1 </dev/null & echo $!';
  const launcher = Bun.spawnSync(["/bin/sh", "-c", script, "sh", spec.logFile, spec.binary, ...spec.args], {
    cwd: spec.cwd,
    env: spec.env ? { ...process.env, ...spec.env } : process.env,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const pid = Number(launcher.stdout.toString().trim());
  if (launcher.exitCode !== 0 || !Number.isSafeInteger(pid) || pid <= 0) {
    throw new Error(`could not start ${spec.binary}: ${launcher.stderr.toString().trim()}`);
  }
  return recordOf(pid);
}

/** A record of a process running now (started by other means), to tell later whether it is still that one. */
export function recordOf(pid: number): ProcessRecord {
  return { pid, startTicks: procStat(pid)?.startTicks ?? "" };
}

/** True while the recorded process (not a later one with the same pid) exists and has not exited. */
export function isRunning(record: ProcessRecord): boolean {
  const stat = procStat(record.pid);
  if (!stat || stat.state === "Z" || stat.state === "X") return false;
  return record.startTicks === "" || stat.startTicks === record.startTicks;
}

function signalGroup(record: ProcessRecord, signal: NodeJS.Signals): void {
  try {
    process.kill(-record.pid, signal);
  } catch {
    // group already gone
  }
}

/** SIGTERM to the process group, SIGKILL after graceMs; resolves once the process is gone. */
export async function stopProcessGroup(record: ProcessRecord, graceMs = 5000): Promise<void> {
  if (!isRunning(record)) {
    signalGroup(record, "SIGKILL"); // leftovers of a group whose leader already died
    return;
  }
  signalGroup(record, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (isRunning(record) && Date.now() < deadline) await Bun.sleep(50);
  signalGroup(record, "SIGKILL");
  while (isRunning(record)) await Bun.sleep(20);
}

/** For process-exit handlers, where nothing asynchronous runs any more. */
export function killProcessGroupSync(record: ProcessRecord): void {
  if (isRunning(record)) signalGroup(record, "SIGKILL");
}

export async function logTail(file: string, lines = 25): Promise<string> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}
