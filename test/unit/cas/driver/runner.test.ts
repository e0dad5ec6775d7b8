// The two CliRunner shells: a local program run for real (a shell script standing in for the CLI reports what it
// was given), and the pod runner against a fake exec that records each command.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
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
      : command[2]?.includes("shift 5")
        ? "run"
        : command[2]?.includes("wc -c")
          ? "write"
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

  test("one input travels with the CLI's exec: written exclusively with its size checked, then the CLI runs through env -u SCONE_CONFIG_ID, the directory removed in the same exec", async () => {
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
    expect(kinds()).toEqual(["run"]);
    const [run] = calls;
    const dir = run!.command[4]!;
    expect(dir).toMatch(/^\/tmp\/scone-cli-[0-9a-f]{24}$/);
    expect(run!.command[2]).toContain("umask 077");
    expect(run!.command[2]).toContain("set -C");
    expect(run!.command[2]).toContain('mkdir -m 700 -- "$d"');
    expect(run!.command[2]).toContain('"$@" < /dev/null');
    expect(new TextDecoder().decode(run!.stdin as Uint8Array)).toBe("name: a\n");
    // directory, "new" = make it first (mkdir -m 700 fails if anything is there), "rm" after, the input and its size.
    expect(run!.command.slice(3)).toEqual([
      "sh",
      dir,
      "new",
      "rm",
      `${dir}/session.yml`,
      "8",
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

  test("with two inputs the first is uploaded on its own (exclusive, size checked), the second with the CLI", async () => {
    const { exec, calls, kinds } = fakeExec({});
    await new PodCliRunner({ exec, namespace: "ns", pod: "p" }).run(
      [{ inputFile: "a.yml" }, { inputFile: "b.yml" }],
      {},
      [
        { name: "a.yml", content: "aa" },
        { name: "b.yml", content: "b" },
      ],
    );
    expect(kinds()).toEqual(["write", "run"]);
    const [write, run] = calls;
    const dir = write!.command.at(-1)!;
    expect(write!.command.slice(3)).toEqual(["sh", `${dir}/a.yml`, "2", "new", dir]);
    expect(write!.command[2]).toContain("set -C");
    expect(run!.command.slice(4, 9)).toEqual([dir, "old", "rm", `${dir}/b.yml`, "1"]);
    expect(new TextDecoder().decode(run!.stdin as Uint8Array)).toBe("b");
  });

  test("a call without inputs is one exec that makes and removes its directory", async () => {
    const { exec, calls, kinds } = fakeExec({});
    await new PodCliRunner({ exec, namespace: "ns", pod: "p" }).run(["--version"], {}, []);
    expect(kinds()).toEqual(["run"]);
    expect(calls[0]!.command.slice(5, 7)).toEqual(["new", "rm"]);
  });

  test("an input that arrives short is written again; one that keeps arriving short fails before the CLI runs", async () => {
    const short = { exitCode: 125, stderr: "scone-runner: input arrived short: /tmp/x/a.yml" };
    const once = fakeExec({ run: [short] });
    await new PodCliRunner({ exec: once.exec, namespace: "ns", pod: "p" }).run([{ inputFile: "a.yml" }], {}, [
      { name: "a.yml", content: "x" },
    ]);
    expect(once.kinds()).toEqual(["run", "run"]);
    // The retry does not make the directory again (it exists): "old".
    expect(once.calls.map((c) => c.command[5])).toEqual(["new", "old"]);
    const always = fakeExec({ run: [short, short, short] });
    await expect(
      new PodCliRunner({ exec: always.exec, namespace: "ns", pod: "p" }).run([{ inputFile: "a.yml" }], {}, [
        { name: "a.yml", content: "x" },
      ]),
    ).rejects.toThrow(/writing a.yml arrived short 3 times/);
    expect(always.kinds()).toEqual(["run", "run", "run", "rm"]);
    // An input uploaded on its own (not the last) is retried the same way.
    const first = fakeExec({ write: [{ exitCode: 97, stderr: "" }] });
    await new PodCliRunner({ exec: first.exec, namespace: "ns", pod: "p" }).run(
      [{ inputFile: "a.yml" }, { inputFile: "b.yml" }],
      {},
      [
        { name: "a.yml", content: "x" },
        { name: "b.yml", content: "y" },
      ],
    );
    expect(first.kinds()).toEqual(["write", "write", "run"]);
  });

  test("a failed upload stops before the CLI runs, and the directory is still removed", async () => {
    const { exec, kinds } = fakeExec({ write: [{ exitCode: 95, stderr: "sh: file exists" }] });
    const runner = new PodCliRunner({ exec, namespace: "ns", pod: "p" });
    await expect(
      runner.run([{ inputFile: "a.yml" }, { inputFile: "b.yml" }], {}, [
        { name: "a.yml", content: "x" },
        { name: "b.yml", content: "y" },
      ]),
    ).rejects.toThrow(/writing a.yml failed \(exit 95\): sh: file exists/);
    expect(kinds()).toEqual(["write", "rm"]);
    const last = fakeExec({ run: [{ exitCode: 125, stderr: "scone-runner: cannot write /tmp/d/a.yml" }] });
    await expect(
      new PodCliRunner({ exec: last.exec, namespace: "ns", pod: "p" }).run([{ inputFile: "a.yml" }], {}, [
        { name: "a.yml", content: "x" },
      ]),
    ).rejects.toThrow(/cannot write \/tmp\/d\/a.yml/);
    expect(last.kinds()).toEqual(["run", "rm"]);
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
    expect(kinds()).toEqual(["run", "read"]);
    const dir = calls[0]!.command[4]!;
    expect(calls[0]!.command.slice(5, 9)).toEqual(["new", "keep", `${dir}/config.json`, "2"]);
    expect(calls[0]!.command).toContain(`SCONE_CLI_CONFIG=${dir}/config.json`);
    expect(calls[1]!.command.slice(-2)).toEqual([`${dir}/config.json`, dir]);
    expect(new TextDecoder().decode(r.config)).toBe('{"identity":"x"}');
  });
});

describe("PodCliRunner's scripts under a real sh (the exec runs them here instead of in a pod)", () => {
  const root = mkdtempSync(join(tmpdir(), "scone-pod-scripts-"));
  // Prints the input it is given, its mode and what it reads on stdin (nothing: /dev/null), then exits with $2.
  const cli = join(root, "cli.sh");
  writeFileSync(cli, '#!/bin/sh\nprintf "%s|%s|%s" "$(cat "$1")" "$(stat -c %a "$1")" "$(cat)"\nexit "$2"\n');
  chmodSync(cli, 0o755);
  /** Runs the command locally; `cut` drops that many bytes of stdin on the first call (a stream ended early). */
  const localExec = (cut = 0): CliPodExec => {
    let first = true;
    return async (o) => {
      const sent = typeof o.stdin === "string" ? new TextEncoder().encode(o.stdin) : o.stdin;
      const input = sent && first && cut > 0 ? sent.subarray(0, sent.length - cut) : sent;
      first = false;
      const child = Bun.spawn([...o.command], {
        stdin: input ? new Blob([input]) : "ignore",
        stdout: "pipe",
        stderr: "pipe",
      });
      const [stdout, stderr, exitCode] = await Promise.all([
        new Response(child.stdout).arrayBuffer(),
        new Response(child.stderr).text(),
        child.exited,
      ]);
      return { exitCode, stdout: new Uint8Array(stdout), stderr };
    };
  };
  const runner = (exec: CliPodExec) =>
    new PodCliRunner({ exec, namespace: "ns", pod: "p", binary: cli, tempRoot: root });
  const leftovers = () => readdirSync(root).filter((n) => n.startsWith("scone-cli-"));

  test("the input arrives whole and 0600, the CLI's stdin is empty, its exit code passes, the directory goes", async () => {
    const r = await runner(localExec()).run([{ inputFile: "s.yml" }, "3"], {}, [{ name: "s.yml", content: "name: x" }]);
    expect(r).toEqual({ exitCode: 3, stdout: "name: x|600|", stderr: "" });
    expect(leftovers()).toEqual([]);
  });

  test("an input cut short is sent again before the CLI runs", async () => {
    const r = await runner(localExec(2)).run([{ inputFile: "s.yml" }, "0"], {}, [
      { name: "s.yml", content: "name: x" },
    ]);
    expect(r).toEqual({ exitCode: 0, stdout: "name: x|600|", stderr: "" });
    expect(leftovers()).toEqual([]);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));
});
