// The two CliRunner shells: a local program run for real (a shell script standing in for the CLI reports what it
// was given), and the pod runner against a fake exec that records each command.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type CliPodExec,
  CliRunError,
  cliEnvironment,
  LocalCliRunner,
  PodCliRunner,
} from "../../../../src/cas/driver/runner.ts";

const REPORT = [
  "sh",
  "-c",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
  'for f; do if [ -f "$f" ]; then echo "file $(stat -c %a "$f") dir $(stat -c %a "$(dirname "$f")") $f $(cat "$f")"; fi; done; echo "cfg=$SCONE_CLI_CONFIG id=${SCONE_CONFIG_ID-unset} secret=${MY_SECRET-unset} extra=${SCONE_CLI_RETRIES-unset}"',
  "sh",
];

describe("LocalCliRunner", () => {
  test("inputs are 0600 files in a private 0700 directory, removed after the call; argv names their paths", async () => {
    const runner = new LocalCliRunner({ binary: REPORT, configPath: "/owner/identity/config.json" });
    const r = await runner.run(["session", "check", { inputFile: "session.yml" }], {}, [
      { name: "session.yml", content: "name: x" },
    ]);
    expect(r.exitCode).toBe(0);
    const line = r.stdout.split("\n").find((l) => l.startsWith("file "))!;
    const [, mode, , dirMode, path, content] = line.split(" ");
    expect(mode).toBe("600");
    expect(dirMode).toBe("700");
    expect(path).toEndWith("/session.yml");
    expect(content).toBe("name:");
    expect(existsSync(path!)).toBe(false);
  });

  test("SCONE_CLI_CONFIG is set, SCONE_CONFIG_ID removed, scone's own environment not passed on", async () => {
    const runner = new LocalCliRunner({
      binary: REPORT,
      configPath: "/owner/identity/config.json",
      env: { SCONE_CLI_RETRIES: "0" },
      inherit: { PATH: process.env.PATH, SCONE_CONFIG_ID: "leaked", MY_SECRET: "s3cr3t" },
    });
    const r = await runner.run([], { SCONE_CONFIG_ID: "again" }, []);
    expect(r.stdout).toContain("cfg=/owner/identity/config.json id=unset secret=unset extra=0");
  });

  test("cliEnvironment refuses a malformed variable name", () => {
    expect(() => cliEnvironment({}, { "A=B": "x" }, undefined)).toThrow(CliRunError);
    expect(cliEnvironment({ PATH: "/bin" }, {}, undefined)).toEqual({ PATH: "/bin" });
  });

  test("a bad or repeated input name, or an argv naming a file not given, is refused before anything runs", async () => {
    const runner = new LocalCliRunner({ binary: ["false"] });
    await expect(runner.run([], {}, [{ name: "../x.yml", content: "" }])).rejects.toThrow(/not a bare name/);
    await expect(
      runner.run([], {}, [
        { name: "a.yml", content: "" },
        { name: "a.yml", content: "" },
      ]),
    ).rejects.toThrow(/given twice/);
    await expect(runner.run([{ inputFile: "b.yml" }], {}, [])).rejects.toThrow(/not given/);
  });

  test("stdout beyond the bound fails the call; stderr keeps its head", async () => {
    const runner = new LocalCliRunner({
      binary: ["sh", "-c", "head -c 200000 /dev/zero | tr '\\0' a"],
      maxStdoutBytes: 1000,
    });
    await expect(runner.run([], {}, [])).rejects.toThrow(/more than 1000 bytes/);
    const loud = new LocalCliRunner({ binary: ["sh", "-c", "head -c 200000 /dev/zero | tr '\\0' e >&2; exit 3"] });
    const r = await loud.run([], {}, []);
    expect(r.exitCode).toBe(3);
    expect(r.stderr.length).toBe(64 * 1024);
  });

  test("a CLI that does not finish in time is killed and reported", async () => {
    const runner = new LocalCliRunner({ binary: ["sleep", "30"], timeoutMs: 200 });
    await expect(runner.run([], {}, [])).rejects.toThrow(/did not finish within 200 ms/);
  });

  test("temp files go under the given root and leave nothing behind", async () => {
    const root = mkdtempSync(join(tmpdir(), "runner-root-"));
    try {
      const runner = new LocalCliRunner({ binary: REPORT, tempRoot: root });
      const r = await runner.run([{ inputFile: "owner-config.toml" }], {}, [
        { name: "owner-config.toml", content: "a" },
      ]);
      expect(r.stdout).toContain(root);
      expect(Array.from(new Bun.Glob("*").scanSync({ cwd: root, onlyFiles: false }))).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("PodCliRunner", () => {
  function fakeExec(answers: Record<string, { exitCode: number; stdout?: string; stderr?: string }>) {
    const calls: Parameters<CliPodExec>[0][] = [];
    const exec: CliPodExec = async (o) => {
      calls.push(o);
      const a = answers[o.command[0]!] ?? { exitCode: 0 };
      return { exitCode: a.exitCode, stdout: new TextEncoder().encode(a.stdout ?? ""), stderr: a.stderr ?? "" };
    };
    return { exec, calls };
  }

  test("mkdir 700, each input by exclusive cat with umask 077, the CLI through env -u SCONE_CONFIG_ID, then rm -rf", async () => {
    const { exec, calls } = fakeExec({ env: { exitCode: 0, stdout: "hash\n" } });
    const runner = new PodCliRunner({
      exec,
      namespace: "ns",
      pod: "cas-cli",
      container: "cli",
      configPath: "/cas/identity/config.json",
    });
    const r = await runner.run(["session", "create", { inputFile: "session.yml" }], { SCONE_CLI_RETRIES: "1" }, [
      { name: "session.yml", content: "name: a\n" },
    ]);
    expect(r).toEqual({ exitCode: 0, stdout: "hash\n", stderr: "" });
    expect(calls.map((c) => c.command[0])).toEqual(["mkdir", "sh", "env", "rm"]);
    const dir = calls[0]!.command.at(-1)!;
    expect(calls[0]!.command).toEqual(["mkdir", "-m", "700", "--", dir]);
    expect(dir).toMatch(/^\/tmp\/scone-cli-[0-9a-f]{24}$/);
    expect(calls[1]!.command).toEqual(["sh", "-c", 'set -C && umask 077 && cat > "$1"', "sh", `${dir}/session.yml`]);
    expect(new TextDecoder().decode(calls[1]!.stdin as Uint8Array)).toBe("name: a\n");
    expect(calls[2]!.command).toEqual([
      "env",
      "-u",
      "SCONE_CONFIG_ID",
      "SCONE_CLI_RETRIES=1",
      "SCONE_CLI_CONFIG=/cas/identity/config.json",
      "/opt/scone/bin/rust-cli",
      "session",
      "create",
      `${dir}/session.yml`,
    ]);
    expect(calls[3]!.command).toEqual(["rm", "-rf", "--", dir]);
    expect(calls.every((c) => c.namespace === "ns" && c.pod === "cas-cli" && c.container === "cli")).toBe(true);
  });

  test("a failed upload stops before the CLI runs, and the directory is still removed", async () => {
    const { exec, calls } = fakeExec({ sh: { exitCode: 1, stderr: "sh: file exists" } });
    const runner = new PodCliRunner({ exec, namespace: "ns", pod: "p" });
    await expect(runner.run([{ inputFile: "a.yml" }], {}, [{ name: "a.yml", content: "x" }])).rejects.toThrow(
      /writing a.yml failed \(exit 1\): sh: file exists/,
    );
    expect(calls.map((c) => c.command[0])).toEqual(["mkdir", "sh", "rm"]);
  });

  test("the CLI's exit code and stderr come back unchanged", async () => {
    const { exec } = fakeExec({ env: { exitCode: 2, stderr: "not found" } });
    const r = await new PodCliRunner({ exec, namespace: "ns", pod: "p", binary: "scone" }).run(
      ["session", "read"],
      {},
      [],
    );
    expect(r).toEqual({ exitCode: 2, stdout: "", stderr: "not found" });
  });
});
