// The CAS console (the log of container `cas` of NAME-0): the lines holding `CAS key hash` and `CAS provisioning
// token`, value = the last whitespace-separated field (SCONE-INTERFACE §3.3, §10.2 step 7: what `kubectl provision`
// reads). Shared by provisioning and the operator's probe.

/** The last field of the first console line naming `label`; undefined when no line holds a value after it. */
export function consoleField(log: string, label: string): string | undefined {
  const line = log.split("\n").find((l) => l.includes(label));
  const field = line?.trim().split(/\s+/).at(-1);
  return field && field !== label.split(" ").at(-1) ? field : undefined;
}
