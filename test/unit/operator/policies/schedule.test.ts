// The submission scheduler of the policy controllers: one session's submissions in turn and in call order, at most
// `perCas` per CAS at once, other CASes not held up, a failure only its own.
import { describe, expect, test } from "bun:test";
import { SubmissionScheduler } from "../../../../src/operator/policies/schedule.ts";

/** Tasks that record start/end and finish when released. */
function harness() {
  const events: string[] = [];
  const ends = new Map<string, (fail: boolean) => void>();
  const task = (name: string) => async () => {
    events.push(`${name}+`);
    const fail = await new Promise<boolean>((r) => ends.set(name, r));
    events.push(`${name}-`);
    if (fail) throw new Error(`${name} refused`);
    return name;
  };
  const settle = async () => {
    for (let i = 0; i < 20; i++) await Promise.resolve();
  };
  const end = async (name: string, fail = false) => {
    await settle();
    const f = ends.get(name);
    if (!f) throw new Error(`${name} is not running`);
    f(fail);
    await settle();
  };
  return { events, task, settle, end };
}

describe("SubmissionScheduler", () => {
  test("one session's submissions never overlap and run in the order they asked", async () => {
    const s = new SubmissionScheduler(8);
    const h = harness();
    const runs = [
      s.run("ns/cas", "app", h.task("v1")),
      s.run("ns/cas", "app", h.task("v2")),
      s.run("ns/cas", "other", h.task("o")),
      s.run("ns/cas", "app", h.task("v3")),
    ];
    await h.settle();
    expect(h.events).toEqual(["v1+", "o+"]);
    await h.end("v1");
    expect(h.events).toEqual(["v1+", "o+", "v1-", "v2+"]);
    await h.end("v2");
    await h.end("v3");
    await h.end("o");
    expect(await Promise.all(runs)).toEqual(["v1", "v2", "o", "v3"]);
    // Same session name at another CAS is another session.
    const other = new SubmissionScheduler(8);
    const h2 = harness();
    const both = [other.run("ns/a", "app", h2.task("a")), other.run("ns/b", "app", h2.task("b"))];
    await h2.settle();
    expect(h2.events).toEqual(["a+", "b+"]);
    await h2.end("a");
    await h2.end("b");
    await Promise.all(both);
  });

  test("at most perCas submissions per CAS at once; another CAS is not held up", async () => {
    const s = new SubmissionScheduler(2);
    const h = harness();
    const runs = [
      s.run("ns/cas", "s1", h.task("1")),
      s.run("ns/cas", "s2", h.task("2")),
      s.run("ns/cas", undefined, h.task("3")),
      s.run("ns/other", "s1", h.task("x")),
    ];
    await h.settle();
    expect(h.events).toEqual(["1+", "2+", "x+"]);
    expect(s.running("ns/cas")).toBe(2);
    await h.end("2");
    expect(h.events.slice(-2)).toEqual(["2-", "3+"]);
    expect(s.running("ns/cas")).toBe(2);
    await h.end("1");
    await h.end("3");
    await h.end("x");
    expect(await Promise.all(runs)).toEqual(["1", "2", "3", "x"]);
    expect(s.running("ns/cas")).toBe(0);
  });

  test("a submission waiting for its session holds no CAS slot", async () => {
    const s = new SubmissionScheduler(2);
    const h = harness();
    const runs = [
      s.run("ns/cas", "app", h.task("v1")),
      s.run("ns/cas", "app", h.task("v2")),
      s.run("ns/cas", "other", h.task("o")),
    ];
    await h.settle();
    // v2 waits for v1 (its session) without taking the second slot: o has it.
    expect(h.events).toEqual(["v1+", "o+"]);
    expect(s.running("ns/cas")).toBe(2);
    await h.end("o");
    expect(h.events).toEqual(["v1+", "o+", "o-"]);
    await h.end("v1");
    expect(h.events.slice(-1)).toEqual(["v2+"]);
    await h.end("v2");
    await Promise.all(runs);
  });

  test("a failing submission fails alone: the next of its session and the others run and succeed", async () => {
    const s = new SubmissionScheduler(2);
    const h = harness();
    const v1 = s.run("ns/cas", "app", h.task("v1"));
    const v2 = s.run("ns/cas", "app", h.task("v2"));
    const o = s.run("ns/cas", "other", h.task("o"));
    await h.end("v1", true);
    await expect(v1).rejects.toThrow("v1 refused");
    await h.end("v2");
    await h.end("o");
    expect(await v2).toBe("v2");
    expect(await o).toBe("o");
  });

  test("a bound that is not a whole number of at least one is refused", () => {
    expect(() => new SubmissionScheduler(0)).toThrow(/at least 1/);
    expect(() => new SubmissionScheduler(1.5)).toThrow(/whole number/);
  });
});
