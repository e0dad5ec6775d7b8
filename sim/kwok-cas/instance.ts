// One simulated CAS container: the CAS simulator process for one pod instance, its console written as the `cas`
// container's log, the audit log followed into the `audit` container's log, restarts like a kubelet's (after an
// unexpected exit, with backoff; on `restart-cas`), and SIGTERM when the pod goes.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { consoleValue } from "../cas/launch.ts";
import { CriLogWriter, LineSplitter, type Stream, tailToCri } from "./cri-log.ts";
import type { RunningEndpoints } from "./kwok-objects.ts";
import type { PodPaths } from "./layout.ts";
import type { CasPodPlan } from "./plan.ts";
import { RESTART_REQUEST } from "./pod-root.ts";
import { hasKeyStore, readSealedTo, sealTo, unsealDecision } from "./sealing.ts";

const SIMULATOR_MAIN = join(import.meta.dir, "..", "cas", "main.ts");
const START_TIMEOUT_MS = 30_000;
const BACKOFF_INITIAL_MS = 1_000;
const BACKOFF_MAX_MS = 10_000;
/** In the database dir: the simulator that has the database open (one writer per database, like one pod per RWO volume). */
const PID_FILE = ".kwok-cas-simulator.pid";

/**
 * A simulator left running by a runtime that died (SIGKILL) still has this database open: stop it before a new one
 * starts. Only a process whose command line is the simulator on this very database is touched.
 */
export function stopOrphanedSimulator(databaseDir: string): void {
  const pidFile = join(databaseDir, PID_FILE);
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  rmSync(pidFile, { force: true });
  if (!Number.isInteger(pid) || pid <= 1) return;
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return; // gone
  }
  if (cmdline.includes(SIMULATOR_MAIN) && cmdline.includes(databaseDir)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // exited meanwhile
    }
  }
}

export interface InstanceOptions {
  readonly plan: CasPodPlan;
  readonly paths: PodPaths;
  /**
   * Whether the pod's node holds a registered backup of this CAS (it may unseal a database sealed elsewhere). Asked
   * at every start: a registration made while the CAS crash-loops lets the next restart open the database.
   */
  readonly nodeHasRegisteredBackup: () => Promise<boolean>;
  /** Told whenever the simulator's ports change (started, restarted) or it stopped running (undefined). */
  readonly onEndpoints: (endpoints: RunningEndpoints | undefined) => void;
  readonly log: (line: string) => void;
}

export function simulatorArgs(plan: CasPodPlan, paths: PodPaths): string[] {
  return [
    SIMULATOR_MAIN,
    "--listen",
    "127.0.0.1:0",
    "--enclave-listen",
    "127.0.0.1:0",
    "--data-dir",
    paths.databaseDir,
    "--version",
    plan.version,
    "--audit-log",
    paths.auditLog,
    ...plan.serverNames.flatMap((name) => ["--san", name]),
    ...(plan.snapshots && paths.snapshotDir
      ? ["--snapshot-dir", paths.snapshotDir, "--snapshot-interval", `${plan.snapshots.intervalMs}ms`]
      : []),
  ];
}

/**
 * `work`'s result, or `late` after `ms`. The timer is cleared once the race is decided: a pending Bun.sleep would keep
 * the process alive for the rest of its time after everything stopped (`make demo` lingered 30 s at its end).
 */
async function orTimeout<T, L>(work: Promise<T>, ms: number, late: L): Promise<T | L> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<L>((resolve) => {
    timer = setTimeout(() => resolve(late), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export class CasInstance {
  private child: Subprocess<"ignore", "pipe", "pipe"> | undefined;
  private endpoints: RunningEndpoints | undefined;
  private stopping = false;
  private backoffMs = BACKOFF_INITIAL_MS;
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly restartPoll: ReturnType<typeof setInterval>;
  private readonly casLog: CriLogWriter;
  private readonly auditTail: { stop(): void };

  constructor(private readonly opts: InstanceOptions) {
    const { paths } = opts;
    for (const dir of [paths.dir, paths.databaseDir, paths.auditDir, paths.snapshotDir]) {
      if (dir) mkdirSync(dir, { recursive: true });
    }
    this.casLog = new CriLogWriter(paths.casLog);
    this.auditTail = tailToCri(paths.auditLog, new CriLogWriter(paths.auditContainerLog));
    this.restartPoll = setInterval(() => this.checkRestartRequest(), 300);
  }

  get current(): RunningEndpoints | undefined {
    return this.endpoints;
  }

  /** Starts the simulator; resolves with its ports, or undefined when it cannot run (the reason is in its log). */
  async start(): Promise<RunningEndpoints | undefined> {
    const { plan, paths } = this.opts;
    const decision = unsealDecision({
      hasKeyStore: hasKeyStore(paths.databaseDir),
      sealedTo: readSealedTo(paths.databaseDir),
      node: plan.node,
      nodeHasRegisteredBackup: await this.opts.nodeHasRegisteredBackup(),
    });
    // stop() may have run while the node was read: a simulator started now would outlive the pod (and the runtime).
    if (this.stopping) return undefined;
    if (!decision.open) {
      // A real CAS that cannot unseal exits, and the kubelet restarts it with a backoff: so does this one.
      this.casLog.write("stderr", [`CAS cannot start: ${decision.why}; restarting in ${this.backoffMs} ms`]);
      this.opts.log(`${plan.namespace}/${plan.pod}: not started: ${decision.why}; retrying in ${this.backoffMs} ms`);
      this.scheduleRestart();
      return undefined;
    }
    const fresh = !hasKeyStore(paths.databaseDir);
    stopOrphanedSimulator(paths.databaseDir);
    const child = Bun.spawn([process.execPath, ...simulatorArgs(plan, paths)], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    this.child = child;
    writeFileSync(join(paths.databaseDir, PID_FILE), `${child.pid}\n`);
    const seen: string[] = [];
    let announce: () => void = () => {};
    const announced = new Promise<void>((resolve) => {
      announce = resolve;
    });
    const pump = async (stream: ReadableStream<Uint8Array>, name: Stream) => {
      const splitter = new LineSplitter();
      const decoder = new TextDecoder();
      for await (const bytes of stream) {
        const lines = splitter.push(decoder.decode(bytes, { stream: true }));
        this.casLog.write(name, lines);
        if (name === "stdout") {
          seen.push(...lines);
          if (lines.some((l) => l.includes("CAS enclave API listening on"))) announce();
        }
      }
      this.casLog.write(name, splitter.flush());
    };
    void pump(child.stdout, "stdout");
    void pump(child.stderr, "stderr");
    void child.exited.then((code) => this.onExit(child, code));

    const outcome = await orTimeout(
      Promise.race([announced.then(() => "ready" as const), child.exited.then(() => "exited" as const)]),
      START_TIMEOUT_MS,
      "timeout" as const,
    );
    if (outcome !== "ready") {
      if (outcome === "timeout") child.kill("SIGKILL");
      this.opts.log(`${plan.namespace}/${plan.pod}: CAS simulator did not start (${outcome}); see kubectl logs -c cas`);
      return undefined;
    }
    const port = (label: string) => Number(consoleValue(seen, label)?.split(":").at(-1));
    this.endpoints = {
      clientPort: port("CAS client API listening on"),
      enclavePort: port("CAS enclave API listening on"),
    };
    if (fresh) sealTo(paths.databaseDir, plan.node);
    this.backoffMs = BACKOFF_INITIAL_MS;
    return this.endpoints;
  }

  private onExit(child: Subprocess, code: number): void {
    if (child !== this.child || this.stopping) return;
    this.child = undefined;
    this.endpoints = undefined;
    this.opts.onEndpoints(undefined);
    const { plan } = this.opts;
    this.casLog.write("stderr", [`CAS exited with code ${code}; restarting in ${this.backoffMs} ms`]);
    this.opts.log(`${plan.namespace}/${plan.pod}: CAS simulator exited with ${code}; restarting`);
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    if (this.stopping) return;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => void this.restart(), this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
  }

  private async restart(): Promise<void> {
    if (this.stopping) return;
    const endpoints = await this.start();
    if (!this.stopping) this.opts.onEndpoints(endpoints);
  }

  /** `kubectl exec POD -- bash restart-cas`: stop and start the simulator (recovery files are applied at start). */
  private checkRestartRequest(): void {
    const marker = join(this.opts.paths.root, RESTART_REQUEST);
    if (this.stopping || !existsSync(marker)) return;
    rmSync(marker, { force: true });
    const child = this.child;
    this.child = undefined; // so its exit is not taken for a crash
    this.endpoints = undefined;
    this.opts.onEndpoints(undefined);
    void (async () => {
      if (child) {
        child.kill("SIGTERM");
        await child.exited;
      }
      this.casLog.write("stdout", ["CAS restart requested (restart-cas)"]);
      await this.restart();
    })();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.restartPoll);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    this.child = undefined;
    this.endpoints = undefined;
    if (child) {
      child.kill("SIGTERM");
      const exited = await orTimeout(
        child.exited.then(() => true),
        10_000,
        false,
      );
      if (!exited) child.kill("SIGKILL");
      rmSync(join(this.opts.paths.databaseDir, PID_FILE), { force: true });
    }
    this.auditTail.stop();
  }
}
