// BackupTarget on a local directory. Files are written 0600 in 0700 directories, atomically (temp file, fsync,
// rename): a crash leaves the old file or none, never half a file under the final name.
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm, rmdir } from "node:fs/promises";
import { basename, dirname, join, sep } from "node:path";
import { BackupInputError, BackupTargetError, messageOf } from "./errors.ts";
import { joinKey } from "./layout.ts";
import type { BackupTarget } from "./target.ts";

const TEMP_MARK = ".tmp-";

function errnoOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

export class LocalDirectoryTarget implements BackupTarget {
  constructor(readonly root: string) {}

  get location(): string {
    return this.root;
  }

  locationOf(key: string): string {
    const k = this.checkKey(key);
    return k === "" ? this.root : join(this.root, ...k.split("/"));
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    const path = this.locationOf(key);
    const dir = dirname(path);
    const temp = join(dir, `.${basename(path)}${TEMP_MARK}${randomBytes(4).toString("hex")}`);
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const handle = await open(temp, "wx", 0o600);
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, path);
      await syncDir(dir);
    } catch (error) {
      await rm(temp, { force: true }).catch(() => {});
      throw new BackupTargetError(`cannot write ${path}: ${messageOf(error)}`, errnoOf(error));
    }
  }

  async get(key: string): Promise<Uint8Array | null> {
    const path = this.locationOf(key);
    try {
      return new Uint8Array(await readFile(path));
    } catch (error) {
      const code = errnoOf(error);
      if (code === "ENOENT" || code === "ENOTDIR") return null;
      throw new BackupTargetError(`cannot read ${path}: ${messageOf(error)}`, code);
    }
  }

  async list(prefix: string): Promise<string[]> {
    const base = this.checkKey(prefix);
    const start = this.locationOf(base);
    let entries: string[];
    try {
      entries = await readdir(start, { recursive: true });
    } catch (error) {
      const code = errnoOf(error);
      if (code === "ENOENT" || code === "ENOTDIR") return [];
      throw new BackupTargetError(`cannot list ${start}: ${messageOf(error)}`, code);
    }
    const keys: string[] = [];
    for (const entry of entries) {
      const rel = entry.split(sep).join("/");
      const leaf = rel.slice(rel.lastIndexOf("/") + 1);
      if (leaf.startsWith(".") && leaf.includes(TEMP_MARK)) continue; // a write in progress (or a crashed one)
      const path = join(start, entry);
      const isFile = await Bun.file(path)
        .stat()
        .then((s) => s.isFile())
        .catch(() => false);
      if (isFile) keys.push(joinKey(base, rel));
    }
    return keys.sort();
  }

  async delete(key: string): Promise<void> {
    const path = this.locationOf(key);
    try {
      await rm(path, { force: true });
    } catch (error) {
      throw new BackupTargetError(`cannot delete ${path}: ${messageOf(error)}`, errnoOf(error));
    }
    // Leave no empty set directories behind (stop at the root; a non-empty parent ends the walk).
    let dir = dirname(path);
    while (dir.startsWith(this.root + sep)) {
      try {
        await rmdir(dir);
      } catch {
        break;
      }
      dir = dirname(dir);
    }
  }

  private checkKey(key: string): string {
    const k = joinKey(key);
    if (k.split("/").some((s) => s === "." || s === "..") || key.includes("\0")) {
      throw new BackupInputError("key", `backup key "${key}" must not contain "." or ".." segments`);
    }
    return k;
  }
}

/** fsync of the directory makes the rename itself durable (ext4 and others may otherwise lose it on power loss). */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic.
  } finally {
    await handle.close();
  }
}
