// The stand-in SCONE CLI as a program: run with bun, its own files, the documented exit codes.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const MAIN = join(import.meta.dir, "../../../../sim/scone-cli/main.ts");
const root = mkdtempSync(join(tmpdir(), "stand-in-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
function home() {
  const dir = join(root, String(++n));
  const env = {
    PATH: process.env.PATH ?? "",
    SCONE_CLI_CONFIG: join(dir, "config.json"),
    SCONE_CLI_SIM_STATE: join(dir, "world"),
  };
  const cli = (args: string[], extra: Record<string, string> = {}) => {
    const r = Bun.spawnSync([process.execPath, MAIN, ...args], { env: { ...env, ...extra } });
    return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
  };
  const file = (name: string, text: string) => {
    const p = join(root, `${n}-${name}`);
    writeFileSync(p, text);
    return p;
  };
  return { cli, file };
}

function provisioned(cli: ReturnType<typeof home>["cli"], address: string) {
  const created = cli(["sim-cas", "create", address]);
  const [hash, token] = created.out.split("\n").map((l) => l.split(" ").at(-1)!);
  const toml = join(root, `${n}-owner.toml`);
  writeFileSync(toml, "");
  const p = cli([
    "cas",
    "provision",
    address,
    "-c",
    hash!,
    "--token",
    token!,
    "--config-file",
    toml,
    "--retries",
    "3",
    "with-attestation",
  ]);
  expect(p.code).toBe(0);
  const casKey = cli(["cas", "show-identification", "--cas-key", address]).out.trim();
  return ["--cas", address, "--cas-key", casKey];
}

describe("stand-in SCONE CLI", () => {
  test("--version, and refusal of SCONE_CONFIG_ID", () => {
    const { cli } = home();
    expect(cli(["--version"]).out).toBe("scone 7.0.0\n");
    const r = cli(["self", "show-key-hash"], { SCONE_CONFIG_ID: "x" });
    expect(r.code).toBe(1);
    expect(r.err).toContain("SCONE_CONFIG_ID is set");
  });

  test("an unknown option or subcommand is a usage error, exit 2", () => {
    const { cli } = home();
    expect(cli(["self", "show-key-hash", "--bogus"]).code).toBe(2);
    expect(cli(["nope", "x"]).code).toBe(2);
  });

  test("create refuses a predecessor; update checks it; read exits 2 for a missing session or version", () => {
    const { cli, file } = home();
    const cas = provisioned(cli, "cas.ns");
    const h = "b".repeat(64);
    expect(cli(["session", "create", ...cas, file("a.yml", `name: a\npredecessor: ${h}\n`)]).err).toContain(
      "`predecessor` is not allowed",
    );
    const h1 = cli(["session", "create", ...cas, file("b.yml", "name: a\n")]).out.trim();
    expect(h1).toMatch(/^[0-9a-f]{64}$/);
    expect(cli(["session", "create", ...cas, file("b2.yml", "name: a\n")]).err).toContain("exists already");
    const bad = cli(["session", "update", ...cas, file("c.yml", `name: a\npredecessor: ${h}\n`)]);
    expect(bad.code).toBe(1);
    const h2 = cli(["session", "update", ...cas, file("d.yml", "name: a\nx: 1\n")]).out.trim();
    expect(cli(["session", "read", ...cas, "a"]).out).toContain(`predecessor: ${h1}`);
    expect(cli(["session", "read", ...cas, "--session-hash", h2, "a"]).code).toBe(0);
    expect(cli(["session", "read", ...cas, "--session-hash", h, "a"]).code).toBe(2);
    expect(cli(["session", "read", ...cas, "zzz"]).code).toBe(2);
  });

  test("only the creator reads a session with the default access policy", () => {
    const first = home();
    const cas = provisioned(first.cli, "cas.ns");
    first.cli(["session", "create", ...cas, first.file("s.yml", "name: mine\n")]);
    // Another identity, same pretend CAS: attest with its own config.
    const otherConfig = { SCONE_CLI_CONFIG: join(root, "other-config.json") };
    expect(first.cli(["cas", "attest", "cas.ns", "--retries", "3"], otherConfig).code).toBe(0);
    const r = first.cli(["session", "read", ...cas, "mine"], otherConfig);
    expect(r.code).toBe(1);
    expect(r.err).toContain("access to mine denied");
  });

  test("session commands need an attested CAS and its key", () => {
    const { cli } = home();
    cli(["sim-cas", "create", "cas.ns"]);
    expect(cli(["session", "list", "--cas", "cas.ns", "--cas-key", "x", "a"]).err).toContain("has not been attested");
    const cas = provisioned(cli, "cas2.ns");
    expect(cli(["session", "list", cas[0]!, cas[1]!, "--cas-key", "wrong", "a"]).err).toContain("not the attested one");
  });
});
