// The metric names a PromQL expression reads, without a full parser: what is left once strings, label matchers,
// ranges and grouping clauses are removed, minus function names (followed by "("), keywords and number suffixes.
// Enough for the expressions of rules.ts and dashboard.ts, which the tests also hand to Prometheus' own parser
// (test/integration/monitoring.test.ts compares the two on a live server).

const KEYWORDS = new Set([
  "and",
  "or",
  "unless",
  "bool",
  "offset",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "inf",
  "nan",
  "start",
  "end",
  "atan2",
]);

export function metricNamesOf(expr: string): Set<string> {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, " ")
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = m[0];
    const at = m.index ?? 0;
    // 5m, 1e3, 0x1f: the tail of a number or duration, not a name.
    if (at > 0 && /[0-9.]/.test(stripped[at - 1] ?? "")) continue;
    if (
      stripped
        .slice(at + word.length)
        .trimStart()
        .startsWith("(")
    )
      continue;
    if (KEYWORDS.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return names;
}
