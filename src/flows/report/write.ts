// Where a `scone cas report` bundle goes and how it is written: a gzip-compressed tar (`tar xzf` opens it
// anywhere; support tools take it), one top directory NAME-report/, mode 0600. The path is checked before anything
// is read from the cluster; an existing file is refused unless --force, and without --force the final step is a
// hard link, which fails rather than replace a file that appeared meanwhile. The temp file beside the target is
// created O_EXCL 0600 (src/runtime/private-file.ts), so nobody else can read the bundle or plant the name.
import { link, lstat, rename, rm, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { createPrivateFile, privateTempPath } from "../../runtime/private-file.ts";
import type { BundleFile } from "./bundle.ts";

export { defaultReportFile, REPORT_SUFFIXES, reportFileProblem } from "./file-name.ts";

/** Checks the target before any cluster work: its directory exists, and it does not exist unless `force`. */
export async function checkReportTarget(path: string, force: boolean): Promise<string> {
  const absolute = resolve(path);
  const dir = dirname(absolute);
  const dirStat = await stat(dir).catch(() => undefined);
  if (!dirStat?.isDirectory()) throw new ReportPathError(`directory ${dir} of --file does not exist: create it first`);
  const existing = await lstat(absolute).catch(() => undefined);
  if (existing?.isDirectory()) throw new ReportPathError(`--file ${path} is a directory: name a file in it`);
  if (existing && !force)
    throw new ReportPathError(`${path} exists: pass --force to replace it, or name another --file`);
  return absolute;
}

export class ReportPathError extends Error {}

/** The archive's bytes: every file under `topDir/`. */
export async function archiveBytes(topDir: string, files: readonly BundleFile[]): Promise<Uint8Array> {
  const entries: Record<string, string> = {};
  for (const f of files) entries[`${topDir}/${f.path}`] = f.content;
  return new Bun.Archive(entries, { compress: "gzip" }).bytes();
}

export async function writeReportFile(absolute: string, bytes: Uint8Array, force: boolean): Promise<void> {
  const tmp = privateTempPath(absolute);
  await createPrivateFile(tmp, bytes);
  try {
    if (force) await rename(tmp, absolute);
    else {
      await link(tmp, absolute).catch((err: NodeJS.ErrnoException) => {
        throw err.code === "EEXIST"
          ? new ReportPathError(`${absolute} appeared meanwhile: pass --force to replace it`)
          : err;
      });
    }
  } finally {
    await rm(tmp, { force: true });
  }
}
