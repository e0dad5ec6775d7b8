// Flags of `scone api` that may be given more than once (--s3-allow, --namespace). The command parser keeps only
// the last value of a flag, so these are read from the raw arguments: every occurrence counts, and a value may
// also list several entries separated by commas. Empty entries are kept so that the caller refuses them.
export function repeatedFlag(rawArgs: readonly string[], flag: string, alias?: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const arg = rawArgs[i] as string;
    if (arg === "--") break;
    let value: string | undefined;
    if (arg === `--${flag}` || (alias !== undefined && arg === `-${alias}`)) value = rawArgs[++i];
    else if (arg.startsWith(`--${flag}=`)) value = arg.slice(flag.length + 3);
    else if (alias !== undefined && arg.startsWith(`-${alias}`) && !arg.startsWith("--")) value = arg.slice(2);
    if (value === undefined) continue;
    values.push(...value.split(",").map((v) => v.trim()));
  }
  return values;
}
