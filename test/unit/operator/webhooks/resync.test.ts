// One check at a time: a request during a run gets exactly one more run; after stop nothing runs again.
import { describe, expect, test } from "bun:test";
import { Resync } from "../../../../src/operator/webhooks/resync.ts";

/** A run that waits until released, counting its starts. */
function gatedRun() {
  let runs = 0;
  let release: () => void = () => {};
  const run = () => {
    runs++;
    return new Promise<void>((resolve) => {
      release = resolve;
    });
  };
  return { run, runs: () => runs, release: () => release() };
}

describe("Resync", () => {
  test("requests during a run cause exactly one more run, and all of them resolve when it is done", async () => {
    const g = gatedRun();
    const delays: number[] = [];
    const r = new Resync(g.run, () => {
      delays.push(1);
      return 3_600_000;
    });
    const first = r.trigger();
    const second = r.trigger();
    const third = r.trigger();
    expect(g.runs()).toBe(1);
    g.release();
    await Bun.sleep(0);
    expect(g.runs()).toBe(2);
    g.release();
    await Promise.all([first, second, third]);
    expect(g.runs()).toBe(2);
    expect(delays).toHaveLength(1); // scheduled once, after the series
    await r.stop();
  });

  test("the timer runs again after the computed delay; stop waits for the current run and ends the timer", async () => {
    let runs = 0;
    const third = Promise.withResolvers<void>();
    const r = new Resync(
      async () => {
        runs++;
        if (runs === 3) third.resolve();
      },
      () => 0,
    );
    await r.trigger();
    await third.promise; // two runs came from the timer alone
    await r.stop();
    expect(runs).toBe(3);
    // The delay is 0 ms: a timer still set would have fired within two timer turns.
    for (let i = 0; i < 2; i++) await new Promise((resolve) => setTimeout(resolve, 0));
    expect(runs).toBe(3);
    expect(r.isStopped).toBe(true);
  });

  test("a run that throws still lets the next trigger run", async () => {
    let calls = 0;
    const r = new Resync(
      async () => {
        calls++;
        if (calls === 1) throw new Error("boom");
      },
      () => 3_600_000,
    );
    await expect(r.trigger()).rejects.toThrow("boom");
    await r.trigger();
    expect(calls).toBe(2);
    await r.stop();
  });
});
