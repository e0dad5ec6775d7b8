// BackupTarget on a local directory. Files are written 0600 in 0700 directories, atomically (temp file with a random
// name created exclusively, fsync, rename): a crash leaves the old file or none, never half a file under the final
// name. Below the root no symbolic link is ever followed: others may write to a backup directory, and a planted
// link must not make a backup write, a restore read or a retention delete anything outside it.
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { lstat, mkdir, open, readdir, rename, rm, rmdir } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { createPrivateFile } from "../runtime/private-file.ts";
import { BackupInputError, BackupTargetError, messageOf } from "./errors.ts";
import { joinKey, MAX_SNAPSHOT_FILE_BYTES, unsafeKeyReason } from "./layout.ts";
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
    const temp = join(dir, `.${basename(path)}${TEMP_MARK}${randomBytes(16).toString("hex")}`);
    try {
      await mkdir(this.root, { recursive: true, mode: 0o700 });
      await this.directoriesOf(key, true);
      await createPrivateFile(temp, data);
      await rename(temp, path);
      await syncDir(dir);
    } catch (error) {
      await rm(temp, { force: true }).catch(() => {});
      if (error instanceof BackupTargetError) throw error;
      throw new BackupTargetError(`cannot write ${path}: ${messageOf(error)}`, errnoOf(error));
    }
  }

  async get(key: string, limit = MAX_SNAPSHOT_FILE_BYTES): Promise<Uint8Array | null> {
    const path = this.locationOf(key);
    if (!(await this.directoriesOf(key, false))) return null;
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      // O_NOFOLLOW: a link in place of a backup file is refused (ELOOP), not read through.
      handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (error) {
      const code = errnoOf(error);
      if (code === "ENOENT" || code === "ENOTDIR") return null;
      if (code === "ELOOP") throw linkError(path);
      throw new BackupTargetError(`cannot read ${path}: ${messageOf(error)}`, code);
    }
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw new BackupTargetError(`${path} is not a regular file`, "EINVAL");
      const buffer = new Uint8Array(Math.min(limit, info.size));
      let filled = 0;
      while (filled < buffer.length) {
        const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return buffer.subarray(0, filled);
    } catch (error) {
      if (error instanceof BackupTargetError) throw error;
      throw new BackupTargetError(`cannot read ${path}: ${messageOf(error)}`, errnoOf(error));
    } finally {
      await handle.close();
    }
  }

  async list(prefix: string): Promise<string[]> {
    const base = this.checkKey(prefix);
    const start = this.locationOf(base);
    if (base !== "" && !(await this.directoriesOf(joinKey(base, "-"), false))) return [];
    const keys: string[] = [];
    // Walked by hand: readdir's `recursive` and stat() would follow links to directories and files elsewhere.
    const walk = async (dir: string, rel: string): Promise<void> => {
      let entries: import("node:fs").Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        const code = errnoOf(error);
        if (code === "ENOENT" || code === "ENOTDIR") return;
        throw new BackupTargetError(`cannot list ${dir}: ${messageOf(error)}`, code);
      }
      for (const entry of entries) {
        const name = entry.name;
        const key = joinKey(rel, name);
        if (unsafeKeyReason(key) !== undefined) continue;
        if (entry.isDirectory()) await walk(join(dir, name), key);
        else if (entry.isFile() && !(name.startsWith(".") && name.includes(TEMP_MARK))) keys.push(key);
        // Symbolic links, sockets, devices: never a backup file, never followed.
      }
    };
    await walk(start, base);
    return keys.sort();
  }

  async delete(key: string): Promise<void> {
    const path = this.locationOf(key);
    if (key === "") throw new BackupInputError("key", "refusing to delete the root of a backup directory");
    if (!(await this.directoriesOf(key, false))) return;
    try {
      // Not recursive: a key names one file (or a link, which is removed itself, never what it points to).
      await rm(path, { force: true });
    } catch (error) {
      throw new BackupTargetError(`cannot delete ${path}: ${messageOf(error)}`, errnoOf(error));
    }
    // Leave no empty set directories behind (stop at the root; a non-empty parent ends the walk).
    const parts = key.split("/").slice(0, -1);
    while (parts.length > 0) {
      try {
        await rmdir(join(this.root, ...parts));
      } catch {
        break;
      }
      parts.pop();
    }
  }

  /**
   * Checks the directories between the root and the key's last segment: each must be a real directory, never a
   * link. `create`: missing ones are made (0700). Returns false when one is missing (and not created).
   */
  private async directoriesOf(key: string, create: boolean): Promise<boolean> {
    const parts = this.checkKey(key).split("/").slice(0, -1);
    let dir = this.root;
    for (const part of parts) {
      dir = join(dir, part);
      let info = await lstat(dir).catch((error: unknown) => {
        if (errnoOf(error) === "ENOENT") return undefined;
        throw new BackupTargetError(`cannot read ${dir}: ${messageOf(error)}`, errnoOf(error));
      });
      if (info === undefined) {
        if (!create) return false;
        await mkdir(dir, { mode: 0o700 }).catch((error: unknown) => {
          if (errnoOf(error) !== "EEXIST") throw error;
        });
        info = await lstat(dir);
      }
      if (info.isSymbolicLink()) throw linkError(dir);
      if (!info.isDirectory()) return false;
    }
    return true;
  }

  private checkKey(key: string): string {
    const k = key.replace(/^\/+|\/+$/g, "");
    const reason = unsafeKeyReason(k);
    if (reason !== undefined) {
      throw new BackupInputError("key", `backup key ${JSON.stringify(key.slice(0, 200))} ${reason}; refused`);
    }
    return k;
  }
}

function linkError(path: string): BackupTargetError {
  return new BackupTargetError(
    `${path} is a symbolic link; links inside a backup directory are never followed (remove it)`,
    "ELOOP",
  );
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
