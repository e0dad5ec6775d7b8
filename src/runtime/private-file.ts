// Writing files that may hold secrets (keys, tokens, identities, journals): never readable by others, never through
// a name someone else could have planted. The text goes to a temp file beside the target, created exclusively
// (O_CREAT|O_EXCL: an existing file or symlink there is an error, not followed) with mode 0600 and a random name,
// then renamed over the target, so readers see the old or the new file, never half of one.
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** A temp name beside `path` nobody can predict: `.<name>.<16 hex>.tmp`. */
export function privateTempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(8).toString("hex")}.tmp`);
}

/**
 * Creates `path` exclusively (O_CREAT|O_EXCL: whatever is there, a link too, is an error) with mode 0600 and writes
 * `content` to disk (fsync). A failed write removes the file it created; a failed create leaves the name alone.
 */
export async function createPrivateFile(path: string, content: string | Uint8Array): Promise<void> {
  const handle = await open(path, "wx", 0o600);
  try {
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    await rm(path, { force: true });
    throw err;
  }
}

/** Writes `content` to `path` atomically with mode 0600; missing directories are created 0700. */
export async function writePrivateFile(path: string, content: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = privateTempPath(path);
  await createPrivateFile(tmp, content);
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * writePrivateFile for synchronous callers (e.g. inside a database transaction); the directory must exist (a
 * file named on the command line goes where its owner said, or nowhere).
 */
export function writePrivateFileSync(path: string, content: string | Uint8Array): void {
  const tmp = privateTempPath(path);
  const fd = openSync(tmp, "wx", 0o600);
  try {
    try {
      writeFileSync(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
