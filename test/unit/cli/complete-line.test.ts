import { describe, expect, test } from "bun:test";
import { isCompletionSource, readCompletionLine } from "../../../src/cli/complete/line.ts";

describe("readCompletionLine: the cluster and namespace a typed line points at", () => {
  test("both spellings of each flag; the last one wins", () => {
    expect(
      readCompletionLine(["cas", "status", "-n", "a", "--namespace=b", "--context", "kind", "--kubeconfig=/k"]),
    ).toEqual({ namespace: "b", context: "kind", kubeconfig: "/k" });
  });
  test("a flag without its value yet, empty values and unknown words are ignored", () => {
    expect(readCompletionLine(["cas", "status", "--namespace="])).toEqual({});
    expect(readCompletionLine(["cas", "--verbose", "x", "-n"])).toEqual({});
    expect(readCompletionLine(["-o", "json", "--nonce", "-n"])).toEqual({});
  });
  test("only the two sources exist", () => {
    expect(["cas", "namespace", "pods", "", undefined].map(isCompletionSource)).toEqual([
      true,
      true,
      false,
      false,
      false,
    ]);
  });
});
