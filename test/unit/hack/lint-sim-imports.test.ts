// The import check of sim/: which imports it finds, which it refuses, and that the repository's sim/ passes it.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { findOffenders, importsOf, offencesOf, protocolReachedFrom } from "../../../hack/lint-sim-imports.ts";

const root = mkdtempSync(join(tmpdir(), "lint-sim-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("lint-sim-imports", () => {
  test("static, multi-line, type-only, re-export, side-effect, dynamic and require imports are found; comments are not", () => {
    const src = [
      'import { a } from "./a.ts";',
      "import {",
      "  b,",
      '} from "../../src/cas/session.ts";',
      'import type { C } from "../../src/cas/crypto.ts";',
      'export { d } from "../../src/operator/cas/names.ts";',
      'import "../../src/x509.ts";',
      'const e = await import("../../src/cas/audit.ts");',
      'const f = require("../../src/operator/certs/pki.ts");',
      '// import { g } from "../../src/cas/client.ts";',
      '/* export * from "../../src/cas/identity.ts" */',
    ].join("\n");
    expect(importsOf(src)).toEqual([
      { specifier: "./a.ts", line: 1 },
      { specifier: "../../src/cas/session.ts", line: 4 },
      { specifier: "../../src/cas/crypto.ts", line: 5 },
      { specifier: "../../src/operator/cas/names.ts", line: 6 },
      { specifier: "../../src/x509.ts", line: 7 },
      { specifier: "../../src/cas/audit.ts", line: 8 },
      { specifier: "../../src/operator/certs/pki.ts", line: 9 },
    ]);
    expect(offencesOf("sim/cas/x.ts", src).map((o) => o.target)).toEqual([
      "src/cas/session.ts",
      "src/cas/crypto.ts",
      "src/operator/cas/names.ts",
      "src/x509.ts",
      "src/cas/audit.ts",
      "src/operator/certs/pki.ts",
    ]);
  });

  test("simulators may import cluster plumbing only; the stand-in CLI nothing from outside sim/", () => {
    const src = [
      'import { KubeClient } from "../../src/kube/client.ts";',
      'import { x } from "../../src/operator/cas/controller.ts";',
      'import { ROLE } from "../../src/install/names.ts";',
      'import { LAS } from "../../src/operator/las/names.ts";',
      'import type { CAS } from "../../src/resources/cas.ts";',
      'import { CasClient } from "../../test/support/cas-legacy/client.ts";',
      'import { y } from "../other/y.ts";',
    ].join("\n");
    // An allow-list: whatever is not plumbing is refused, names of owned objects and the legacy client included.
    expect(offencesOf("sim/kwok-cas/runtime.ts", src).map((o) => `${o.line} ${o.target}`)).toEqual([
      "2 src/operator/cas/controller.ts",
      "3 src/install/names.ts",
      "4 src/operator/las/names.ts",
      "5 src/resources/cas.ts",
      "6 test/support/cas-legacy/client.ts",
    ]);
    expect(offencesOf("sim/scone-cli/main.ts", src).map((o) => `${o.line} ${o.target}`)).toEqual([
      "1 src/kube/client.ts",
      "2 src/operator/cas/controller.ts",
      "3 src/install/names.ts",
      "4 src/operator/las/names.ts",
      "5 src/resources/cas.ts",
      "6 test/support/cas-legacy/client.ts",
    ]);
    // A package or a node: import is not the repository's.
    expect(offencesOf("sim/scone-cli/main.ts", 'import { parse } from "yaml";\nimport "node:fs";')).toEqual([]);
  });

  test("protocol code reached through an allowed plumbing file is found, with the chain", () => {
    const files: Record<string, string> = {
      "src/kube/client.ts": 'import { t } from "../runtime/text.ts";\nimport { w } from "./watch.ts";',
      "src/kube/watch.ts": 'import { s } from "../cas/session.ts";',
      "src/runtime/text.ts": "export const t = 1;",
    };
    expect(protocolReachedFrom("src/kube/client.ts", (f) => files[f])).toEqual([
      ["src/kube/client.ts", "src/kube/watch.ts", "src/cas/session.ts"],
    ]);
    expect(protocolReachedFrom("src/runtime/text.ts", (f) => files[f])).toEqual([]);
  });

  test("findOffenders walks sim/ of a tree", () => {
    const put = (path: string, text: string) => {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    };
    put("sim/good/a.ts", 'import { b } from "./b.ts";');
    put("sim/bad/deep/c.ts", 'import { s } from "../../../src/cas/session.ts";');
    put("src/cas/session.ts", "export const s = 1;");
    // Allowed plumbing that itself reaches protocol code.
    put("sim/sly/d.ts", 'import { k } from "../../src/kube/k.ts";');
    put("src/kube/k.ts", 'export { s as k } from "../cas/session.ts";');
    expect(findOffenders(root).map((o) => `${o.file}:${o.line} ${o.target}`)).toEqual([
      "sim/bad/deep/c.ts:1 src/cas/session.ts",
      "sim/sly/d.ts:1 src/cas/session.ts",
    ]);
  });

  test("the repository's simulators import no protocol code, and the stand-in CLI nothing from src/", () => {
    expect(findOffenders(join(import.meta.dir, "../../.."))).toEqual([]);
  });
});
