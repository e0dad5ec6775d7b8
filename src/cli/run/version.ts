// `scone version [-o text|json|yaml]`.
import { SCONE_COMMIT, SCONE_VERSION } from "../../version.ts";
import type { SconeContext } from "../spec.ts";
import { writeStdout } from "../stdout.ts";

export function versionInfo(): { version: string; commit: string; bun: string } {
  return { version: SCONE_VERSION, commit: SCONE_COMMIT, bun: Bun.version };
}

export function renderVersion(output: string | undefined): string {
  const info = versionInfo();
  if (output === "json") return `${JSON.stringify(info)}\n`;
  return `scone ${info.version} (commit ${info.commit}, bun ${info.bun})\n`;
}

export async function run(ctx: SconeContext): Promise<void> {
  const output = ctx.args.output;
  // yaml is loaded only when asked for: `scone version` stays the lightest start-up path.
  if (output === "yaml") {
    const { renderData } = await import("../output.ts");
    writeStdout(renderData(output, versionInfo()));
    return;
  }
  writeStdout(renderVersion(typeof output === "string" ? output : undefined));
}
