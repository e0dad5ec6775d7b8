import { describe, expect, test } from "bun:test";
import { rootCommand } from "../../../src/cli/commands/root.ts";
import { command } from "../../../src/cli/define.ts";
import { closest, levenshtein, resolveCommand, validateArgs, wantsHelp } from "../../../src/cli/validate.ts";

function check(argv: string[]) {
  const { command: cmd, path, rest } = resolveCommand(rootCommand, argv);
  return { path, verdict: validateArgs(cmd, rest) };
}

function errorOf(argv: string[]): string {
  const { verdict } = check(argv);
  if (verdict.ok) throw new Error(`expected ${argv.join(" ")} to be rejected`);
  return verdict.message;
}

const NONCE = "0123456789abcdef0123456789ABCDEF";

describe("resolveCommand", () => {
  test("walks subcommand names and keeps flags given before them", () => {
    const r = resolveCommand(rootCommand, [
      "-n",
      "prod",
      "cas",
      "--log-level",
      "debug",
      "provision",
      "mycas",
      "--wait",
    ]);
    expect(r.path).toEqual(["cas", "provision"]);
    expect(r.rest).toEqual(["-n", "prod", "--log-level", "debug", "mycas", "--wait"]);
  });

  test("a flag value equal to a command name is not taken for the command", () => {
    const r = resolveCommand(rootCommand, ["-n", "cas", "version"]);
    expect(r.path).toEqual(["version"]);
    expect(r.rest).toEqual(["-n", "cas"]);
  });

  test("stops at the first word that is not a subcommand", () => {
    const r = resolveCommand(rootCommand, ["operator", "mycas", "install"]);
    expect(r.path).toEqual(["operator"]);
    expect(r.rest).toEqual(["mycas", "install"]);
  });

  test("everything after -- is left alone", () => {
    expect(resolveCommand(rootCommand, ["--", "cas"]).path).toEqual([]);
  });
});

describe("validateArgs on the real command tree", () => {
  test("provision's --no-image-signature-check is not ignored silently: a note says it changes nothing there", () => {
    const { verdict } = check(["cas", "provision", "mycas", "--no-image-signature-check"]);
    if (!verdict.ok) throw new Error(verdict.message);
    expect(verdict.notes.join("\n")).toContain("provisioning verifies no image signature");
  });

  test("accepts a full upstream-style provision command line", () => {
    const { verdict } = check([
      "cas",
      "provision",
      "mycas",
      "-n",
      "prod",
      "-d",
      "abc",
      "--owner-config",
      "o.toml",
      "-o",
      "json",
      "--nonce",
      NONCE,
      "--no-backup",
      "-f",
      "patch.json",
      "-v",
      "--set-tolerations",
      "--accept-configuration-needed --x",
      "--set-toleration=--y",
      "--cas-client-port",
      "8081",
    ]);
    if (!verdict.ok) throw new Error(verdict.message);
    expect(verdict.values).toMatchObject({
      name: "mycas",
      namespace: "prod",
      "dcap-api": "abc",
      "owner-config": "o.toml",
      output: "json",
      nonce: NONCE,
      backup: false,
      filename: "patch.json",
      verbose: true,
      "set-tolerations": "--y",
      "cas-client-port": "8081",
    });
  });

  test("unknown flag names the command-relative flag and suggests the closest one", () => {
    expect(errorOf(["cas", "provision", "x", "--foo"])).toBe("unknown flag --foo (did you mean --force?)");
    expect(errorOf(["cas", "provision", "x", "--nonse", NONCE])).toBe("unknown flag --nonse (did you mean --nonce?)");
    expect(errorOf(["cas", "provision", "x", "--no-backups"])).toContain("did you mean --no-backup?");
    expect(errorOf(["version", "--zzzzzz"])).toBe("unknown flag --zzzzzz");
    expect(errorOf(["cas", "provision", "x", "-q"])).toBe("unknown flag -q");
  });

  test("missing and surplus positionals", () => {
    expect(errorOf(["cas", "provision"])).toBe("missing argument NAME");
    expect(errorOf(["cas", "provision", "a", "b"])).toBe("unexpected argument 'b'");
    expect(errorOf(["cas", "provison"])).toBe("unknown command 'provison' (did you mean 'provision'?)");
    expect(check(["cas", "audit"]).verdict.ok).toBe(true); // NAME defaults to cas, as upstream kubectl audit
  });

  test("bad values name the flag and the fix", () => {
    expect(errorOf(["cas", "provision", "x", "--nonce", "xyz"])).toContain(
      "for --nonce: expected exactly 32 hexadecimal",
    );
    expect(errorOf(["api", "--port", "0"])).toContain("--port: expected a port number between 1 and 65535");
    expect(errorOf(["api", "--port", "80a"])).toContain("--port");
    expect(errorOf(["version", "-o", "xml"])).toBe(
      "invalid value 'xml' for --output: expected one of text, json, yaml",
    );
    expect(errorOf(["cas", "status", "x", "-n", "Bad_NS"])).toContain("--namespace");
    expect(errorOf(["cas", "provision", "x", "--upgrade", "latest"])).toContain("expected a SCONE version");
    expect(errorOf(["cas", "provision", "sixteen-chars-xx"])).toContain("longer than 15 characters");
    expect(errorOf(["cas", "provision", "x", "--wait=maybe"])).toContain("it is a switch");
    expect(errorOf(["cas", "provision", "x", "--no-nonce"])).toBe("--no-nonce is not a flag: --nonce takes a value");
    expect(errorOf(["operator", "install", "--timeout", "-5"])).toContain("--timeout");
  });

  test("a flag that needs a value does not swallow the next flag", () => {
    expect(errorOf(["cas", "provision", "x", "--dcap-api", "--wait"])).toBe("flag --dcap-api needs a value (KEY)");
    expect(errorOf(["cas", "provision", "x", "--dcap-api"])).toBe("flag --dcap-api needs a value (KEY)");
  });

  test("short flags glued to their value and --flag=value", () => {
    const { verdict } = check(["cas", "status", "x", "-nprod", "--output=json"]);
    expect(verdict.ok && verdict.values).toMatchObject({ namespace: "prod", output: "json" });
  });

  test("mutually dependent flags", () => {
    expect(errorOf(["cas", "provision", "x", "--force"])).toBe("--force can only be used with --upgrade");
    expect(check(["cas", "provision", "x", "--force", "--upgrade", "6.0.6"]).verdict.ok).toBe(true);
    expect(errorOf(["cas", "provision", "x", "--verify", "--is-provisioned"])).toBe(
      "--is-provisioned and --verify cannot be used together",
    );
    expect(errorOf(["cas", "provision", "x", "--wait", "--no-backup"])).toBe("--wait cannot be used with --no-backup");
    expect(errorOf(["operator", "install", "--username", "u", "--email", "e"])).toBe(
      "--username, --access-token, --email must be given together (missing --access-token)",
    );
    expect(check(["operator", "install", "--username", "u", "--access-token", "t", "--email", "e"]).verdict.ok).toBe(
      true,
    );
    expect(errorOf(["api", "--tls-key", import.meta.path])).toContain("missing --tls-cert");
    expect(errorOf(["operator", "install", "--helm-use-configmap", "--helm-use-secret"])).toContain(
      "cannot be used together",
    );
  });

  test("upstream-only flags: harmless ones are accepted with a note, others refused with a hint", () => {
    // --no-docker does something (the local SCONE CLI), so it carries no "ignored" note.
    const docker = check(["cas", "provision", "x", "--no-docker"]).verdict;
    expect(docker.ok && docker.notes).toEqual([]);
    const plugin = check(["operator", "install", "--plugin"]).verdict;
    expect(plugin.ok && plugin.notes[0]).toContain("--plugin is ignored");
    const refused = check(["operator", "install", "--only-plugin"]).verdict;
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.hint).toContain("kubectl-provision");
  });

  test("required flags", () => {
    expect(errorOf(["cas", "upgrade", "x"])).toBe("missing required flag --to-version VERSION");
    expect(errorOf(["policy", "sign"])).toBe("missing the policy file: give FILE or --filename FILE");
  });
});

describe("validateArgs on a synthetic command", () => {
  const cmd = command({
    meta: { name: "t", description: "test" },
    args: { level: { type: "enum", options: ["a", "b"], alias: "l" }, on: { type: "boolean", default: true } },
    globals: [],
  });
  test("enum through its alias, negated boolean, -- ends flags", () => {
    const v = validateArgs(cmd, ["-l", "b", "--no-on", "--", "--x"]);
    expect(v.ok).toBe(false); // "--x" after -- is a positional, and t takes none
    const ok = validateArgs(cmd, ["-l", "b", "--no-on"]);
    expect(ok.ok && ok.values).toEqual({ level: "b", on: false });
    expect(validateArgs(cmd, ["--on=false"]).ok && validateArgs(cmd, ["--on=false"])).toMatchObject({
      values: { on: false },
    });
  });
});

describe("helpers", () => {
  test("levenshtein and closest", () => {
    expect(levenshtein("kitten", "sitting")).toBe(3);
    expect(levenshtein("", "abc")).toBe(3);
    expect(closest("verfy", ["verify", "version"])).toBe("verify");
    expect(closest("qqqq", ["verify", "version"])).toBeUndefined();
    expect(closest("print", ["print-public-keys"])).toBe("print-public-keys");
  });
  test("wantsHelp looks before -- only", () => {
    expect(wantsHelp(["cas", "-h"])).toBe(true);
    expect(wantsHelp(["--", "--help"])).toBe(false);
  });
});

describe("file flags", () => {
  test("a missing or non-regular file is named with its flag", () => {
    expect(errorOf(["api", "--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"])).toBe(
      "invalid value '/nonexistent/cert.pem' for --tls-cert: no such file",
    );
    expect(errorOf(["policy", "verify", "-f", "/"])).toBe("invalid value '/' for --filename: not a regular file");
    expect(check(["policy", "verify", "-f", import.meta.path]).verdict.ok).toBe(true);
  });
});

// Issue 11 item 2: values that end up in image references and manifests are refused by their grammar on every
// command that takes them, naming the flag, before the command runs.
describe("flag grammars", () => {
  const INJECTED = "evil.example/x\n  tolerations:\n    - operator: Exists";
  test.each([
    [["cas", "provision", "cas", "--image-registry", INJECTED], "--image-registry"],
    [["cas", "restore", "new", "--from", "/b", "--image-registry", "a b"], "--image-registry"],
    [["operator", "install", "--image-prefix", "osc-\nx: y"], "--image-prefix"],
    [["operator", "install", "--registry", "reg.example/path"], "--registry"],
    [["operator", "install", "--operator-image", "op:1\nkind: Pod"], "--operator-image"],
    [["images", "--image-prefix", "Upper-"], "--image-prefix"],
    [["cas", "provision", "cas", "--image-overwrite", "cas:6.0.6 --privileged"], "--image-overwrite"],
    [["cas", "provision", "cas", "--set-version", "6.0.6+build"], "--set-version"],
  ])("%j is refused naming %s", (argv, flag) => {
    expect(errorOf(argv)).toStartWith("invalid value ");
    expect(errorOf(argv)).toContain(` for ${flag}: expected`);
  });

  test("the newline is shown escaped, so the message is one line", () => {
    expect(errorOf(["cas", "provision", "cas", "--image-registry", INJECTED])).not.toContain("\n");
  });

  test("valid mirrors, prefixes and references pass", () => {
    for (const argv of [
      ["cas", "provision", "cas", "--image-registry", "https://mirror.local:5000/scone/"],
      ["cas", "provision", "cas", "--image-overwrite", `mirror.local:5000/scone/cas:6.0.6@sha256:${"a".repeat(64)}`],
      ["operator", "install", "--image-prefix", "osc-", "--registry", "mirror.local:5000"],
      ["images", "--image-registry", "[::1]:5000/scone", "--set-version", "7.0.0-alpha.2"],
    ]) {
      expect(check(argv).verdict.ok).toBe(true);
    }
  });
});
