import { describe, expect, test } from "bun:test";
import { type CliIo, runCli } from "../../../src/cli/main.ts";
import { SCONE_VERSION } from "../../../src/version.ts";

async function cli(argv: string[], opts: { argv0?: string; isTTY?: boolean; env?: Record<string, string> } = {}) {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env: { ...opts.env },
    stdoutIsTTY: opts.isTTY ?? false,
    argv0: opts.argv0 ?? "scone",
    execPath: "/usr/local/bin/scone",
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr, env: io.env };
}

describe("runCli", () => {
  test("help exits 0 on stdout without colour when not a terminal", async () => {
    const r = await cli(["cas", "provision", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("scone cas provision NAME");
    expect(r.stdout).not.toContain("\u001b[");
    expect(r.stderr).toBe("");
  });

  test("unknown flag: exit 2 (usage), message with the command path and a hint", async () => {
    const r = await cli(["cas", "provision", "x", "--foo"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      "scone cas provision: unknown flag --foo (did you mean --force?)\nRun 'scone cas provision --help' for usage.\n",
    );
  });

  test("missing argument and missing command exit 2 (usage)", async () => {
    const missing = await cli(["cas", "provision"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("scone cas provision: missing argument NAME");
    const group = await cli(["cas"]);
    expect(group.code).toBe(2);
    expect(group.stderr).toContain("scone cas: missing command (one of: provision, upgrade,");
  });

  test("upstream vault modes it does not document are refused (exit 2) before anything runs, saying what is unknown", async () => {
    const verify = await cli(["vault", "provision", "myvault", "--verify"]);
    expect(verify.code).toBe(2);
    expect(verify.stderr).toContain("scone vault provision: --verify is refused: upstream runs a pod vault-verifier-");
    expect(verify.stderr).toContain("does not document that pod's image, command, or the key it decrypts with");
    const backup = await cli(["vault", "provision", "myvault", "--local-backup"]);
    expect(backup.code).toBe(2);
    expect(backup.stderr).toContain("does not document where the copy goes locally or in which form");
    const client = await cli(["vault", "provision", "myvault", "--vault-client"]);
    expect(client.code).toBe(2);
    expect(client.stderr).toContain("that policy's content is not published");
    const docker = await cli(["cas", "provision", "mycas", "--no-docker", "--is-provisioned"]);
    expect(docker.stderr).not.toContain("ignored");
  });

  test("provision's day-2 modes refuse a flag they would drop, under both names, before touching a cluster", async () => {
    const nonce = ["--nonce", "00112233445566778899aabbccddeeff", "--kubeconfig", "/nonexistent/kubeconfig"];
    const scone = await cli(["cas", "provision", "cas", "-n", "ns", "--upgrade", "6.0.7", ...nonce]);
    expect(scone.code).toBe(2);
    expect(scone.stderr).toStartWith(
      "scone cas provision: --nonce cannot be used with --upgrade: it applies to provisioning a CAS; drop it\n",
    );
    const plugin = await cli(["cas", "cas", "-n", "ns", "--cas-database-recovery", "/snap", ...nonce], {
      argv0: "/usr/local/bin/kubectl-provision",
    });
    expect(plugin.code).toBe(2);
    expect(plugin.stderr).toStartWith("kubectl provision: --nonce cannot be used with --cas-database-recovery");
  });

  test("a failing command in verbose mode prints its message, type and causes, never stack frames", async () => {
    const r = await cli(["cas", "backup", "x", "--kubeconfig", "/nonexistent/kubeconfig", "--log-level", "debug"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toStartWith("scone cas backup: ");
    expect(r.stderr).toContain("/nonexistent/kubeconfig");
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  test("--log-level and --verbose set SCONE_LOG_LEVEL for the command", async () => {
    expect((await cli(["cas", "status", "x", "--log-level", "warn"])).env.SCONE_LOG_LEVEL).toBe("warn");
    expect((await cli(["cas", "provision", "x", "-v"])).env.SCONE_LOG_LEVEL).toBe("debug");
  });

  test("kubectl-provision personality: --version, --help, translation and its errors", async () => {
    const asPlugin = { argv0: "/usr/local/bin/kubectl-provision" };
    const version = await cli(["--version"], asPlugin);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect((await cli(["--help"], asPlugin)).stdout).toContain("kubectl provision SVC [NAME] [options]");
    const nonce = await cli(["cas", "mycas", "-n", "ns", "--nonce", "xyz"], asPlugin);
    expect(nonce.code).toBe(2);
    expect(nonce.stderr).toContain("kubectl provision: invalid value 'xyz' for --nonce");
    expect(nonce.stderr).toContain("Run 'kubectl provision --help' for usage.");
    const long = await cli(["cas", "name-is-too-long-for-cas"], asPlugin);
    expect(long.code).toBe(2);
    expect(long.stderr).toContain("at most 15 characters");
  });

  test("scone version runs through citty (text and json)", async () => {
    // The version command writes with console.write itself (not process.stdout: see cli/stdout.ts); capture it.
    const original = console.write;
    let out = "";
    console.write = (...data: Array<string | ArrayBufferView | ArrayBuffer>) => {
      out += data.map(String).join("");
      return out.length;
    };
    try {
      // --client: the client's version only (without it a configured cluster would add its lines).
      expect((await cli(["version", "--client"])).code).toBe(0);
      expect((await cli(["version", "--client", "-o", "json"])).code).toBe(0);
    } finally {
      console.write = original;
    }
    const [text, json] = out.split("\n");
    expect(text).toBe(`scone ${SCONE_VERSION} (commit ${JSON.parse(json as string).commit}, bun ${Bun.version})`);
    expect(JSON.parse(json as string)).toMatchObject({ version: SCONE_VERSION, bun: Bun.version });
  });
});
