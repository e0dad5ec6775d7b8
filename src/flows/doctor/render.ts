// The text of `scone doctor` (pure): the findings as a table, then what to do for each warning and failure, then
// the counts. `-o json|yaml` prints {findings, summary} instead (src/cli/run/doctor.ts).
import { renderTable } from "../../cli/table.ts";
import { type Finding, summary } from "./finding.ts";

export function renderDoctorText(findings: readonly Finding[]): string {
  let text = renderTable(
    ["CHECK", "STATUS", "MESSAGE"],
    findings.map((f) => [f.check, f.status.toUpperCase(), f.message]),
  );
  const fixes = findings.filter((f) => f.status !== "ok" && f.fix);
  if (fixes.length > 0) text += `\nWhat to do:\n${fixes.map((f) => `  ${f.check}: ${f.fix}`).join("\n")}\n`;
  const counts = summary(findings);
  return `${text}\n${counts.ok} ok, ${counts.warn} warnings, ${counts.fail} failed\n`;
}
