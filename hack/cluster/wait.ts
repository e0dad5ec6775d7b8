// Waiting on a started process group's readiness: poll a check, fail fast with the log of a watched process that
// exits meanwhile, and with every watched log's tail at the deadline. Used by the control plane and the real node.
import { isRunning, logTail, type ProcessRecord } from "./process.ts";

/** A final answer inside a check (a request refused as invalid): ends the wait instead of asking again. */
export class HarnessError extends Error {}

export interface Watched {
  readonly name: string;
  readonly record: ProcessRecord | undefined;
  readonly logFile: string;
}

export async function waitForReady(
  what: string,
  deadline: number,
  check: () => Promise<boolean>,
  watched: () => readonly Watched[],
  tailLines = 10,
): Promise<void> {
  for (;;) {
    const ok = await check().catch((error: unknown) => {
      if (error instanceof HarnessError) throw error;
      return false; // not up yet, a timeout under load: asked again
    });
    // Checked after the probe too: an answer while a watched process is exiting (e.g. it lost its port to
    // another server, which answered instead) is not the readiness asked for.
    for (const { name, record, logFile } of watched()) {
      if (record && !isRunning(record)) {
        throw new Error(
          `${name} exited while waiting for ${what}; last lines of ${logFile}:\n${await logTail(logFile)}`,
        );
      }
    }
    if (ok) return;
    if (Date.now() > deadline) {
      const tails = await Promise.all(
        watched().map(async ({ logFile }) => `--- ${logFile}\n${await logTail(logFile, tailLines)}`),
      );
      throw new Error(`timed out waiting for ${what}\n${tails.join("\n")}`);
    }
    await Bun.sleep(150);
  }
}
