// The SCONE CLI config (SCONE_CLI_CONFIG, CLI §7) is stateful: the identity and the attested CASes (`cas_db`). Calls
// on one config run one at a time (two concurrent attests would each write their own copy), and a config that
// travels to a CLI pod and back is written locally only if nobody changed it meanwhile, atomically, 0600 in 0700.
import { chmod, mkdir, readFile, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { writePrivateFile } from "../../runtime/private-file.ts";
import type { CliArg } from "./commands.ts";

/** Runs the tasks given for one key one after another (in call order); other keys are not held up. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    const mine = before.then(task, task);
    const tail = mine.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await mine;
    } finally {
      // Forget the key once nothing waits behind this task (keeps the map as small as the calls in flight).
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

/** One process-wide lock per config file: every source and connection on the same path shares it. */
export const CONFIG_LOCKS = new KeyedMutex();
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
