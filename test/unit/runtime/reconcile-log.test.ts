// Failed reconciles are logged (level, resource, reason), not only handed to the history store.
import { describe, expect, test } from "bun:test";
import { createLogger } from "../../../src/log.ts";
import { FakeClock } from "../../../src/runtime/clock.ts";
import { Controller, type ReconcileRecord, TerminalError } from "../../../src/runtime/controller.ts";
import { withFailureLog } from "../../../src/runtime/reconcile-log.ts";

describe("failed reconciles in the log", () => {
  test("an error and a terminal error each log one error line naming controller, resource and reason; success logs none", async () => {
    const lines: string[] = [];
    const log = createLogger({ level: "debug", format: "json", sink: { write: (l: string) => lines.push(l) } });
    const history: ReconcileRecord[] = [];
    let mode: "fail" | "terminal" | "ok" = "fail";
    const c = new Controller({
      name: "cas",
      clock: new FakeClock(),
      reconcile: async () => {
        if (mode === "fail") throw new Error("connect ECONNREFUSED 127.0.0.1:8081");
        if (mode === "terminal") throw new TerminalError("spec.image is not allowed");
        return undefined;
      },
      onRecord: withFailureLog(log, (r) => history.push(r)),
    });
    await c.processKey("tenant/cas-a");
    mode = "terminal";
    await c.processKey("cluster-scoped");
    mode = "ok";
    await c.processKey("tenant/cas-a");

    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({
      level: "error",
      msg: "reconcile failed",
      controller: "cas",
      resource: "tenant/cas-a",
      reason: "connect ECONNREFUSED 127.0.0.1:8081",
      retry: true,
    });
    expect(records[1]).toMatchObject({
      level: "error",
      resource: "cluster-scoped",
      reason: "spec.image is not allowed",
      retry: false,
    });
    // The history still gets every record, failures included.
    expect(history.map((r) => r.outcome)).toEqual(["error", "terminal", "success"]);
  });
});
