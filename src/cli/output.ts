// `-o text|json|yaml`: json and yaml serialize the same object (the one `-o json` always printed); text is each
// command's own rendering. Imported by command implementations only (loaded lazily), so yaml costs no start-up time.
import { stringify } from "yaml";

export type DataFormat = "json" | "yaml";

/** Whether the user asked for data (json or yaml) rather than text. */
export function isData(format: unknown): format is DataFormat {
  return format === "json" || format === "yaml";
}

export function renderData(format: DataFormat, data: unknown): string {
  return format === "json" ? `${JSON.stringify(data, null, 2)}\n` : stringify(data, { lineWidth: 0 });
}
