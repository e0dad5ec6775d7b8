// The layout check of test/unit: which tests it takes as mirroring their code, which it reports, and that the
// repository's tests pass it.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { findMisplaced, literalsOf, mirrorOf, misplacement } from "../../../hack/lint-test-layout.ts";

const dirs = new Set(["src/cli", "src/operator", "src/operator/webhooks", "sim/cas", "hack", "test/harness"]);
const files: Record<string, string> = {
  "src/log.ts": "",
  "src/cli/stdout.ts": "",
  "test/unit/operator/helpers.ts": 'import { x } from "../../../src/operator/run.ts";',
};
const check = (testPath: string, source: string) =>
  misplacement(
    testPath,
    source,
    (p) => dirs.has(p),
    (p) => files[p],
  );

describe("lint-test-layout", () => {
  test("a test path stands for src/, or sim/, hack/, test/harness/, test/support/ under their own folders", () => {
    expect(mirrorOf("operator/webhooks/handlers.test.ts")).toEqual({
      folder: "src/operator/webhooks",
      file: "src/operator/webhooks/handlers",
    });
    expect(mirrorOf("sim/cas/core.test.ts")).toEqual({ folder: "sim/cas", file: "sim/cas/core" });
    expect(mirrorOf("hack/demo-end-state.test.ts")).toEqual({ folder: "hack", file: "hack/demo-end-state" });
    expect(mirrorOf("harness/s3.test.ts")).toEqual({ folder: "test/harness", file: "test/harness/s3" });
    expect(mirrorOf("support/cas-legacy/crypto.test.ts").folder).toBe("test/support/cas-legacy");
  });

  test("a test in a mirrored folder that uses code from it passes: by import, by a path it runs, or via its own fake", () => {
    expect(
      check("operator/webhooks/x.test.ts", 'import { h } from "../../../../src/operator/webhooks/handlers.ts";'),
    ).toBeUndefined();
    expect(
      check("sim/cas/x.test.ts", 'const MAIN = join(import.meta.dir, "../../../../sim/cas/main.ts");'),
    ).toBeUndefined();
    expect(check("cli/x.test.ts", 'spawn([bun, join(ROOT, "src/main.ts")]);')).toBeUndefined();
    expect(check("operator/x.test.ts", 'import { f } from "./helpers.ts";')).toBeUndefined();
    expect(check("log.test.ts", 'import { log } from "../../src/log.ts";')).toBeUndefined();
  });

  test("a folder the code does not have, src/ itself, or a test using nothing from its folder is reported", () => {
    expect(check("webhooks/certs.test.ts", 'import "../../../src/operator/certs/pki.ts";')).toBe(
      "neither src/webhooks/certs.ts nor a folder src/webhooks/ exists",
    );
    expect(check("guard.test.ts", 'import "../../src/log.ts";')).toBe("neither src/guard.ts nor a folder src/ exists");
    expect(check("operator/metrics.test.ts", 'import { r } from "../../../src/metrics/registry.ts";')).toBe(
      "uses nothing from src/operator/: it tests code elsewhere",
    );
    // A path in a comment, or in a template with substitutions, is no use of it.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the source under test holds a template literal
    expect(check("cli/stdout.test.ts", "// see src/cli/stdout.ts\nconst p = `src/cli/${name}`;")).toBe(
      "uses nothing from src/cli/stdout.ts: it tests code elsewhere",
    );
  });

  test("literals: quoted strings and plain templates; comments and substituted templates skipped", () => {
    expect(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the source under test holds a template literal
      literalsOf("const a = \"x\"; // 'y'\n/* \"z\" */ const b = `w`; const c = `v${a}`; const d = 'u\\'s';"),
    ).toEqual(["x", "w", "u\\'s"]);
  });

  test("the repository's unit tests mirror their code", () => {
    expect(findMisplaced(join(import.meta.dir, "../../.."))).toEqual([]);
  });
});
