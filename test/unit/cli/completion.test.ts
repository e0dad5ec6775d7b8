import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rootCommand } from "../../../src/cli/commands/root.ts";
import { collectPaths, renderCompletion } from "../../../src/cli/completion.ts";

const bash = Bun.which("bash");

/** Sources the generated bash script and asks it to complete `words` (the last word is being typed). */
function bashComplete(words: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), "scone-completion-"));
  const script = join(dir, "scone.bash");
  writeFileSync(script, renderCompletion("bash", rootCommand));
  const quoted = words.map((w) => `'${w}'`).join(" ");
  const program = `source '${script}'; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _scone_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = Bun.spawnSync([bash as string, "-c", program]);
  if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  return r.stdout.toString().split("\n").filter(Boolean);
}

describe("collectPaths", () => {
  test("lists every command path with its subcommands and flags", () => {
    const paths = collectPaths(rootCommand);
    const keys = paths.map((p) => p.key);
    expect(keys).toContain("cas_provision");
    expect(keys).toContain("api_token_revoke");
    const provision = paths.find((p) => p.key === "cas_provision");
    const nonce = provision?.flags.find((f) => f.long.includes("nonce"));
    expect(nonce?.values).toEqual([]);
    const backup = provision?.flags.find((f) => f.long.includes("no-backup"));
    expect(backup?.values).toBeUndefined();
  });
});

describe.skipIf(!bash)("bash completion (run in bash)", () => {
  test("the script is valid bash", () => {
    const r = Bun.spawnSync([bash as string, "-n"], {
      stdin: new TextEncoder().encode(renderCompletion("bash", rootCommand)),
    });
    expect(r.exitCode).toBe(0);
  });
  test("top-level commands", () => {
    expect(bashComplete(["scone", ""])).toEqual([
      "operator",
      "cas",
      "policy",
      "vault",
      "api",
      "doctor",
      "images",
      "manifests",
      "completion",
      "version",
    ]);
  });
  test("nested commands, through global flags and their values", () => {
    expect(bashComplete(["scone", "-n", "prod", "cas", "pro"])).toEqual(["provision"]);
    expect(bashComplete(["scone", "api", "token", ""])).toEqual(["create", "list", "revoke"]);
  });
  test("flags of the command reached, incl. --no- forms", () => {
    expect(bashComplete(["scone", "cas", "provision", "x", "--no-"])).toEqual([
      "--no-backup",
      "--no-image-signature-check",
      "--no-docker",
    ]);
    expect(bashComplete(["scone", "operator", "install", "--on"])).toEqual(["--only-operator", "--only-plugin"]);
  });
  test("enum values and positional choices", () => {
    expect(bashComplete(["scone", "version", "-o", ""])).toEqual(["text", "json", "yaml"]);
    expect(bashComplete(["scone", "cas", "status", "x", "--log-level", "w"])).toEqual(["warn"]);
    expect(bashComplete(["scone", "completion", ""])).toEqual(["bash", "zsh", "fish"]);
    expect(bashComplete(["scone", "manifests", "c"])).toEqual(["crds"]);
  });
  test("free values get no candidates; file and directory values complete paths", () => {
    expect(bashComplete(["scone", "cas", "provision", "x", "--nonce", ""])).toEqual([]);
    expect(bashComplete(["scone", "-n", ""])).toEqual([]);
    expect(bashComplete(["scone", "cas", "provision", "x", "--target", "/"])).toContain("/tmp");
  });
});

describe("zsh and fish scripts", () => {
  test("zsh: compdef header, path steps, described flags and enum values", () => {
    const zsh = renderCompletion("zsh", rootCommand);
    expect(zsh.startsWith("#compdef scone\n")).toBe(true);
    expect(zsh).toContain("'cas/provision') cmdpath='cas_provision';;");
    expect(zsh).toContain("'--nonce:Provisioning nonce, 32 hex characters (default: random)'");
    expect(zsh).toContain("--output|-o) compadd -- 'text' 'json' 'yaml'; return;;");
    expect(zsh).toContain("--namespace|-n) _message 'NS'; return;;");
    expect(zsh).toContain("--kubeconfig) _files; return;;");
    expect(zsh).toContain("compdef _scone scone");
  });
  test("fish: one complete line per subcommand and flag, conditioned on the command path", () => {
    const fish = renderCompletion("fish", rootCommand);
    expect(fish).toContain(
      "complete -c scone -n '__scone_path_is' -a 'cas' -d 'Provision and operate SCONE CAS instances'",
    );
    expect(fish).toContain("complete -c scone -n '__scone_path_is cas_provision' -l nonce -x");
    expect(fish).toContain("complete -c scone -n '__scone_path_is cas_provision' -l target -r -F");
    expect(fish).toContain("-n '__scone_path_is cas_provision' -l output -s o -x -a 'text json yaml'");
    expect(fish).toContain("-n '__scone_path_is completion' -a 'bash zsh fish'");
  });
  test("an apostrophe in a description is escaped for the shell", () => {
    const fish = renderCompletion("fish", rootCommand);
    expect(fish).toContain("Upstream'\\''s short form -o is --output here'");
  });
});
