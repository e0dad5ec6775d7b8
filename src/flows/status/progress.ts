// How the day-2 commands show their steps on stderr while they run ("done", "skipped" with what was seen, "failed"),
// and the --timeout values they accept.
import type { StepRecord, StepsProgress } from "../steps.ts";

export function stepLine(record: StepRecord): string {
  const detail = record.detail ? (record.outcome === "failed" ? `: ${record.detail}` : ` (${record.detail})`) : "";
  return `  ${record.outcome.padEnd(8)} ${record.title}${detail}`;
}

export function printingProgress(write: (line: string) => void): StepsProgress {
  return { finish: (record) => write(stepLine(record)) };
}
