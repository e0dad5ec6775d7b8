// How the day-2 commands show their steps on stderr while they run: one line per finished step, in the format of
// `scone cas provision` ("✓ Title: detail (1.2s)", "· … (skipped, …)", "✗ …"), so scripts read both alike.
import type { StepRecord, StepsProgress } from "../steps.ts";

export function printingProgress(format: (record: StepRecord) => string, write: (line: string) => void): StepsProgress {
  return { finish: (record) => write(format(record)) };
}
