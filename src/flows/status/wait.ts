// Polling until the world reaches a state (CAS HEALTHY, pod on another node, ...). The check returns either the value
// it waited for or a sentence saying what it sees instead, so a timeout tells the user where things stand.
export interface WaitOptions {
  readonly timeoutMs: number;
  readonly pollMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

export type Observed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly seen: string };

export const reached = <T>(value: T): Observed<T> => ({ ok: true, value });
export const notYet = (seen: string): Observed<never> => ({ ok: false, seen });

export class WaitTimeoutError extends Error {
  override readonly name = "WaitTimeoutError";
}

/** Polls `check` until it reports the state; throws WaitTimeoutError naming `what` and the last observation. */
export async function waitUntil<T>(what: string, check: () => Promise<Observed<T>>, options: WaitOptions): Promise<T> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? Bun.sleep;
  const deadline = now() + options.timeoutMs;
  for (;;) {
    const observed = await check();
    if (observed.ok) return observed.value;
    if (now() >= deadline) {
      throw new WaitTimeoutError(
        `timed out after ${Math.round(options.timeoutMs / 1000)} s waiting for ${what}: ${observed.seen}`,
      );
    }
    await sleep(options.pollMs ?? 1000);
  }
}
