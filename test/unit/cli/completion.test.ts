import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rootCommand } from "../../../src/cli/commands/root.ts";
import { collectPaths, renderCompletion } from "../../../src/cli/completion.ts";

const bash = Bun.which("bash");

/**
 * A stand-in `scone` on PATH answering `scone __complete`: namespaces, and CAS names that depend on the -n the
 * line carries (so a test sees the typed words reach it).
 */
const STUB = `#!/bin/sh
[ "$1" = __complete ] || exit 1
case "$2" in
  namespace) printf 'default\\nprod-a\\nprod-b\\n' ;;
  cas) case " $* " in *" prod-a "*) printf 'cas-a1\\ncas-a2\\n' ;; *) printf 'cas-x\\n' ;; esac ;;
esac
`;

/** Sources the generated bash script and asks it to complete `words` (the last word is being typed). */
function bashComplete(words: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), "scone-completion-"));
  const script = join(dir, "scone.bash");
  writeFileSync(script, renderCompletion("bash", rootCommand));
  writeFileSync(join(dir, "scone"), STUB, { mode: 0o755 });
  const quoted = words.map((w) => `'${w}'`).join(" ");
  const program = `source '${script}'; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _scone_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = Bun.spawnSync([bash as string, "-c", program], { env: { PATH: `${dir}:/usr/bin:/bin` } });
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
    expect(bashComplete(["scone", "cas", "provision", "x", "--target", "/"])).toContain("/tmp");
  });
});

describe.skipIf(!bash)("names from the cluster (bash, scone __complete answering)", () => {
  test("a --namespace value completes with the cluster's namespaces", () => {
    expect(bashComplete(["scone", "-n", "pr"])).toEqual(["prod-a", "prod-b"]);
    expect(bashComplete(["scone", "cas", "status", "x", "--namespace", ""])).toEqual(["default", "prod-a", "prod-b"]);
  });
  test("a CAS name completes with the CASes of the namespace typed on the line", () => {
    expect(bashComplete(["scone", "cas", "status", "-n", "prod-a", ""])).toEqual(["cas-a1", "cas-a2"]);
    expect(bashComplete(["scone", "cas", "upgrade", "c"])).toEqual(["cas-x"]);
    expect(bashComplete(["scone", "policy", "sign", "--cas", ""])).toEqual(["cas-x"]);
  });
  test("commands without a CAS argument offer no names", () => {
    expect(bashComplete(["scone", "version", ""])).toEqual([]);
  });
});

describe("zsh and fish scripts", () => {
  test("zsh: compdef header, path steps, described flags and enum values", () => {
    const zsh = renderCompletion("zsh", rootCommand);
    expect(zsh.startsWith("#compdef scone\n")).toBe(true);
    expect(zsh).toContain("'cas/provision') cmdpath='cas_provision';;");
    expect(zsh).toContain("'--nonce:Provisioning nonce, 32 hex characters (default: random)'");
    expect(zsh).toContain("--output|-o) compadd -- 'text' 'json' 'yaml'; return;;");
    expect(zsh).toContain(
      `--namespace|-n) compadd -- \${(f)"$(scone __complete namespace \${words[2,CURRENT-1]} 2>/dev/null)"}; return;;`,
    );
    expect(zsh).toContain(`subs+=(\${(f)"$(scone __complete cas \${words[2,CURRENT-1]} 2>/dev/null)"})`);
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
    expect(fish).toContain(
      "-n '__scone_path_is cas_status' -a '(scone __complete cas (commandline -opc)[2..-1] 2>/dev/null)'",
    );
    expect(fish).toContain(
      "-l namespace -s n -x -a '(scone __complete namespace (commandline -opc)[2..-1] 2>/dev/null)'",
    );
  });
  test("an apostrophe in a description is escaped for the shell", () => {
    const fish = renderCompletion("fish", rootCommand);
    expect(fish).toContain("Upstream'\\''s short form -o is --output here'");
  });
});
