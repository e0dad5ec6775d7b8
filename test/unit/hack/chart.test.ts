// charts/scone-operator is generated (hack/chart/generate.ts): the committed files must be exactly what the
// generator makes from today's desired state, or the chart would drift from `scone manifests`. The rendering
// itself is compared with `scone manifests` by test/integration/helm.test.ts (it needs the helm binary).
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parse } from "yaml";
import { CHART_DIR, chartFiles, expressionOf } from "../../../hack/chart/generate.ts";

const committed = (): Map<string, string> => {
  const files = new Map<string, string>();
  for (const e of readdirSync(CHART_DIR, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    files.set(relative(CHART_DIR, path), readFileSync(path, "utf8"));
  }
  return files;
};

/** Leaf paths of a values tree: { image: { prefix: "" } } → ["image.prefix"]. Lists and empty maps are leaves. */
const leafPaths = (node: unknown, prefix = ""): string[] =>
  node !== null && typeof node === "object" && !Array.isArray(node) && Object.keys(node).length > 0
    ? Object.entries(node).flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k))
    : [prefix];

describe("the generated chart", () => {
  const generated = chartFiles();

  test("the committed chart is exactly the generator's output (run 'make chart' after changing the install)", () => {
    const onDisk = committed();
    expect([...onDisk.keys()].sort()).toEqual([...generated.keys()].sort());
    for (const [path, text] of generated) expect({ path, text: onDisk.get(path) }).toEqual({ path, text });
  });

  test("no sentinel or marker of the generator is left in any file", () => {
    for (const [path, text] of generated)
      expect({ path, leftover: /HELMSENTINEL|helmsentinel|HELMMARKER/.exec(text)?.[0] }).toEqual({
        path,
        leftover: undefined,
      });
  });

  test("every value in values.yaml is read by a template, and every value a template reads is in values.yaml", () => {
    const values = parse(generated.get("values.yaml") ?? "") as Record<string, unknown>;
    const templates = [...generated]
      .filter(([p]) => p.startsWith("templates/"))
      .map(([, t]) => t)
      .join("\n");
    const read = new Set([...templates.matchAll(/\.Values\.([A-Za-z.]+)/g)].map((m) => m[1] ?? ""));
    // A value read whole (resources) covers the leaves under it.
    const unread = leafPaths(values).filter((leaf) => ![...read].some((r) => leaf === r || leaf.startsWith(`${r}.`)));
    expect(unread).toEqual([]);
    const resolve = (path: string) =>
      path.split(".").reduce<unknown>((n, k) => (n as Record<string, unknown>)?.[k], values);
    expect([...read].filter((r) => resolve(r) === undefined)).toEqual([]);
    expect(read.size).toBeGreaterThan(10);
  });

  test("the CRDs are plain YAML in crds/ (helm installs them before the templates that need them)", () => {
    const crds = [...generated.keys()].filter((p) => p.startsWith("crds/"));
    expect(crds).toContain("crds/las.base.scone.cloud.yaml");
    for (const path of crds) expect(generated.get(path)).not.toContain("{{");
  });

  test("values inside strings become one JSON-quoted expression, literal parts as Go strings", () => {
    expect(expressionOf("helmsentinelregistry/helmsentinelprefixlas:0.0.0-helmsentinelversion")).toBe(
      'print (include "scone-operator.registry" $) "/" $.Values.image.prefix "las:" $.Values.sconeVersion',
    );
    expect(expressionOf("helmsentinelnamespace")).toBe("$.Release.Namespace");
    expect(expressionOf('scone-"x"-helmsentinelnamespace')).toBe('print "scone-\\"x\\"-" $.Release.Namespace');
  });
});
