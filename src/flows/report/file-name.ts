// The name of a `scone cas report` bundle: the --file check and the default name. No imports: the command tree
// loads this at every start (flag checks run before any implementation), so it stays free.

export const REPORT_SUFFIXES = [".tar.gz", ".tgz"] as const;

/** The flag check for --file (pure): names the flag and the fix. */
export function reportFileProblem(value: string): string | undefined {
  if (value === "" || value.includes("\0")) return `invalid value for --file: expected a file name`;
  if (value.endsWith("/"))
    return `invalid value '${value}' for --file: a directory; name the file, e.g. ${value}report.tar.gz`;
  if (!REPORT_SUFFIXES.some((s) => value.endsWith(s)))
    return `invalid value '${value}' for --file: the bundle is a gzip-compressed tar, name it *.tar.gz or *.tgz`;
  return undefined;
}

/** `NAME-report-20261207T123000Z.tar.gz` (UTC, seconds). */
export function defaultReportFile(name: string, now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `${name}-report-${stamp}.tar.gz`;
}
