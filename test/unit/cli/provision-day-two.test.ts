// The provider's day-2 lines (`kubectl provision cas cas … --upgrade | --local-backup | --cas-database-recovery`) as
// the flags of scone cas upgrade / backup / restore, and the refusal of every flag such a line would drop.
import { describe, expect, test } from "bun:test";
import { provisionArgs } from "../../../src/cli/commands/cas.ts";
import { translateKubectlProvisionArgs } from "../../../src/cli/kubectl-provision.ts";
import { dayTwoPlan, setVersionProblem } from "../../../src/cli/provision-day-two.ts";
import { CliError } from "../../../src/cli/spec.ts";

const known = Object.keys(provisionArgs);
const context = { cwd: "/home/u/work", known };
const KEY = "0123456789abcdef0123456789abcdef";
// What the parser hands the command for flags left out (booleans that default on are true).
const defaults = { backup: true, "image-signature-check": true, docker: true };

describe("dayTwoPlan", () => {
  test("--upgrade VER → scone cas upgrade NAME --to-version VER, namespace and verbosity kept", () => {
    const plan = dayTwoPlan(
      "upgrade",
      { ...defaults, name: "cas", namespace: "osc-scone-system", upgrade: "6.0.7", force: true, verbose: true },
      context,
    );
    expect(plan).toEqual({
      command: "upgrade",
      args: {
        name: "cas",
        namespace: "osc-scone-system",
        verbose: true,
        force: true,
        "to-version": "6.0.7",
      },
      notes: [],
    });
  });

  test("--upgrade with --set-version: the version the CAS must run now", () => {
    const plan = dayTwoPlan("upgrade", { name: "cas", upgrade: "6.0.7", "set-version": "6.0.6" }, context);
    expect(plan.expectVersion).toBe("6.0.6");
    expect(plan.args["set-version"]).toBeUndefined();
  });

  test("--local-backup → scone cas backup NAME --to ./cas-database-snapshots (upstream's directory)", () => {
    const plan = dayTwoPlan(
      "local-backup",
      { ...defaults, name: "cas", namespace: "ns", "local-backup": true },
      context,
    );
    expect(plan).toEqual({
      command: "backup",
      args: { name: "cas", namespace: "ns", to: "/home/u/work/cas-database-snapshots" },
      notes: [],
    });
  });

  test("--cas-database-recovery DIR --dcap-api KEY → scone cas restore NAME --from /abs/DIR, with a note for the key", () => {
    const plan = dayTwoPlan(
      "cas-database-recovery",
      {
        ...defaults,
        name: "cas",
        namespace: "ns",
        "cas-database-recovery": "snap",
        "dcap-api": KEY,
        "set-version": "6.0.6",
        "image-registry": "mirror.example/scone",
        verbose: true,
      },
      context,
    );
    expect(plan.command).toBe("restore");
    expect(plan.args).toEqual({
      name: "cas",
      namespace: "ns",
      verbose: true,
      "set-version": "6.0.6",
      "image-registry": "mirror.example/scone",
      from: "/home/u/work/snap",
    });
    expect(plan.notes).toHaveLength(1);
    expect(plan.notes[0]).toStartWith("--dcap-api is not used by --cas-database-recovery");
    // The key itself is never in a note.
    expect(plan.notes.join()).not.toContain(KEY);
  });

  test("flags the operation would not use are refused (exit 2), each named with the fix", () => {
    let error: unknown;
    try {
      dayTwoPlan(
        "upgrade",
        { name: "cas", upgrade: "6.0.7", nonce: "00112233445566778899aabbccddeeff", backup: false, target: "/t" },
        context,
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(2);
    const lines = (error as CliError).message.split("\n");
    expect(lines).toContain("--nonce cannot be used with --upgrade: it applies to provisioning a CAS; drop it");
    expect(lines).toContain("--no-backup cannot be used with --upgrade: it applies to provisioning a CAS; drop it");
    expect(lines.find((l) => l.startsWith("--target"))).toContain("--backup-mrenclave HEX --target DIR");
    expect(() =>
      dayTwoPlan("upgrade", { name: "cas", upgrade: "6.0.7", "image-registry": "r.example/x" }, context),
    ).toThrow("the upgrade keeps the registry and prefix of the CAS's current image");
    expect(() => dayTwoPlan("local-backup", { name: "cas", "local-backup": true, wait: true }, context)).toThrow(
      "--wait cannot be used with --local-backup",
    );
    expect(() =>
      dayTwoPlan("cas-database-recovery", { name: "cas", "cas-database-recovery": "d", webhook: "https://x" }, context),
    ).toThrow("--webhook cannot be used with --cas-database-recovery");
  });
});

describe("setVersionProblem", () => {
  test("holds when --set-version names the image's version; otherwise names both and the fix", () => {
    expect(setVersionProblem("6.0.6", { namespace: "ns", name: "cas", imageTag: "6.0.6" })).toBeUndefined();
    expect(setVersionProblem("6.0.5", { namespace: "ns", name: "cas", imageTag: "6.0.6" })).toBe(
      "--set-version 6.0.5 is not the version CAS ns/cas runs (it runs 6.0.6): with --upgrade, --set-version names the current version; give --set-version 6.0.6 or leave it out",
    );
  });
});

describe("kubectl-provision: upstream variables with a day-2 mode", () => {
  const env = { DCAP_KEY: KEY, TARGET_DIR: "/t", VERSION: "6.0.6", NAMESPACE: "env-ns" };

  test("only the variables the operation uses stand for flags (DCAP_KEY, TARGET_DIR do not make --upgrade refuse)", () => {
    expect(translateKubectlProvisionArgs(["cas", "cas", "--upgrade", "6.0.7"], env).command).toEqual([
      "cas",
      "provision",
      "cas",
      "--upgrade",
      "6.0.7",
      "--namespace",
      "env-ns",
      "--set-version",
      "6.0.6",
    ]);
    expect(translateKubectlProvisionArgs(["cas", "cas", "--local-backup"], env).command).toEqual([
      "cas",
      "provision",
      "cas",
      "--local-backup",
      "--namespace",
      "env-ns",
    ]);
  });

  test("without a day-2 mode every variable still stands for its flag", () => {
    const command = translateKubectlProvisionArgs(["cas", "cas"], env).command;
    expect(command).toContain("--dcap-api");
    expect(command).toContain("--target");
  });
});
