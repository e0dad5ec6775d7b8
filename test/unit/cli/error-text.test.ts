import { describe, expect, test } from "bun:test";
import { causeLines, verboseErrorText } from "../../../src/cli/error-text.ts";
import { CliError } from "../../../src/cli/spec.ts";

class KubeConnectionError extends Error {
  override name = "KubeConnectionError";
}

describe("verbose error text", () => {
  test("the type and every cause, outermost first, one line each; no stack frames", () => {
    const root = new TypeError("ECONNREFUSED: Unable to connect");
    const mid = new KubeConnectionError("GET /api: no response from the API server", { cause: root });
    const top = new Error("reading CAS ns/cas failed", { cause: mid });
    expect(causeLines(top)).toEqual([
      "caused by: KubeConnectionError: GET /api: no response from the API server",
      "caused by: TypeError: ECONNREFUSED: Unable to connect",
    ]);
    expect(verboseErrorText(mid)).toBe(
      "error type: KubeConnectionError\ncaused by: TypeError: ECONNREFUSED: Unable to connect\n",
    );
    expect(verboseErrorText(top)).not.toMatch(/^\s+at /m);
  });

  test("a CliError says no type; non-Error causes are printed as they are; a looping chain ends", () => {
    expect(verboseErrorText(new CliError("bad", 1, undefined, { cause: "the reason" }))).toBe(
      "caused by: the reason\n",
    );
    expect(verboseErrorText(new CliError("bad"))).toBe("");
    const a = new Error("a");
    const b = new Error("b", { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(causeLines(a)).toEqual(["caused by: b"]);
    expect(causeLines(new Error("x", { cause: { code: 7 } }))).toEqual(['caused by: {"code":7}']);
  });
});
