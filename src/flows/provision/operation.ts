// The provisioning flow as a long-running operation of the REST API (src/api/operations): each step with an effect
// goes through the operation's `report.step` (recorded in the store, skipped once recorded done), and still checks
// `done` first — a step interrupted by a crash may have taken effect before the store heard of it. Steps that only
// observe run every time: later steps need what they read (the CAS key hash, the attestation).
// The report's shape is declared here structurally, so the flows do not depend on the API.
import { ProvisionContext, type ProvisionPorts } from "./context.ts";
import { targetFiles } from "./files.ts";
import { stepsFor } from "./flow.ts";
import type { ProvisionOptions } from "./options.ts";
import { ProvisionError } from "./steps.ts";

export interface OperationStepReport {
  step(
    name: string,
    run: (ctx: { readonly interrupted: boolean; readonly signal: AbortSignal }) => Promise<void>,
  ): Promise<void>;
  readonly signal: AbortSignal;
}

/** What the operation's `result` records: the public keys of the CAS, nothing secret. */
export interface ProvisionOperationResult {
  [key: string]: string;
  casKey: string;
}

export async function runProvisionOperation(
  options: ProvisionOptions,
  ports: ProvisionPorts,
  report: OperationStepReport,
): Promise<ProvisionOperationResult | undefined> {
  if (options.mode !== "provision" && options.mode !== "postprovision-only") {
    throw new ProvisionError(`an operation runs provision or postprovision-only, not ${options.mode}`);
  }
  const ctx = new ProvisionContext(options, targetFiles(options.target, options), ports);
  try {
    for (const step of stepsFor(options)) {
      if (report.signal.aborted) throw new ProvisionError("provisioning stopped (the operation resumes later)");
      if (step.observes) {
        await step.run(ctx);
        continue;
      }
      await report.step(step.name, async () => {
        if ((await step.done(ctx)) !== false) return;
        await step.run(ctx);
      });
    }
    const keys = ctx.publicKeys();
    return keys
      ? {
          casKey: keys.casKey,
          ...(keys.softwareKey ? { softwareKey: keys.softwareKey } : {}),
          ...(keys.nonce ? { nonce: keys.nonce } : {}),
        }
      : undefined;
  } finally {
    await ctx.close();
  }
}
