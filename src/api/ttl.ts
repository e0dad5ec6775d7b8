// Token lifetimes as people write them: 90s, 30m, 12h, 7d, 2w. One number and one unit, nothing else.
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
/** Long enough for any real token; stops typos such as 70000d from meaning "forever". */
export const MAX_TTL_MS = 366 * UNIT_MS.d;

export class TtlError extends Error {
  override readonly name = "TtlError";
}

export function parseTtl(text: string, field = "ttl"): number {
  const m = /^(\d{1,9})([smhdw])$/.exec(text.trim());
  const unit = m?.[2] as keyof typeof UNIT_MS | undefined;
  if (!m || unit === undefined) {
    throw new TtlError(`${field} "${text}" is invalid: write a number and a unit (s, m, h, d, w), e.g. 30m, 12h or 7d`);
  }
  const ms = Number(m[1]) * UNIT_MS[unit];
  if (ms <= 0) throw new TtlError(`${field} "${text}" is invalid: it must be longer than zero`);
  if (ms > MAX_TTL_MS) throw new TtlError(`${field} "${text}" is too long: at most 366d`);
  return ms;
}
