// How hard the parser fuzzers push. `make test` runs each property a bounded number of times with a fixed seed, so
// a failure reproduces; `make fuzz` raises the count. SCONE_FUZZ_RUNS and SCONE_FUZZ_SEED override both (a failure
// prints its seed and path: rerun with that seed to reproduce it).
import type { Parameters } from "fast-check";

export const DEFAULT_RUNS = 200;
const DEFAULT_SEED = 11;

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new Error(`${name}=${raw}: expected an integer`);
  return value;
}

/** fast-check parameters for one property; `weight` scales the run count for slow properties (e.g. crypto). */
export function fuzzParams<T>(weight = 1): Parameters<T> {
  const runs = Math.max(1, Math.round(intFromEnv("SCONE_FUZZ_RUNS", DEFAULT_RUNS) * weight));
  return { numRuns: runs, seed: intFromEnv("SCONE_FUZZ_SEED", DEFAULT_SEED), endOnFailure: true };
}

/** Runs `fn` and returns what it threw (undefined when it returned). */
export async function thrownBy(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
    return undefined;
  } catch (err) {
    return err;
  }
}
