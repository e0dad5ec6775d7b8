// `scone cas admit-operator`'s command line: flags checked before anything runs (the step itself, admitOperator, is
// tested in test/unit/operator/policies/submit.test.ts and, against the stand-in CLI, in the policies integration
// test).
import { describe, expect, test } from "bun:test";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "../../..");
const scone = (...args: string[]) =>
  Bun.spawnSync([process.execPath, join(ROOT, "src/main.ts"), "cas", "admit-operator", ...args], {
    env: { ...process.env, NO_COLOR: "1", KUBECONFIG: "/nonexistent/kubeconfig" },
  });

describe("scone cas admit-operator", () => {
  test("a session name the CLI would misread, or one outside the session grammar, is a usage error", () => {
    for (const bad of ["bad name", "a//b", "-x/y"]) {
      const run = scone("cas", "-n", "team-a", "--session", bad);
      expect(run.exitCode).toBe(2);
      expect(run.stderr.toString()).toContain("--session");
    }
  });

  test("it takes --scone-cli (it reaches CAS through the driver) and lists its flags in help", () => {
    const help = scone("--help");
    expect(help.exitCode).toBe(0);
    const text = help.stdout.toString();
    for (const flag of ["--scone-cli", "--target", "--session"]) expect(text).toContain(flag);
  });
});
