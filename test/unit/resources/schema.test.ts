import { describe, expect, test } from "bun:test";
import type { CASSpec } from "../../../src/resources/cas.ts";
import { QUANTITY_PATTERN } from "../../../src/resources/core-types.ts";
import { resourceDefinitions, SCONE_KINDS } from "../../../src/resources/kinds.ts";
import type { Schema } from "../../../src/resources/schema.ts";
import {
  arr,
  enumStr,
  type Infer,
  int32,
  intOrString,
  map,
  obj,
  preserveUnknown,
  str,
  toOpenAPI,
} from "../../../src/resources/schema.ts";

describe("schema builder", () => {
  const sample = obj(
    {
      name: str({ minLength: 1, description: "the name" }),
      mode: enumStr(["A", "B"], { default: "A" }),
      port: int32({ minimum: 1, maximum: 65535 }),
      size: intOrString({ pattern: "^[0-9]+$" }),
      labels: map(str()),
      items: arr(str(), { listType: "set" }),
      free: preserveUnknown(),
    },
    { required: ["name"] },
  );

  test("infers the TypeScript type (required names are non-optional)", () => {
    type Sample = Infer<typeof sample>;
    const value: Sample = {
      name: "n",
      mode: "B",
      port: 1,
      size: "1",
      labels: { a: "b" },
      items: ["x"],
      free: { any: 1 },
    };
    // @ts-expect-error name is required
    const missing: Sample = { mode: "A" };
    // @ts-expect-error mode is an enum
    const wrongEnum: Sample = { name: "n", mode: "C" };
    expect([value, missing, wrongEnum]).toHaveLength(3);
    const spec: CASSpec = { nonce: "x", "backup-controller": { enabled: true } };
    expect(spec["backup-controller"]?.enabled).toBe(true);
  });

  test("renders OpenAPI with sorted properties and Kubernetes extensions", () => {
    expect(toOpenAPI(sample)).toEqual({
      type: "object",
      required: ["name"],
      properties: {
        free: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
        items: { type: "array", "x-kubernetes-list-type": "set", items: { type: "string" } },
        labels: { type: "object", additionalProperties: { type: "string" } },
        mode: { type: "string", enum: ["A", "B"], default: "A" },
        name: { type: "string", minLength: 1, description: "the name" },
        port: { type: "integer", format: "int32", minimum: 1, maximum: 65535 },
        size: {
          anyOf: [{ type: "integer" }, { type: "string" }],
          pattern: "^[0-9]+$",
          "x-kubernetes-int-or-string": true,
        },
      },
    });
    expect(Object.keys(toOpenAPI(sample).properties ?? {})).toEqual([
      "free",
      "items",
      "labels",
      "mode",
      "name",
      "port",
      "size",
    ]);
  });

  test("every pattern in every definition compiles as a JavaScript regular expression", () => {
    const patterns = new Set<string>();
    const walk = (s: Schema<unknown>) => {
      if (s.keywords.pattern) patterns.add(s.keywords.pattern);
      for (const child of Object.values(s.properties ?? {})) walk(child);
      if (s.items) walk(s.items);
      if (s.additionalProperties) walk(s.additionalProperties);
    };
    for (const kind of SCONE_KINDS) {
      walk(resourceDefinitions[kind].spec);
      walk(resourceDefinitions[kind].status);
    }
    expect(patterns.size).toBeGreaterThanOrEqual(5);
    for (const p of patterns) expect(() => new RegExp(p, "u")).not.toThrow();
    const quantity = new RegExp(QUANTITY_PATTERN, "u");
    for (const ok of ["1", "500m", "1Gi", "10G", "1e3", "+.5"]) expect(quantity.test(ok)).toBe(true);
    for (const bad of ["lots", "1 Gi", "1GB", ""]) expect(quantity.test(bad)).toBe(false);
  });
});
