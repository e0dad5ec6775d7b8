import { describe, expect, test } from "bun:test";
import { rootCommand } from "../../../src/cli/commands/root.ts";
import { detectPersonality, translateKubectlProvisionArgs } from "../../../src/cli/kubectl-provision.ts";
import { resolveCommand, validateArgs } from "../../../src/cli/validate.ts";

const NONCE = "00112233445566778899aabbccddeeff";

describe("translateKubectlProvisionArgs", () => {
  test("the upstream example becomes scone cas provision with the same flags", () => {
    expect(translateKubectlProvisionArgs(["cas", "mycas", "-n", "ns", "--dcap-api", "K", "--wait"])).toEqual({
      command: ["cas", "provision", "mycas", "-n", "ns", "--dcap-api", "K", "--wait"],
      warnings: [],
    });
  });

  test("short flags: -n and -d and -f keep their meaning, -o becomes --owner-config, -v becomes --verbose", () => {
    const { command } = translateKubectlProvisionArgs([
      "cas",
      "c1",
      "-n",
      "ns",
      "-d",
      "K",
      "-o",
      "owner.toml",
      "-f",
      "p.json",
      "-v",
    ]);
    expect(command).toEqual([
      "cas",
      "provision",
      "c1",
      "-n",
      "ns",
      "-d",
      "K",
      "--owner-config",
      "owner.toml",
      "-f",
      "p.json",
      "--verbose",
    ]);
  });

  test("-o=FILE, --set-toleration and flags before SVC", () => {
    const { command } = translateKubectlProvisionArgs([
      "-n",
      "ns",
      "cas",
      "-o=o.toml",
      "--set-toleration",
      "--accept-x",
    ]);
    expect(command).toEqual([
      "cas",
      "provision",
      "cas",
      "-n",
      "ns",
      "--owner-config=o.toml",
      "--set-tolerations",
      "--accept-x",
    ]);
  });

  test("NAME defaults to SVC; a flag value is not taken for NAME", () => {
    expect(translateKubectlProvisionArgs(["cas", "--nonce", NONCE]).command).toEqual([
      "cas",
      "provision",
      "cas",
      "--nonce",
      NONCE,
    ]);
    expect(translateKubectlProvisionArgs(["cas", "--target", "dir", "other"]).command).toEqual([
      "cas",
      "provision",
      "other",
      "--target",
      "dir",
    ]);
    expect(translateKubectlProvisionArgs(["vault", "-n", "x"]).command).toEqual([
      "vault",
      "provision",
      "vault",
      "-n",
      "x",
    ]);
  });

  test("every upstream boolean flag passes through unchanged", () => {
    const booleans = [
      "--no-backup",
      "--wait",
      "--is-provisioned",
      "--verify",
      "--print-public-keys",
      "--preprovision-only",
      "--postprovision-only",
      "--local-backup",
      "--force",
      "--debug",
      "--no-image-signature-check",
      "--no-docker",
    ];
    expect(translateKubectlProvisionArgs(["cas", "x", ...booleans]).command).toEqual([
      "cas",
      "provision",
      "x",
      ...booleans,
    ]);
  });

  test("CAS names longer than 15 characters are rejected, as upstream", () => {
    expect(() => translateKubectlProvisionArgs(["cas", "a23456789012345"])).not.toThrow();
    expect(() => translateKubectlProvisionArgs(["cas", "a234567890123456"])).toThrow("at most 15 characters");
  });

  test("missing or unknown SVC", () => {
    expect(() => translateKubectlProvisionArgs([])).toThrow("missing SVC");
    expect(() => translateKubectlProvisionArgs(["las"])).toThrow("unknown SVC 'las'");
  });

  test("upstream environment variables stand for flags not given, with a note that hides the DCAP key", () => {
    const t = translateKubectlProvisionArgs(["cas", "-n", "given"], {
      NAMESPACE: "env-ns",
      DCAP_KEY: "secret",
      VERSION: "6.0.5",
    });
    expect(t.command).toEqual([
      "cas",
      "provision",
      "cas",
      "-n",
      "given",
      "--dcap-api",
      "secret",
      "--set-version",
      "6.0.5",
    ]);
    expect(t.warnings).toEqual(["using --dcap-api [redacted] from DCAP_KEY", "using --set-version 6.0.5 from VERSION"]);
  });

  test("the translation validates like scone cas provision (nonce check reached)", () => {
    const { command } = translateKubectlProvisionArgs(["cas", "mycas", "-n", "ns", "--nonce", "xyz"]);
    const r = resolveCommand(rootCommand, command);
    expect(r.path).toEqual(["cas", "provision"]);
    const v = validateArgs(r.command, r.rest);
    expect(!v.ok && v.message).toContain("--nonce");
    const ok = translateKubectlProvisionArgs(["cas", "mycas", "-n", "ns", "-o", "o.toml", "--nonce", NONCE]).command;
    const r2 = resolveCommand(rootCommand, ok);
    const v2 = validateArgs(r2.command, r2.rest);
    expect(v2.ok && v2.values).toMatchObject({
      name: "mycas",
      namespace: "ns",
      "owner-config": "o.toml",
      nonce: NONCE,
    });
  });
});

describe("detectPersonality", () => {
  test("by the name the binary was called by: symlink (argv0) or copy (execPath)", () => {
    expect(detectPersonality({ argv0: "/usr/local/bin/kubectl-provision", execPath: "/opt/scone" })).toBe(
      "kubectl-provision",
    );
    expect(detectPersonality({ argv0: "kubectl-provision", execPath: "/opt/scone" })).toBe("kubectl-provision");
    expect(detectPersonality({ argv0: "x", execPath: "/home/u/bin/kubectl-provision" })).toBe("kubectl-provision");
    expect(detectPersonality({ argv0: "C:\\bin\\kubectl-provision.exe" })).toBe("kubectl-provision");
    expect(detectPersonality({ argv0: "./scone", execPath: "/tmp/scone" })).toBe("scone");
    expect(detectPersonality({ argv0: "kubectl-provisioner" })).toBe("scone");
    expect(detectPersonality({ argv0: "bun", env: { SCONE_PERSONALITY: "kubectl-provision" } })).toBe(
      "kubectl-provision",
    );
  });
});
