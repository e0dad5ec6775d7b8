import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { trimTrailingSlashes } from "../../../src/runtime/text.ts";

describe("trimTrailingSlashes", () => {
  test("does what /\\/+$/ did, on short strings of slashes and letters", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("/", "a", "\n"), maxLength: 12 }), (s) => {
        expect(trimTrailingSlashes(s)).toBe(s.replace(/\/+$/, ""));
      }),
      { seed: 11, numRuns: 300 },
    );
  });
});
