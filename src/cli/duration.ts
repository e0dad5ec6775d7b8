// Durations as flags take them: Go-style (`90s`, `5m`, `1h30m`, `500ms`, `1.5h`), plus `d` for days, plus — for
// compatibility with flags that once took whole seconds (`--timeout 600`) — a bare whole number meaning seconds.

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/** The duration in milliseconds (a whole number, more than zero); undefined when the text is not one. */
export function parseDuration(value: string): number | undefined {
  let ms: number;
  if (/^\d+$/.test(value)) ms = Number(value) * 1000;
  else if (DURATION.test(value)) {
    ms = 0;
    for (const [, amount, unit] of value.matchAll(PART)) ms += Number(amount) * (UNIT_MS[unit as string] as number);
  } else return undefined;
  ms = Math.round(ms);
  return ms > 0 && Number.isSafeInteger(ms) ? ms : undefined;
}

/** The message for a value that is not a duration, naming the flag and the accepted forms. */
export function durationProblem(flag: string, value: string): string | undefined {
  return parseDuration(value) === undefined
    ? `invalid value '${value}' for --${flag}: expected a duration such as 90s, 5m, 1h30m or 500ms (a bare number means seconds)`
    : undefined;
}

/** Whole seconds, rounded up (for APIs that count seconds); undefined when the text is not a duration. */
export function durationSeconds(value: string): number | undefined {
  const ms = parseDuration(value);
  return ms === undefined ? undefined : Math.ceil(ms / 1000);
}
