// Our generated CRDs accept every document the upstream SCONE operator's CRDs accept, with the same names,
// printer columns and per-field constraints. Upstream files are read at test time (never copied into the repo).

import { describe, expect, test } from "bun:test";
import { renderCrds } from "../../../src/resources/crds.ts";
import { readUpstreamCrd, UPSTREAM_CRDS_DIR, upstreamCrdFiles } from "../../harness/upstream-samples.ts";
import { diffSchemas } from "./schema-diff.ts";

/**
 * Fields of ours that upstream lacks, on purpose: observedGeneration in every status (stale-status detection),
 * the standard status.conditions where upstream has none (LAS and the policies) and the CAS's observedPodUID
 * (which pod a status describes, for `scone cas evict`).
 */
const ALLOWED_EXTRA: Record<string, readonly string[]> = {
  "cas.services.scone.cloud": ["status.observedGeneration", "status.observedPodUID"],
  "las.base.scone.cloud": ["status.observedGeneration", "status.conditions"],
  "sgxplugins.base.scone.cloud": ["status.observedGeneration"],
  "signedpolicies.cas.scone.cloud": ["status.observedGeneration", "status.conditions"],
  "encryptedpolicies.cas.scone.cloud": ["status.observedGeneration", "status.conditions"],
  "vaults.services.scone.cloud": ["status.observedGeneration"],
};

type Json = Record<string, unknown>;
const get = (v: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>((acc, k) => (acc !== null && typeof acc === "object" ? (acc as Json)[k] : undefined), v);

const files = upstreamCrdFiles();
const ours = new Map(renderCrds().map((crd) => [crd.metadata.name, crd]));

if (files.length === 0) {
  test.skip(`upstream CRD comparison: no upstream CRDs at ${UPSTREAM_CRDS_DIR} (set SCONE_UPSTREAM_CRDS)`, () => {});
}

describe("generated CRDs match the upstream SCONE CRDs", () => {
  test("every upstream CRD has a counterpart", async () => {
    const names = await Promise.all(files.map(async (f) => get(await readUpstreamCrd(f), "metadata", "name")));
    expect(names.filter((n) => !ours.has(String(n)))).toEqual([]);
  });

  for (const file of files) {
    test(`${file.split("/").pop()}`, async () => {
      const upstream = await readUpstreamCrd(file);
      const name = String(get(upstream, "metadata", "name"));
      const mine = ours.get(name);
      expect(mine).toBeDefined();
      if (!mine) return;
      const upSpec = get(upstream, "spec") as Json;
      const upVersion = get(upSpec, "versions", 0) as Json;
      const myVersion = mine.spec.versions[0];

      const diffs: string[] = [];
      const same = (what: string, a: unknown, b: unknown) => {
        if (JSON.stringify(a) !== JSON.stringify(b)) {
          diffs.push(`${what}: upstream=${JSON.stringify(a)} ours=${JSON.stringify(b)}`);
        }
      };
      same("group", upSpec.group, mine.spec.group);
      same("scope", upSpec.scope, mine.spec.scope);
      const upNames = upSpec.names as Json;
      for (const key of ["kind", "listKind", "plural", "singular", "shortNames"] as const) {
        same(`names.${key}`, upNames[key], mine.spec.names[key]);
      }
      same(
        "versions",
        (upSpec.versions as Json[]).map((v) => v.name),
        mine.spec.versions.map((v) => v.name),
      );
      same("served/storage", [upVersion.served, upVersion.storage], [myVersion?.served, myVersion?.storage]);
      same("subresources", upVersion.subresources, myVersion?.subresources);
      const columns = (cols: unknown) =>
        ((cols as Json[] | undefined) ?? []).map((c) => ({
          name: c.name,
          type: c.type,
          jsonPath: c.jsonPath,
          priority: c.priority ?? 0,
        }));
      same(
        "additionalPrinterColumns",
        columns(upVersion.additionalPrinterColumns),
        columns(myVersion?.additionalPrinterColumns),
      );
      diffs.push(
        ...diffSchemas(
          get(upVersion, "schema", "openAPIV3Schema"),
          myVersion?.schema.openAPIV3Schema,
          "",
          new Set(ALLOWED_EXTRA[name] ?? []),
        ),
      );
      if (diffs.length > 0) console.error(`${name}: ${diffs.length} difference(s)\n  ${diffs.join("\n  ")}`);
      expect(diffs).toEqual([]);
    });
  }
});

describe("the schema comparison itself", () => {
  test("reports type, constraint, enum and missing-field differences", () => {
    const up = {
      type: "object",
      required: ["a"],
      properties: {
        a: { type: "string", pattern: "^x$" },
        b: { type: "string", enum: ["X", "Y"] },
        c: { type: "integer" },
      },
    };
    const mine = {
      type: "object",
      properties: { a: { type: "string" }, b: { type: "string", enum: ["Y", "Z"] }, d: { type: "boolean" } },
    };
    const diffs = diffSchemas(up, mine, "", new Set());
    expect(diffs).toEqual([
      '(root): required upstream=["a"] ours=undefined',
      'a: pattern upstream="^x$" ours=undefined',
      'b: enum upstream=["X","Y"] ours=["Y","Z"]',
      "c: missing in ours",
      "d: only in ours (not allowed)",
    ]);
    expect(diffSchemas(up, { ...mine, properties: { ...up.properties, d: {} } }, "", new Set(["d"]))).toEqual([
      '(root): required upstream=["a"] ours=undefined',
    ]);
  });
});
