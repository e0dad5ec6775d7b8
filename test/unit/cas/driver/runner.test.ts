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
  type Kind = "write" | "run" | "read" | "rm";
  const kindOf = (command: readonly string[]): Kind =>
    command[0] === "rm"
      ? "rm"
      : command[2]?.includes("wc -c")
        ? "write"
        : command[2]?.includes("shift 3")
          ? "run"
          : "read";
  function fakeExec(answers: Partial<Record<Kind, { exitCode: number; stdout?: string; stderr?: string }[]>>) {
    const calls: Parameters<CliPodExec>[0][] = [];
    const exec: CliPodExec = async (o) => {
      calls.push(o);
      const a = answers[kindOf(o.command)]?.shift() ?? { exitCode: 0 };
      return { exitCode: a.exitCode, stdout: new TextEncoder().encode(a.stdout ?? ""), stderr: a.stderr ?? "" };
    };
    return { exec, calls, kinds: () => calls.map((c) => kindOf(c.command)) };
  }

  test("an input is uploaded exclusively with its size checked, the CLI runs through env -u SCONE_CONFIG_ID and the directory goes in the same exec", async () => {
    const { exec, calls, kinds } = fakeExec({ run: [{ exitCode: 0, stdout: "hash\n" }] });
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
    expect(kinds()).toEqual(["write", "run"]);
    const [write, run] = calls;
    const dir = write!.command.at(-1)!;
    expect(dir).toMatch(/^\/tmp\/scone-cli-[0-9a-f]{24}$/);
    // path, size, "new" = make the directory first (mkdir -m 700 fails if anything is there), the directory.
    expect(write!.command.slice(3)).toEqual(["sh", `${dir}/session.yml`, "8", "new", dir]);
    expect(write!.command[2]).toContain("umask 077");
    expect(write!.command[2]).toContain("set -C");
    expect(write!.command[2]).toContain('mkdir -m 700 -- "$4"');
    expect(new TextDecoder().decode(write!.stdin as Uint8Array)).toBe("name: a\n");
    expect(run!.command.slice(3)).toEqual([
      "sh",
      dir,
      "old",
      "rm",
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
    expect(calls.every((c) => c.namespace === "ns" && c.pod === "cas-cli" && c.container === "cli")).toBe(true);
  });

  test("a call without inputs is one exec that makes and removes its directory", async () => {
    const { exec, calls, kinds } = fakeExec({});
    await new PodCliRunner({ exec, namespace: "ns", pod: "p" }).run(["--version"], {}, []);
    expect(kinds()).toEqual(["run"]);
    expect(calls[0]!.command.slice(5, 7)).toEqual(["new", "rm"]);
  });

  test("an input that arrives short is written again; one that keeps arriving short fails before the CLI runs", async () => {
    const short = { exitCode: 97, stderr: "" };
    const once = fakeExec({ write: [short] });
    await new PodCliRunner({ exec: once.exec, namespace: "ns", pod: "p" }).run([{ inputFile: "a.yml" }], {}, [
      { name: "a.yml", content: "x" },
    ]);
    expect(once.kinds()).toEqual(["write", "write", "run"]);
    // The retry does not make the directory again (it exists): "old".
    expect(once.calls.slice(0, 2).map((c) => c.command[6])).toEqual(["new", "old"]);
    const always = fakeExec({ write: [short, short, short] });
    await expect(
      new PodCliRunner({ exec: always.exec, namespace: "ns", pod: "p" }).run([{ inputFile: "a.yml" }], {}, [
        { name: "a.yml", content: "x" },
      ]),
    ).rejects.toThrow(/writing a.yml arrived short 3 times/);
    expect(always.kinds()).toEqual(["write", "write", "write", "rm"]);
  });

  test("a failed upload stops before the CLI runs, and the directory is still removed", async () => {
    const { exec, kinds } = fakeExec({ write: [{ exitCode: 95, stderr: "sh: file exists" }] });
    const runner = new PodCliRunner({ exec, namespace: "ns", pod: "p" });
    await expect(runner.run([{ inputFile: "a.yml" }], {}, [{ name: "a.yml", content: "x" }])).rejects.toThrow(
      /writing a.yml failed \(exit 95\): sh: file exists/,
    );
    expect(kinds()).toEqual(["write", "rm"]);
  });

  test("the CLI's exit code and stderr come back unchanged; the runner's own failure is not taken for the CLI's", async () => {
    const { exec } = fakeExec({ run: [{ exitCode: 2, stderr: "not found" }] });
    const r = await new PodCliRunner({ exec, namespace: "ns", pod: "p", binary: "scone" }).run(
      ["session", "read"],
      {},
      [],
    );
    expect(r).toEqual({ exitCode: 2, stdout: "", stderr: "not found" });
    const broken = fakeExec({ run: [{ exitCode: 125, stderr: "scone-runner: cannot create /tmp/x" }] });
    await expect(new PodCliRunner({ exec: broken.exec, namespace: "ns", pod: "p" }).run([], {}, [])).rejects.toThrow(
      CliRunError,
    );
  });

  test("with a travelling config and read-back, the directory is kept for the read and removed by it", async () => {
    const { exec, calls, kinds } = fakeExec({ read: [{ exitCode: 0, stdout: '{"identity":"x"}' }] });
    const r = await new PodCliRunner({ exec, namespace: "ns", pod: "p" }).runWithConfig(["cas", "attest"], {}, [], {
      content: new TextEncoder().encode("{}"),
      readBack: true,
    });
    expect(kinds()).toEqual(["write", "run", "read"]);
    const dir = calls[0]!.command.at(-1)!;
    expect(calls[1]!.command.slice(5, 7)).toEqual(["old", "keep"]);
    expect(calls[1]!.command).toContain(`SCONE_CLI_CONFIG=${dir}/config.json`);
    expect(calls[2]!.command.slice(-2)).toEqual([`${dir}/config.json`, dir]);
    expect(new TextDecoder().decode(r.config)).toBe('{"identity":"x"}');
  });
});
