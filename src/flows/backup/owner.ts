// Which process runs the backups of one CAS from this state directory: a small file holding its pid. The catalog row
// of a backup killed midway stays `running`; when the file names a process that no longer exists, the next backup
// gives that row up at once (the catalog's stale age, 30 min, is for processes that vanished without a trace).
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { writePrivateFile } from "../../runtime/private-file.ts";

export interface OwnerFile {
  readonly path: string;
  /** Writes this process's pid; the returned function removes the file again. */
  claim(): Promise<() => Promise<void>>;
}

export function ownerFile(stateDir: string, cas: { namespace: string; name: string }): OwnerFile {
  const path = join(stateDir, "backup-owners", `${cas.namespace}.${cas.name}.pid`);
  return {
    path,
    async claim() {
      await writePrivateFile(path, `${process.pid}\n`);
      return async () => {
        const text = await readFile(path, "utf8").catch(() => "");
        if (Number(text.trim()) === process.pid) await rm(path, { force: true });
      };
    },
  };
}

/** True when a pid is pure digits and names no live process. */
export function pidIsGone(pid: number, probe: (pid: number) => void = (p) => process.kill(p, 0)): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    probe(pid);
    return false;
  } catch (err) {
    return (err as { code?: string }).code === "ESRCH";
  }
}

/** The owner file names a process that is gone (a backup was killed midway). */
export async function ownerIsGone(owner: OwnerFile): Promise<boolean> {
  const text = await readFile(owner.path, "utf8").catch(() => undefined);
  if (text === undefined) return false;
  const pid = Number(text.trim());
  return pid !== process.pid && pidIsGone(pid);
}
