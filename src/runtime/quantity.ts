// Kubernetes quantities in the API server's canonical form ("0.5" → "500m", "1024Mi" → "1Gi"), so a rendered
// object compares equal to what the server stores and a steady state is not re-applied on every reconcile.
// Follows apimachinery's CanonicalizeBytes for the decimal-SI and binary-SI forms; exponent forms ("1e3") and
// anything unparsable are returned unchanged (the server then reports a clear error).

const DECIMAL = ["n", "u", "m", "", "k", "M", "G", "T", "P", "E"] as const; // 10^-9 … 10^18
const DECIMAL_EXP: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"] as const;
const NANO = 10n ** 9n;

/** Value × 10^9 as a BigInt, rounded up (the API server keeps nano precision and rounds up below it). */
function toNano(digits: string, suffixScale: bigint, suffixExp10: number): bigint | undefined {
  const m = /^(\d*)(?:\.(\d*))?$/.exec(digits);
  if (!m || (m[1] === "" && (m[2] ?? "") === "")) return undefined;
  const frac = m[2] ?? "";
  const mantissa = BigInt(`${m[1] || "0"}${frac}`) * suffixScale;
  const exp = suffixExp10 + 9 - frac.length; // value × 10^9 = mantissa × 10^exp
  if (exp >= 0) return mantissa * 10n ** BigInt(exp);
  const div = 10n ** BigInt(-exp);
  return (mantissa + div - 1n) / div;
}

function formatDecimal(nano: bigint): string {
  let e = -9;
  let v = nano;
  while (e < 18 && v !== 0n && v % 1000n === 0n) {
    v /= 1000n;
    e += 3;
  }
  return `${v}${DECIMAL[(e + 9) / 3]}`;
}

export function canonicalQuantity(q: string): string {
  const m = /^([+-]?)(\d*\.?\d*)([a-zA-Z]*)$/.exec(q.trim());
  if (!m) return q;
  const [, sign = "", digits = "", suffix = ""] = m;
  const binIndex = BINARY.indexOf(suffix as (typeof BINARY)[number]);
  let nano: bigint | undefined;
  let binary = false;
  if (suffix !== "" && binIndex > 0) {
    nano = toNano(digits, 1024n ** BigInt(binIndex), 0);
    binary = true;
  } else if (suffix in DECIMAL_EXP) {
    nano = toNano(digits, 1n, DECIMAL_EXP[suffix] ?? 0);
  }
  if (nano === undefined) return q;
  if (nano === 0n) return "0";
  const neg = sign === "-" ? "-" : "";
  // Binary values keep the binary form only when whole and at least 1Ki.
  if (binary && nano % NANO === 0n && nano >= 1024n * NANO) {
    let v = nano / NANO;
    let i = 0;
    while (i < BINARY.length - 1 && v % 1024n === 0n) {
      v /= 1024n;
      i++;
    }
    return `${neg}${v}${BINARY[i]}`;
  }
  return `${neg}${formatDecimal(nano)}`;
}

type QuantityMap = Record<string, string | number> | undefined;

/** resources with every string quantity in canonical form (numbers are left as they are). */
export function canonicalResources<R extends { limits?: QuantityMap; requests?: QuantityMap }>(r: R): R {
  const fix = (m: QuantityMap) =>
    m && Object.fromEntries(Object.entries(m).map(([k, v]) => [k, typeof v === "string" ? canonicalQuantity(v) : v]));
  return {
    ...r,
    ...(r.limits ? { limits: fix(r.limits) } : {}),
    ...(r.requests ? { requests: fix(r.requests) } : {}),
  };
}
