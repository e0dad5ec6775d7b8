import { describe, expect, test } from "bun:test";
import { consoleField } from "../../../../src/operator/cas/console.ts";
import { probeWithTimeout } from "../../../../src/operator/cas/probe.ts";
import { upstreamCas } from "../../../harness/cas-fixtures.ts";

describe("CAS probe", () => {
  test("a probe that hangs or throws reports an unreachable CAS with the reason", async () => {
    const cas = await upstreamCas("cas.yaml");
    const signal = new AbortController().signal;
    const hang = { probe: () => new Promise<never>(() => {}) };
    expect(await probeWithTimeout(hang, cas, signal, 20)).toEqual({ reachable: false, error: "no answer within 0 s" });
    const boom = {
      probe: async () => {
        throw new Error("connect ECONNREFUSED");
      },
    };
    expect(await probeWithTimeout(boom, cas, signal, 1_000)).toEqual({
      reachable: false,
      error: "connect ECONNREFUSED",
    });
    const fine = { probe: async () => ({ reachable: true, provisioned: "Yes" as const }) };
    expect(await probeWithTimeout(fine, cas, signal, 1_000)).toEqual({ reachable: true, provisioned: "Yes" });
  });

  test("the CAS key hash is the last field of its console line", () => {
    const log =
      "starting\nCAS key hash 3s1pm8W6Be6cxvAQRbRP5YXd9YuERAr7KswN97uGtoPkRW87x1\nCAS provisioning token abc\n";
    expect(consoleField(log, "CAS key hash")).toBe("3s1pm8W6Be6cxvAQRbRP5YXd9YuERAr7KswN97uGtoPkRW87x1");
    expect(consoleField(log, "CAS provisioning token")).toBe("abc");
    expect(consoleField("CAS key hash\n", "CAS key hash")).toBeUndefined();
    expect(consoleField("nothing", "CAS key hash")).toBeUndefined();
  });
});
