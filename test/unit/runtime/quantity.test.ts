import { expect, test } from "bun:test";
import { canonicalQuantity, canonicalResources } from "../../../src/runtime/quantity.ts";

test("quantities come out in the API server's canonical form", () => {
  const cases: [string, string][] = [
    ["0.5", "500m"],
    ["1000m", "1"],
    ["1500m", "1500m"],
    ["1.5", "1500m"],
    ["2000", "2k"],
    ["1500", "1500"],
    ["0.0001", "100u"],
    ["100M", "100M"],
    ["1024Mi", "1Gi"],
    ["0.5Gi", "512Mi"],
    ["1536Mi", "1536Mi"],
    ["0.5Ki", "512"],
    ["0m", "0"],
    ["-0.5", "-500m"],
  ];
  for (const [input, canonical] of cases) expect([input, canonicalQuantity(input)]).toEqual([input, canonical]);
});

test("exponent forms and unparsable text are left for the API server to judge", () => {
  expect(canonicalQuantity("1e3")).toBe("1e3");
  expect(canonicalQuantity("lots")).toBe("lots");
});

test("canonicalResources rewrites string quantities of limits and requests, keeps numbers", () => {
  expect(
    canonicalResources({ limits: { cpu: "0.5", "sgx.intel.com/enclave": 1 }, requests: { memory: "2048Ki" } }),
  ).toEqual({ limits: { cpu: "500m", "sgx.intel.com/enclave": 1 }, requests: { memory: "2Mi" } });
});
