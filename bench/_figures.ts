// The figures a bench reports for bench/run.ts's closing table: one `BENCH-FIGURE {json}` line each on stdout.
// A figure is scone's number next to a baseline measured in the same run, their ratio, and the target it is read
// against (issue 18). Benches print them; nothing asserts on them (speed targets are read by people).

export const FIGURE_LINE = "BENCH-FIGURE ";

export interface Target {
  /** "<=": smaller is better (a slowdown factor); ">=": larger is better (a share of the baseline's rate). */
  op: "<=" | ">=" | "<";
  value: number;
}

export interface Figure {
  figure: string;
  /** The baseline's measurement, with its unit ("-" when the figure is absolute). */
  baseline: string;
  scone: string;
  /** The number the target applies to: scone ÷ baseline, or the absolute value. */
  ratio: number;
  target?: Target;
}

export function met(figure: Figure): boolean | undefined {
  const t = figure.target;
  if (!t) return undefined;
  if (t.op === "<=") return figure.ratio <= t.value;
  if (t.op === "<") return figure.ratio < t.value;
  return figure.ratio >= t.value;
}

export function reportFigure(figure: Figure): void {
  console.log(`${FIGURE_LINE}${JSON.stringify(figure)}`);
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  if (s.length === 0) return Number.NaN;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** The figures a bench's output holds, in order; other lines are left alone. */
export function parseFigures(output: string): Figure[] {
  return output
    .split("\n")
    .filter((line) => line.startsWith(FIGURE_LINE))
    .map((line) => JSON.parse(line.slice(FIGURE_LINE.length)) as Figure);
}

export function renderTable(figures: readonly Figure[]): string {
  const rows = [
    ["figure", "baseline", "scone", "ratio", "target", "met"],
    ...figures.map((f) => {
      const ok = met(f);
      return [
        f.figure,
        f.baseline,
        f.scone,
        f.ratio.toFixed(2),
        f.target ? `${f.target.op} ${f.target.value}` : "-",
        ok === undefined ? "-" : ok ? "met" : "NOT met",
      ];
    }),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
