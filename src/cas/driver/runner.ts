// How a SCONE CLI command runs: the `CliRunner` port and its two shells — a local binary (upstream's `--no-docker`)
// and an exec into a long-lived CLI pod (one per CAS, in the CAS's namespace; commands by exec, not a pod per call).
// Both follow CLI §1 [crate: pub/runner.rs]: inputs go through files (stdin never written), SCONE_CONFIG_ID is
// removed, SCONE_CLI_CONFIG names the config, stdout is the result and stderr the error text.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import type { ExecOptions, ExecResult } from "../../kube/exec.ts";
import type { CliArg, CliInputFile } from "./commands.ts";

export interface CliRunResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliRunner {
  /** Human-readable: which CLI this is (for messages). */
  readonly description: string;
  run(
    argv: readonly CliArg[],
    env: Readonly<Record<string, string>>,
    files: readonly CliInputFile[],
  ): Promise<CliRunResult>;
}

/** stdout a CLI answer may have (session bodies, audit logs printed with --print-log); more fails the call. */
export const DEFAULT_MAX_STDOUT_BYTES = 16 * 1024 * 1024;
/** stderr kept (the head, where the CLI names the failure). */
export const MAX_STDERR_BYTES = 64 * 1024;

/** The name the caller's CLI config has in a pod call's directory. */
export const TRAVELLING_CONFIG = "config.json";
/** A CLI config read back from a pod: the identity and the attested CASes, far below this. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** The CLI could not be run at all, or said more than the driver accepts. */
export class CliRunError extends Error {
  override readonly name = "CliRunError";
}

const INPUT_NAME = /^[a-z0-9][a-z0-9-]{0,63}\.(json|yml|toml|log)$/;
const ENV_NAME = /^[A-Z_][A-Z0-9_]{0,63}$/;

function checkFiles(files: readonly CliInputFile[]): void {
  const seen = new Set<string>();
  for (const f of files) {
    if (!INPUT_NAME.test(f.name)) throw new CliRunError(`input file name ${JSON.stringify(f.name)} is not a bare name`);
    if (seen.has(f.name)) throw new CliRunError(`input file ${f.name} given twice`);
    seen.add(f.name);
  }
}

function resolveArgs(
  argv: readonly CliArg[],
  dir: string,
  files: readonly CliInputFile[],
  join2: (a: string, b: string) => string,
) {
  return argv.map((a) => {
    if (typeof a === "string") return a;
    if (!files.some((f) => f.name === a.inputFile))
      throw new CliRunError(`argv names input file ${a.inputFile}, which is not given`);
    return join2(dir, a.inputFile);
  });
}

/**
 * The environment of one call: the caller's extra variables, then SCONE_CLI_CONFIG; SCONE_CONFIG_ID never (CLI §1).
 * Unlike the crate, which passes its whole environment on, only PATH and HOME are inherited: scone's own process
 * may hold credentials (API tokens, S3 keys) the CLI has no business seeing.
 */
export function cliEnvironment(
  inherited: Readonly<Record<string, string | undefined>>,
  extra: Readonly<Record<string, string>>,
  configPath: string | undefined,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of ["PATH", "HOME"]) {
    const v = inherited[k];
    if (v !== undefined) env[k] = v;
  }
  for (const [k, v] of Object.entries(extra)) {
    if (!ENV_NAME.test(k)) throw new CliRunError(`environment name ${JSON.stringify(k)} is not valid`);
    if (v.includes("\0")) throw new CliRunError(`environment ${k} holds a NUL byte`);
    env[k] = v;
  }
  // CLI §1: set only when the client has a config.
  if (configPath !== undefined) env.SCONE_CLI_CONFIG = configPath;
  delete env.SCONE_CONFIG_ID;
  return env;
}

async function readBounded(stream: ReadableStream<Uint8Array>, max: number, onOverflow: () => void, keepHead: boolean) {
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  let overflow = false;
  for await (const chunk of stream) {
    if (overflow) continue;
    if (bytes + chunk.length > max) {
      if (keepHead) chunks.push(chunk.subarray(0, max - bytes));
      else onOverflow();
      bytes = max;
      overflow = true;
      continue;
    }
    chunks.push(chunk);
    bytes += chunk.length;
  }
  return { text: Buffer.concat(chunks).toString("utf8"), overflow };
}

export interface LocalCliRunnerOptions {
  /** The SCONE CLI binary (`--scone-cli PATH`); argv[0] may be a list, e.g. ["bun", "sim/scone-cli/main.ts"]. */
  readonly binary: readonly string[];
  /** SCONE_CLI_CONFIG: `<target>/identity/config.json` (SCONE-INTERFACE §10.3). */
  readonly configPath?: string;
  /** Variables every call gets (e.g. SCONE_CLI_RETRIES); names checked. */
  readonly env?: Readonly<Record<string, string>>;
  /** Parent for the private per-call directory (default the system temp dir). */
  readonly tempRoot?: string;
  readonly maxStdoutBytes?: number;
  /** Whole-call limit; the crate has none (CLI §1), scone kills a CLI that hangs longer (default 10 minutes). */
  readonly timeoutMs?: number;
  /** Inherited PATH/HOME source (tests). */
  readonly inherit?: Readonly<Record<string, string | undefined>>;
}

/** Runs a local SCONE CLI binary with Bun.spawn, no shell. */
export class LocalCliRunner implements CliRunner {
  readonly description: string;
  constructor(private readonly o: LocalCliRunnerOptions) {
    if (o.binary.length === 0 || o.binary.some((b) => b === "")) throw new CliRunError("the CLI binary is empty");
    this.description = `local SCONE CLI ${o.binary.join(" ")}`;
  }

  async run(argv: readonly CliArg[], env: Readonly<Record<string, string>>, files: readonly CliInputFile[]) {
    checkFiles(files);
    // 0700 directory with an unpredictable name; each input created exclusively with 0600 (never through a planted
    // file or link), removed with the directory whatever the outcome.
    const dir = await mkdtemp(join(this.o.tempRoot ?? tmpdir(), "scone-cli-"));
    try {
      // One call per input: "wx" is O_CREAT|O_EXCL, the mode applies at creation (no open-then-chmod window).
      for (const f of files) await writeFile(join(dir, f.name), f.content, { flag: "wx", mode: 0o600 });
      const args = resolveArgs(argv, dir, files, join);
      const child = Bun.spawn([...this.o.binary, ...args], {
        env: cliEnvironment(this.o.inherit ?? process.env, { ...this.o.env, ...env }, this.o.configPath),
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
      });
      const timer = setTimeout(() => child.kill("SIGKILL"), this.o.timeoutMs ?? 600_000);
      try {
        const max = this.o.maxStdoutBytes ?? DEFAULT_MAX_STDOUT_BYTES;
        const [out, err, exitCode] = await Promise.all([
          readBounded(child.stdout, max, () => child.kill("SIGKILL"), false),
          readBounded(child.stderr, MAX_STDERR_BYTES, () => {}, true),
          child.exited,
        ]);
        if (out.overflow)
          throw new CliRunError(`${this.description} wrote more than ${max} bytes to stdout; output refused`);
        if (child.signalCode === "SIGKILL" && !out.overflow) {
          throw new CliRunError(`${this.description} did not finish within ${this.o.timeoutMs ?? 600_000} ms; killed`);
        }
        return { exitCode, stdout: out.text, stderr: err.text };
      } finally {
        clearTimeout(timer);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/** The slice of src/kube/exec.ts's execInPod the pod runner needs (bound to a connection by the caller). */
export type CliPodExec = (
  options: Pick<ExecOptions, "namespace" | "pod" | "container" | "command" | "stdin" | "timeoutMs" | "maxOutputBytes">,
) => Promise<ExecResult>;

export interface PodCliRunnerOptions {
  readonly exec: CliPodExec;
  readonly namespace: string;
  /** The long-lived CLI pod of this CAS (image `sconecli`, SCONE-INTERFACE §10.1 images). */
  readonly pod: string;
  readonly container?: string;
  /** CLI §1: `/opt/scone/bin/rust-cli` in the image [crate: pub/engine.rs]; `scone` on PATH also works. */
  readonly binary?: string;
  /** SCONE_CLI_CONFIG inside the pod (the owner state mounted there). */
  readonly configPath?: string;
  /** Where per-call directories go inside the pod (default /tmp). */
  readonly tempRoot?: string;
  readonly timeoutMs?: number;
  readonly maxStdoutBytes?: number;
}

/**
 * Runs the CLI in a CLI pod by exec, as the sconecli container does for kubectl-provision (SCONE-INTERFACE §10.2
 * step 10). Per call: `mkdir -m 700` a fresh random directory (fails if anything is there), each input by
 * `set -C; cat > path` with umask 077 (exclusive, 0600), then `env -u SCONE_CONFIG_ID SCONE_CLI_CONFIG=… <cli> …`,
 * then `rm -rf` of the directory. Environment values travel in the exec's argv, which servers echo in errors: they
 * must never be secrets (SCONE_CLI_CONFIG is a path).
 */
export class PodCliRunner implements CliRunner {
  readonly description: string;
  constructor(private readonly o: PodCliRunnerOptions) {
    this.description = `SCONE CLI in pod ${o.namespace}/${o.pod}`;
  }

  private exec(command: string[], stdin?: Uint8Array, maxOutputBytes?: number) {
    return this.o.exec({
      namespace: this.o.namespace,
      pod: this.o.pod,
      ...(this.o.container ? { container: this.o.container } : {}),
      command,
      ...(stdin ? { stdin } : {}),
      timeoutMs: this.o.timeoutMs ?? 600_000,
      maxOutputBytes: maxOutputBytes ?? 64 * 1024,
    });
  }

  run(argv: readonly CliArg[], env: Readonly<Record<string, string>>, files: readonly CliInputFile[]) {
    return this.runWithConfig(argv, env, files);
  }

  /** A (small) file in the pod; undefined when there is none. With `removeDir`, that directory goes afterwards. */
  async readFile(path: string, removeDir?: string): Promise<Uint8Array | undefined> {
    const r = await this.exec(
      [
        "sh",
        "-c",
        'if [ -f "$1" ]; then cat -- "$1"; rc=$?; else rc=3; fi; if [ -n "$2" ]; then rm -rf -- "$2"; fi; exit "$rc"',
        "sh",
        path,
        removeDir ?? "",
      ],
      undefined,
      MAX_CONFIG_BYTES,
    );
    if (r.exitCode === 3) return undefined;
    if (r.exitCode !== 0)
      throw new CliRunError(
        `${this.description}: reading ${path} failed (exit ${r.exitCode}): ${r.stderr.slice(0, 300).trim()}`,
      );
    return r.stdout;
  }

  /**
   * One call; with `config`, the caller's CLI config travels with it: written into the call's directory (when there
   * is one; the CLI creates a missing config), named by SCONE_CLI_CONFIG, and with `readBack` read back after the
   * call (`config` in the result: undefined when the CLI left none).
   */
  async runWithConfig(
    argv: readonly CliArg[],
    env: Readonly<Record<string, string>>,
    files: readonly CliInputFile[],
    config?: { readonly content: Uint8Array | undefined; readonly readBack: boolean },
  ): Promise<CliRunResult & { readonly config?: Uint8Array }> {
    checkFiles(files);
    if (config && files.some((f) => f.name === TRAVELLING_CONFIG))
      throw new CliRunError(`input file name ${TRAVELLING_CONFIG} is taken by the CLI config`);
    const dir = posix.join(this.o.tempRoot ?? "/tmp", `scone-cli-${randomBytes(12).toString("hex")}`);
    const configPath = config ? posix.join(dir, TRAVELLING_CONFIG) : this.o.configPath;
    const vars = cliEnvironment({}, env, configPath);
    const readBack = config?.readBack === true && configPath !== undefined;
    // Each exec costs a round trip through the API server and the kubelet (~50 ms): the directory is made by the
    // first step and removed by the last, and the last input travels with the CLI's own exec (its stdin), so a call
    // with at most one input is one exec.
    let made = false;
    let touched = false;
    let removed = false;
    try {
      const inputs = config?.content ? [{ name: TRAVELLING_CONFIG, content: config.content }, ...files] : files;
      const bytesOf = (f: CliInputFile) =>
        typeof f.content === "string" ? new TextEncoder().encode(f.content) : f.content;
      for (const f of inputs.slice(0, -1)) {
        touched = true;
        await this.upload(dir, posix.join(dir, f.name), f.name, bytesOf(f), made);
        made = true;
      }
      const last = inputs.at(-1);
      const lastBytes = last ? bytesOf(last) : undefined;
      const args = resolveArgs(argv, dir, files, posix.join);
      const assignments = Object.entries(vars).map(([k, v]) => `${k}=${v}`);
      const cli = ["env", "-u", "SCONE_CONFIG_ID", ...assignments, this.o.binary ?? "/opt/scone/bin/rust-cli", ...args];
      let r: ExecResult;
      for (let attempt = 1; ; attempt++) {
        touched = true;
        const input = last && lastBytes ? [posix.join(dir, last.name), String(lastBytes.length)] : ["", "0"];
        r = await this.exec(
          ["sh", "-c", RUN_SCRIPT, "sh", dir, made ? "old" : "new", readBack ? "keep" : "rm", ...input, ...cli],
          lastBytes,
          this.o.maxStdoutBytes ?? DEFAULT_MAX_STDOUT_BYTES,
        );
        // The script made the directory before anything else could fail: a retry finds it there.
        if (r.exitCode === RUNNER_FAILED && r.stderr.startsWith("scone-runner:"))
          made ||= !r.stderr.includes("cannot create");
        const short = r.exitCode === RUNNER_FAILED && r.stderr.startsWith(SHORT_INPUT);
        // The input arrived short (the exec stream ended stdin early, see upload): the CLI did not run; again.
        if (short && attempt < MAX_UPLOAD_ATTEMPTS) continue;
        if (short)
          throw new CliRunError(
            `${this.description}: writing ${last?.name} arrived short ${MAX_UPLOAD_ATTEMPTS} times`,
          );
        break;
      }
      if (r.exitCode === RUNNER_FAILED && r.stderr.startsWith("scone-runner:"))
        throw new CliRunError(`${this.description}: ${r.stderr.slice(0, 300).trim()}`);
      removed = !readBack;
      const result = {
        exitCode: r.exitCode,
        stdout: new TextDecoder().decode(r.stdout),
        stderr: r.stderr.slice(0, MAX_STDERR_BYTES),
      };
      if (!readBack || configPath === undefined) return result;
      // The config as the CLI left it; a missing file (the CLI failed before writing one) reads as none.
      const back = await this.readFile(configPath, dir);
      removed = true;
      return back === undefined ? result : { ...result, config: back };
    } finally {
      // Only when a step failed on the way. Best effort: a failed cleanup must not hide the command's outcome; the
      // names are random and private.
      if (touched && !removed) await this.exec(["rm", "-rf", "--", dir]).catch(() => undefined);
    }
  }

  /**
   * Writes one input: exclusively (set -C after removing what an earlier attempt left), 0600 by umask 077, then
   * checks the size written. A short file is written again: the exec stream has been seen (about one call in 40,
   * on the real node) to end stdin before all of it arrived, and a truncated session or config must never reach
   * the CLI.
   */
  private async upload(dir: string, path: string, name: string, bytes: Uint8Array, dirExists: boolean) {
    for (let attempt = 1; ; attempt++) {
      const mode = dirExists || attempt > 1 ? "old" : "new";
      const r = await this.exec(["sh", "-c", WRITE_SCRIPT, "sh", path, String(bytes.length), mode, dir], bytes);
      if (r.exitCode === 0) return;
      if (r.exitCode === SHORT_WRITE && attempt < MAX_UPLOAD_ATTEMPTS) continue;
      const what =
        r.exitCode === SHORT_WRITE ? `arrived short ${MAX_UPLOAD_ATTEMPTS} times` : `failed (exit ${r.exitCode})`;
      throw new CliRunError(`${this.description}: writing ${name} ${what}: ${r.stderr.slice(0, 300).trim()}`);
    }
  }
}

/** Exit code of the run script when it could not make the call's directory (stderr starts "scone-runner:"). */
const RUNNER_FAILED = 125;
/** Exit code of the write script when the file holds fewer bytes than were sent. */
const SHORT_WRITE = 97;
const MAX_UPLOAD_ATTEMPTS = 3;

/** $1 path, $2 size, $3 new|old (make the directory $4 first: mkdir fails if anything is there). */
const WRITE_SCRIPT = [
  "umask 077",
  'if [ "$3" = new ]; then mkdir -m 700 -- "$4" || exit 96; fi',
  'rm -f -- "$1"',
  "set -C",
  'cat > "$1" || exit 95',
  '[ "$(wc -c < "$1")" -eq "$2" ] || exit 97',
].join("\n");

/** stderr of the run script when its input arrived short (exit RUNNER_FAILED; the CLI did not run). */
const SHORT_INPUT = "scone-runner: input arrived short";

/**
 * $1 directory, $2 new|old, $3 rm|keep (remove the directory after the CLI), $4 a path for stdin ("" for none) and
 * $5 its size, then the CLI's argv. The input is written as by WRITE_SCRIPT (exclusive, 0600, size checked) before
 * the CLI runs, with stdin from /dev/null (CLI §1: never written). The script's own failures exit 125 with stderr
 * starting "scone-runner:"; the CLI's exit code and output pass unchanged.
 */
const RUN_SCRIPT = [
  'd="$1"; mk="$2"; clean="$3"; f="$4"; n="$5"; shift 5',
  'if [ "$mk" = new ]; then mkdir -m 700 -- "$d" || { echo "scone-runner: cannot create $d" >&2; exit 125; }; fi',
  'if [ -n "$f" ]; then',
  '  (umask 077 && rm -f -- "$f" && set -C && cat > "$f") || { echo "scone-runner: cannot write $f" >&2; exit 125; }',
  `  [ "$(wc -c < "$f")" -eq "$n" ] || { echo "${SHORT_INPUT}: $f" >&2; exit 125; }`,
  "fi",
  '"$@" < /dev/null',
  "rc=$?",
  'if [ "$clean" = rm ]; then rm -rf -- "$d"; fi',
  'exit "$rc"',
].join("\n");
