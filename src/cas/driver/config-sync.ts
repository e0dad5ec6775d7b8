// The SCONE CLI config (SCONE_CLI_CONFIG, CLI §7) is stateful: the identity and the attested CASes (`cas_db`). A call
// that writes it runs alone on it (two concurrent attests would each write their own copy; a reader could see half a
// file), calls that only read it run side by side, and a config that travels to a CLI pod and back is written
// locally only if nobody changed it meanwhile, atomically, 0600 in 0700.
import { chmod, mkdir, readFile, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { writePrivateFile } from "../../runtime/private-file.ts";
import type { CliArg } from "./commands.ts";

interface Waiter {
  readonly exclusive: boolean;
  readonly start: () => void;
}

interface Slot {
  active: number;
  exclusive: boolean;
  readonly queue: Waiter[];
}

/**
 * Tasks per key, in call order: an exclusive task runs alone; shared tasks run side by side, at most `maxShared` at
 * once. A task waits for every earlier one it cannot run with (first come, first served: a shared task behind a
 * waiting exclusive one waits too). A failing task frees its place like any other; other keys are not held up.
 */
export class KeyedGate {
  private readonly slots = new Map<string, Slot>();
  constructor(private readonly maxShared = Number.POSITIVE_INFINITY) {
    if (!(maxShared >= 1)) throw new RangeError(`maxShared must be at least 1, not ${maxShared}`);
  }

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    return this.enter(key, true, task);
  }

  runShared<T>(key: string, task: () => Promise<T>): Promise<T> {
    return this.enter(key, false, task);
  }

  /** Tasks of `key` running now (tests, figures). */
  active(key: string): number {
    return this.slots.get(key)?.active ?? 0;
  }

  /** Tasks of `key` waiting for their turn. */
  waiting(key: string): number {
    return this.slots.get(key)?.queue.length ?? 0;
  }

  private async enter<T>(key: string, exclusive: boolean, task: () => Promise<T>): Promise<T> {
    let slot = this.slots.get(key);
    if (!slot) {
      slot = { active: 0, exclusive: false, queue: [] };
      this.slots.set(key, slot);
    }
    const mine = slot;
    await new Promise<void>((start) => {
      mine.queue.push({ exclusive, start });
      this.grant(mine);
    });
    try {
      return await task();
    } finally {
      mine.active--;
      if (exclusive) mine.exclusive = false;
      this.grant(mine);
      // Forget the key once nothing runs or waits (keeps the map as small as the calls in flight).
      if (mine.active === 0 && mine.queue.length === 0 && this.slots.get(key) === mine) this.slots.delete(key);
    }
  }

  private grant(slot: Slot): void {
    for (let next = slot.queue[0]; next !== undefined && !slot.exclusive; next = slot.queue[0]) {
      if (next.exclusive ? slot.active > 0 : slot.active >= this.maxShared) return;
      slot.queue.shift();
      slot.active++;
      slot.exclusive = next.exclusive;
      next.start();
    }
  }
}

/** Runs the tasks given for one key one after another (in call order); other keys are not held up. */
export class KeyedMutex {
  private readonly gate = new KeyedGate(1);
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    return this.gate.run(key, task);
  }
}

/** CLI calls on one config at once (shared ones; each is a process, or an exec through the API server into a pod). */
export const MAX_CALLS_PER_CONFIG = 8;

/**
 * One process-wide gate per config file: every source and connection on the same path shares it. A call that may
 * write the config (changesConfig) runs alone; calls that only read it (the CLI reads it at start: session create,
 * read, show-identification, …) run side by side, at most MAX_CALLS_PER_CONFIG at once.
 */
export const CONFIG_LOCKS = new KeyedGate(MAX_CALLS_PER_CONFIG);
export const configLockKey = (path: string) => resolve(path);

/**
 * Whether a call may change the config: `cas attest`, `cas provision` and `cas set-default` write `cas_db` and
 * `default_cas` (CLI §3/§7); any call creates the config with a fresh identity when there is none (CLI §7).
 */
export function changesConfig(argv: readonly CliArg[], hadConfig: boolean): boolean {
  if (!hadConfig) return true;
  const words = argv.filter((a): a is string => typeof a === "string" && !a.startsWith("-"));
  return words[0] === "cas" && ["attest", "provision", "set-default"].includes(words[1] ?? "");
}

/** The local config changed while the CLI worked on its copy: not overwritten, the caller decides. */
export class ConfigChangedError extends Error {
  override readonly name = "ConfigChangedError";
  constructor(readonly path: string) {
    super(
      `SCONE CLI config ${path} was changed by another program while the CLI worked on its copy; the copy the CLI ` +
        "wrote was not saved. Run the command again (and run one SCONE client at a time on this config).",
    );
  }
}

export async function readIfExists(path: string): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

export function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/**
 * The directory a config lives in: created 0700 when missing (upstream's `<target>/identity`); an existing one
 * open to group or others is narrowed to 0700, since the file holds the private identity key.
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const s = await stat(dir);
  if (!s.isDirectory()) throw new Error(`${dir} is not a directory`);
  if ((s.mode & 0o077) !== 0) await chmod(dir, 0o700);
}

/**
 * Saves what the CLI wrote in its copy: only if the local file still holds `expected` (what was sent), through a
 * fresh 0600 file in the same directory renamed over the old one (a reader sees the old or the new config, whole).
 */
export async function writeBackConfig(path: string, expected: Uint8Array | undefined, next: Uint8Array): Promise<void> {
  const dir = dirname(path);
  await ensurePrivateDir(dir);
  if (!sameBytes(await readIfExists(path), expected)) throw new ConfigChangedError(path);
  await writePrivateFile(path, next);
}
