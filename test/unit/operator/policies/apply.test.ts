// The submission to a CAS (apply.ts) over a fake source: the operator's identity only, the attested CAS key reused
// per CAS and address for targetReuseMs (one CLI call for concurrent first submissions), a failed one not kept,
// and the connection released whatever happens.
import { describe, expect, test } from "bun:test";
import { SconeCliError } from "../../../../src/cas/driver/commands.ts";
import type { CasDriver } from "../../../../src/cas/driver/driver.ts";
import type { CasDriverSource } from "../../../../src/cas/driver/reach.ts";
import { type ApplyDeps, submitToCas } from "../../../../src/operator/policies/apply.ts";
import { SubmissionScheduler } from "../../../../src/operator/policies/schedule.ts";
import type { PolicyOutcome } from "../../../../src/operator/policies/status.ts";
import { POLICY_REASON } from "../../../../src/resources/policy-conditions.ts";
import type { ReconcileContext } from "../../../../src/runtime/controller.ts";

const ADDRESS = "https://cas.team-a:8081";
const rctx = (): ReconcileContext => ({ signal: new AbortController().signal, actions: [] });
const done: PolicyOutcome = { kind: "casRejected", message: "stand-in outcome" };

function fake(keyAnswers: (() => string)[]) {
  const log: string[] = [];
  const clock = { now: 0 };
  const driver = {
    casKeys: async () => {
      log.push("cas_keys");
      const next = keyAnswers.shift();
      return { casKey: next ? next() : "K", casSoftwareKey: null };
    },
  } as unknown as CasDriver;
  const source: CasDriverSource = {
    description: "fake",
    connect: async (cas, identity) => {
      log.push(`connect ${cas.namespace}/${cas.name} as ${identity.kind}`);
      return { driver, address: "cas.team-a:8081", release: async () => void log.push("release") };
    },
  };
  const d: ApplyDeps = {
    source,
    scheduler: new SubmissionScheduler(),
    casKeys: new Map(),
    targetReuseMs: 1_000,
    now: () => clock.now,
  };
  const submit = (casAddress = ADDRESS) =>
    submitToCas(d, casAddress, undefined, rctx(), async (_c, target) => {
      log.push(`submit ${target.casKey}`);
      return done;
    });
  return { log, clock, submit };
}

describe("submitToCas", () => {
  test("connects as the operator, names the CAS key, submits, releases; the key is reused until it is stale", async () => {
    const f = fake([() => "K1", () => "K2"]);
    expect(await f.submit()).toBe(done);
    await f.submit();
    f.clock.now = 1_000;
    await f.submit();
    expect(f.log).toEqual([
      "connect team-a/cas as operator",
      "cas_keys",
      "submit K1",
      "release",
      "connect team-a/cas as operator",
      "submit K1",
      "release",
      "connect team-a/cas as operator",
      "cas_keys",
      "submit K2",
      "release",
    ]);
  });

  test("a CAS key the CLI could not name is not kept: CasNotAttested now, asked again next time", async () => {
    const f = fake([
      () => {
        throw new SconeCliError("cas_keys" as never, null, 1, "not attested");
      },
    ]);
    expect(await f.submit()).toMatchObject({ kind: "error", reason: POLICY_REASON.CasNotAttested });
    expect(await f.submit()).toBe(done);
    expect(f.log.filter((l) => l === "cas_keys")).toHaveLength(2);
    expect(f.log.filter((l) => l === "release")).toHaveLength(2);
  });

  test("an address that names no CAS of the cluster is refused without connecting", async () => {
    const f = fake([]);
    expect(await f.submit("http://cas.team-a:8081")).toMatchObject({ kind: "invalid" });
    expect(f.log).toEqual([]);
  });
});
