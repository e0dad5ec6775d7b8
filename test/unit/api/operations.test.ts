// Long-running operations: POST → 202 + Location → GET, validation, 501 for kinds without a runner, one
// unfinished operation per target, and the restart rule (resume, never repeat a finished step).

import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OperationExecutor } from "../../../src/api/operations/executor.ts";
import { sqliteOperationRecords } from "../../../src/api/operations/records.ts";
import type { OperationRunner, StepContext } from "../../../src/api/operations/runner.ts";
import { openStore } from "../../../src/store/open.ts";
import { createOperation, getOperation } from "../../../src/store/operations.ts";
import { problemOf, quietLog, type TestApi, testApi } from "./helpers.ts";

interface Op {
  id: string;
  kind: string;
  phase: string;
  stepsDone: string[];
  currentStep: string | null;
  params: Record<string, unknown>;
  error: string | null;
  result: Record<string, unknown> | null;
  createdBy: string;
}

let api: TestApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

/** Runs steps a, b, c; counts every execution of each step and what it was told about interruption. */
function countingRunner(hooks: { duringB?: (ctx: StepContext) => Promise<void> } = {}) {
  const runs: string[] = [];
  const runner: OperationRunner = {
    async run(op, report) {
      await report.step("a", async () => void runs.push("a"));
      await report.step("b", async (ctx) => {
        runs.push(ctx.interrupted ? "b (interrupted before)" : "b");
        await hooks.duringB?.(ctx);
      });
      await report.step("c", async () => void runs.push("c"));
      return { target: `${op.namespace}/${op.name}` };
    },
  };
  return { runs, runner };
}

describe("operations routes", () => {
  test("POST answers 202 with Location; GET follows it to the result", async () => {
    const { runs, runner } = countingRunner();
    api = testApi({ runners: { upgrade: runner } });
    const res = await api.request("/api/v1/operations", {
      token: api.tokens.operate,
      method: "POST",
      body: { kind: "upgrade", namespace: "prod", name: "cas", params: { to: "6.0.6" } },
    });
    expect(res.status).toBe(202);
    const location = res.headers.get("location") ?? "";
    const accepted = (await res.json()) as Op;
    expect(location).toBe(`/api/v1/operations/${accepted.id}`);
    expect(accepted.params).toEqual({ to: "6.0.6", force: false });
    expect(accepted.createdBy).toBe("t-operate");
    await api.executor.idle();
    const done = (await (await api.request(location, { token: api.tokens.read })).json()) as Op;
    expect(done).toMatchObject({ phase: "succeeded", stepsDone: ["a", "b", "c"], currentStep: null, error: null });
    expect(done.result).toEqual({ target: "prod/cas" });
    expect(runs).toEqual(["a", "b", "c"]);
    const list = (await (await api.request("/api/v1/operations?kind=upgrade", { token: api.tokens.read })).json()) as {
      items: Op[];
    };
    expect(list.items.map((o) => o.id)).toEqual([accepted.id]);
  });

  test("provision params get their defaults; secrets are passed as Secret references, which the store accepts", async () => {
    api = testApi({ runners: { provision: { run: async () => undefined } } });
    const res = await api.request("/api/v1/operations", {
      token: api.tokens.operate,
      method: "POST",
      body: {
        kind: "provision",
        namespace: "prod",
        name: "cas",
        params: { version: "6.0.6", dcapKeyRef: { name: "dcap", key: "apiKey" } },
      },
    });
    expect(res.status).toBe(202);
    expect(((await res.json()) as Op).params).toEqual({
      version: "6.0.6",
      backup: true,
      dcapKeyRef: { name: "dcap", key: "apiKey" },
    });
    // A clear key in params is refused by the schema (strict) before it could be stored.
    const clear = await api.request("/api/v1/operations", {
      token: api.tokens.operate,
      method: "POST",
      body: { kind: "provision", namespace: "prod", name: "cas2", params: { dcapApiKey: "0123" } },
    });
    expect(clear.status).toBe(400);
    expect((await problemOf(clear)).errors?.[0]?.field).toStartWith("body.params");
  });

  test("a failing runner fails the operation with its message only", async () => {
    api = testApi({
      runners: {
        backup: {
          async run(_op, report) {
            await report.step("snapshot", async () => {
              throw new Error("CAS refused the snapshot");
            });
            return undefined;
          },
        },
      },
    });
    const res = await api.request("/api/v1/operations", {
      token: api.tokens.operate,
      method: "POST",
      body: { kind: "backup", namespace: "prod", name: "cas" },
    });
    const { id } = (await res.json()) as Op;
    await api.executor.idle();
    const op = (await (await api.request(`/api/v1/operations/${id}`, { token: api.tokens.read })).json()) as Op;
    expect(op.phase).toBe("failed");
    expect(op.error).toBe("CAS refused the snapshot");
  });

  test("a runner that swallows a step's error cannot succeed: the operation fails naming the open step", async () => {
    api = testApi({
      runners: {
        evict: {
          async run(_op, report) {
            await report
              .step("drain", async () => {
                throw new Error("node busy");
              })
              .catch(() => {});
            return { moved: true };
          },
        },
      },
    });
    const res = await api.request("/api/v1/operations", {
      token: api.tokens.operate,
      method: "POST",
      body: { kind: "evict", namespace: "prod", name: "cas" },
    });
    const { id } = (await res.json()) as Op;
    await api.executor.idle();
    const op = (await (await api.request(`/api/v1/operations/${id}`, { token: api.tokens.read })).json()) as Op;
    expect(op.phase).toBe("failed");
    expect(op.error).toContain('step "drain" is still in progress');
  });

  test("params are validated per kind with field paths; kinds without a runner are 501", async () => {
    api = testApi({ runners: { upgrade: countingRunner().runner } });
    const post = (body: unknown) =>
      api?.request("/api/v1/operations", { token: api.tokens.operate, method: "POST", body });
    const fields = async (body: unknown) => {
      const res = await post(body);
      if (!res) throw new Error("no api");
      return (await problemOf(res)).errors?.map((e) => e.field);
    };
    expect(await fields({ kind: "upgrade", namespace: "prod", name: "cas", params: { to: "latest" } })).toEqual([
      "body.params.to",
    ]);
    expect(await fields({ kind: "upgrade", namespace: "prod", name: "cas", params: {} })).toEqual(["body.params.to"]);
    expect(
      await fields({
        kind: "upgrade",
        namespace: "prod",
        name: "cas",
        params: { to: "6.0.7", backupMrenclave: "EF22" },
      }),
    ).toEqual(["body.params.backupMrenclave"]);
    expect(
      await fields({ kind: "upgrade", namespace: "prod", name: "a-name-longer-than-15", params: { to: "6.0.6" } }),
    ).toEqual(["body.name"]);
    expect(await fields({ kind: "teleport", namespace: "prod", name: "cas" })).toEqual(["body.kind"]);
    const unknownField = await fields({
      kind: "upgrade",
      namespace: "prod",
      name: "cas",
      params: { to: "6.0.6", colour: 1 },
    });
    expect(unknownField?.[0]).toStartWith("body.params");
    const notJson = await post("{nope");
    expect(notJson?.status).toBe(400);

    const notYet = await post({ kind: "restore", namespace: "prod", name: "cas2", params: { from: "bk-1" } });
    expect(notYet?.status).toBe(501);
    expect((await problemOf(notYet as Response)).detail).toContain("restore operations are not implemented yet");
  });

  test("a second operation on a target with an unfinished one is 409", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    api = testApi({ runners: { upgrade: countingRunner({ duringB: () => gate }).runner } });
    const body = { kind: "upgrade", namespace: "prod", name: "cas", params: { to: "6.0.6" } };
    const first = await api.request("/api/v1/operations", { token: api.tokens.operate, method: "POST", body });
    expect(first.status).toBe(202);
    const second = await api.request("/api/v1/operations", { token: api.tokens.operate, method: "POST", body });
    expect(second.status).toBe(409);
    expect((await problemOf(second)).detail).toContain("still");
    release();
    await api.executor.idle();
    const third = await api.request("/api/v1/operations", { token: api.tokens.operate, method: "POST", body });
    expect(third.status).toBe(202);
  });

  test("GET of an unknown operation is 404, a malformed id 400", async () => {
    api = testApi();
    expect((await api.request("/api/v1/operations/op-nope", { token: api.tokens.read })).status).toBe(404);
    const bad = await problemOf(await api.request("/api/v1/operations/a%20b", { token: api.tokens.read }));
    expect(bad.errors?.[0]?.field).toBe("param.id");
  });
});

describe("restart", () => {
  test("an operation a dead process left running resumes after the last finished step; no step runs twice", async () => {
    const dir = mkdtempSync(join(tmpdir(), "scone-api-restart-"));
    try {
      // First process: a finishes, b starts and the process "dies" inside b (b never returns, nothing more is
      // written; the store connection is simply abandoned).
      let insideB: () => void = () => {};
      const reachedB = new Promise<void>((resolve) => (insideB = resolve));
      const first = countingRunner({
        duringB: () => {
          insideB();
          return new Promise<void>(() => {});
        },
      });
      const storeA = openStore({ stateDir: dir });
      const op = createOperation(storeA.db, { kind: "provision", namespace: "prod", name: "cas", createdBy: "t" });
      new OperationExecutor(sqliteOperationRecords(storeA.db), { provision: first.runner }, quietLog).start(op);
      await reachedB;
      expect(getOperation(storeA.db, op.id)).toMatchObject({ phase: "running", stepsDone: ["a"], currentStep: "b" });
      expect(first.runs).toEqual(["a", "b"]);

      // Second process on the same state directory.
      const second = countingRunner();
      const storeB = openStore({ stateDir: dir });
      const executor = new OperationExecutor(sqliteOperationRecords(storeB.db), { provision: second.runner }, quietLog);
      expect(await executor.resumeUnfinished()).toBe(1);
      await executor.idle();
      expect(second.runs).toEqual(["b (interrupted before)", "c"]);
      expect(getOperation(storeB.db, op.id)).toMatchObject({ phase: "succeeded", stepsDone: ["a", "b", "c"] });

      // Counting across both processes: a once, b started twice (the second told it was interrupted), c once.
      const all = [...first.runs, ...second.runs];
      expect(all.filter((r) => r === "a")).toHaveLength(1);
      expect(all.filter((r) => r === "c")).toHaveLength(1);
      // A third start finds nothing to do.
      expect(
        await new OperationExecutor(
          sqliteOperationRecords(storeB.db),
          { provision: second.runner },
          quietLog,
        ).resumeUnfinished(),
      ).toBe(0);
      storeB.close();
      storeA.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a clean shutdown pauses at the next step; the next start finishes it without repeating a step", async () => {
    const dir = mkdtempSync(join(tmpdir(), "scone-api-pause-"));
    try {
      const store = openStore({ stateDir: dir });
      let stopNow: () => Promise<void> = async () => {};
      const first = countingRunner({ duringB: async () => void stopNow() });
      const executorA = new OperationExecutor(sqliteOperationRecords(store.db), { evict: first.runner }, quietLog);
      stopNow = () => executorA.stop();
      const op = createOperation(store.db, { kind: "evict", namespace: "prod", name: "cas", createdBy: "t" });
      executorA.start(op);
      await executorA.idle();
      expect(getOperation(store.db, op.id)).toMatchObject({
        phase: "running",
        stepsDone: ["a", "b"],
        currentStep: null,
      });

      const second = countingRunner();
      const executorB = new OperationExecutor(sqliteOperationRecords(store.db), { evict: second.runner }, quietLog);
      await executorB.resumeUnfinished();
      await executorB.idle();
      expect([...first.runs, ...second.runs]).toEqual(["a", "b", "c"]);
      expect(getOperation(store.db, op.id)?.phase).toBe("succeeded");
      store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("an unfinished operation whose kind has no runner any more is failed with a clear error", async () => {
    api = testApi();
    const op = createOperation(api.store.db, { kind: "restore", namespace: "prod", name: "cas", createdBy: "t" });
    expect(await api.executor.resumeUnfinished()).toBe(0);
    expect(getOperation(api.store.db, op.id)).toMatchObject({ phase: "failed" });
    expect(getOperation(api.store.db, op.id)?.error).toContain("no restore runner");
  });
});
