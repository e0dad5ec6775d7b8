// `scone policy sign|encrypt|verify` through the SCONE CLI (issue 13): the argv each runs (SCONE-CLI §3, §6), the
// manifests built from the CLI's JSON (legacy lib.rs mapping), the refusals naming the flag, and end to end with the
// stand-in CLI (sim/scone-cli/main.ts) as `--scone-cli`: the signer in the manifest is the stand-in's
// `self show-session-signing-key` of the owner config under --target.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmod, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import type { CliArg, CliInputFile } from "../../../src/cas/driver/commands.ts";
import { CasDriver } from "../../../src/cas/driver/driver.ts";
import type { CliRunner } from "../../../src/cas/driver/runner.ts";
import { casAddressOf } from "../../../src/cli/run/policy.ts";
import { openPolicyDriver, ownerConfigPath } from "../../../src/cli/run/policy-driver.ts";
import { CliError } from "../../../src/cli/spec.ts";
import {
  encryptedPolicyManifest,
  parseEncryptedSession,
  parseSignedSession,
  renderManifest,
  resourceNameOf,
  signedPolicyManifest,
} from "../../../src/flows/policy/manifest.ts";
import { verifyManifestText } from "../../../src/flows/policy/verify.ts";

const ROOT = join(import.meta.dir, "../../..");
const KEY = "ab".repeat(32);

const policyText = (creator: string) =>
  `---\nversion: 0.3.10\nname: team/app_policy\npredecessor: ~\nservices:\n  - name: app\n    command: "python3 /app/app.py   "\n    environment:\n      GREETING: "tab\\there"\naccess_policy:\n  read:\n    - NONE\n  update:\n    - CREATOR\ncreator:\n  signer: ${JSON.stringify(creator)}\n`;

/** A CliRunner that records each call (argv with input files resolved to their content) and answers from a script. */
function scripted(answer: (words: string) => { exitCode?: number; stdout?: string; stderr?: string }) {
  const calls: { argv: string[]; files: CliInputFile[] }[] = [];
  const runner: CliRunner = {
    description: "scripted",
    async run(argv: readonly CliArg[], _env, files: readonly CliInputFile[]) {
      const words = argv.map((a) => (typeof a === "string" ? a : `<${a.inputFile}>`));
      calls.push({ argv: words, files: [...files] });
      const r = answer(words.join(" "));
      return { exitCode: r.exitCode ?? 0, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
    },
  };
  return { calls, driver: new CasDriver(runner) };
}

const target = { casAddress: "https://cas.team:8081", name: "team-app-policy", namespace: "team" };

describe("manifests from the SCONE CLI's JSON (scripted CLI)", () => {
  test("sign runs `session sign <file>` with the text unchanged; the manifest is {session, signatures} as printed", async () => {
    const text = policyText("S");
    const printed = { session: text, signatures: [{ signer: "PEM-KEY", signature: "c2ln" }] };
    const { calls, driver } = scripted(() => ({ stdout: `${JSON.stringify(printed)}\n` }));
    const manifest = signedPolicyManifest(parseSignedSession(await driver.signSession(text)), target);
    expect(calls).toEqual([
      { argv: ["session", "sign", "<session.yml>"], files: [{ name: "session.yml", content: text }] },
    ]);
    expect(manifest).toEqual({
      apiVersion: "cas.scone.cloud/v1beta1",
      kind: "SignedPolicy",
      metadata: { name: "team-app-policy", namespace: "team" },
      spec: { casAddress: "https://cas.team:8081", policy: text, signatures: printed.signatures },
    });
    // YAML keeps the text byte for byte (trailing blanks, tabs).
    expect(parse(await renderManifest(manifest, "yaml")).spec.policy).toBe(text);
  });

  test("encrypt runs `session encrypt <file> --key KEY` or `--cas ADDR`; the manifest is encrypted_session / encryption_key", async () => {
    const { calls, driver } = scripted(() => ({
      stdout: JSON.stringify({ encrypted_session: "c2VhbGVk", encryption_key: KEY }),
    }));
    const out = await driver.encryptSession("name: x\n", undefined, KEY.toUpperCase());
    await driver.encryptSession("name: x\n", "cas.team.svc:8081");
    expect(calls.map((c) => c.argv)).toEqual([
      ["session", "encrypt", "<session.yml>", "--key", KEY],
      ["session", "encrypt", "<session.yml>", "--cas", "cas.team.svc:8081"],
    ]);
    expect(encryptedPolicyManifest(parseEncryptedSession(out), target).spec).toEqual({
      casAddress: "https://cas.team:8081",
      encryptionKey: KEY,
      policy: "c2VhbGVk",
    });
    expect(() => driver.encryptSession("name: x\n", "cas:8081", KEY)).toThrow("--cas and --key exclude each other");
    expect(() => driver.encryptSession("name: x\n", undefined, "--trust-any")).toThrow(/^key: /);
  });

  test("CLI output that is not the documented JSON is refused, nothing printed from it", () => {
    expect(() => parseSignedSession("signed!")).toThrow("printed no JSON object");
    expect(() => parseSignedSession(JSON.stringify({ session: "x", signatures: [] }))).toThrow("signatures");
    expect(() => parseSignedSession(JSON.stringify({ signatures: [{ signer: "a", signature: "b" }] }))).toThrow(
      "`session` string",
    );
    expect(() => parseEncryptedSession(JSON.stringify({ encrypted_session: "x", encryption_key: "12" }))).toThrow(
      "encryption_key",
    );
  });

  test("verify sends a SignedPolicy's {session, signatures} to `session check`; its refusal makes it INVALID", async () => {
    const manifest = signedPolicyManifest(
      { session: "name: x\n", signatures: [{ signer: "S", signature: "c2ln" }] },
      target,
    );
    const text = await renderManifest(manifest, "yaml");
    const ok = scripted(() => ({ stdout: "name: x" }));
    const [good] = await verifyManifestText(text, async () => ok.driver);
    expect(good).toMatchObject({ kind: "SignedPolicy", ok: true, signers: ["S"] });
    expect(ok.calls[0]?.argv).toEqual(["session", "check", "<session.json>"]);
    expect(JSON.parse(String(ok.calls[0]?.files[0]?.content))).toEqual({
      session: "name: x\n",
      signatures: [{ signer: "S", signature: "c2ln" }],
    });
    const no = scripted(() => ({ exitCode: 1, stderr: "error: invalid session: name missing" }));
    const [bad] = await verifyManifestText(text, async () => no.driver);
    expect(bad?.ok).toBe(false);
    expect(bad?.problems[0]?.message).toBe("scone session check: error: invalid session: name missing");
  });

  test("verify checks an EncryptedPolicy's documented fields without running the CLI", async () => {
    const text = await renderManifest(
      encryptedPolicyManifest({ encrypted_session: "c2VhbGVk", encryption_key: KEY }, target),
      "json",
    );
    const never = async (): Promise<CasDriver> => {
      throw new Error("the CLI must not run for an EncryptedPolicy");
    };
    expect((await verifyManifestText(text, never))[0]?.ok).toBe(true);
    const [wrong] = await verifyManifestText(text, never, { encryptionKey: "cd".repeat(32) });
    expect(wrong?.problems[0]?.message).toContain("is not the session encryption key");
  });

  test("names and addresses", () => {
    expect(resourceNameOf("team/App_Policy.v2")).toBe("team-app-policy.v2");
    expect(resourceNameOf("___")).toBe("policy");
    expect(casAddressOf({ cas: "cas", namespace: "ns" })).toBe("https://cas.ns:8081");
    expect(casAddressOf({ casAddress: "https://x.y:8081/", cas: "ignored" })).toBe("https://x.y:8081");
    expect(() => casAddressOf({ casAddress: "http://x:8081" })).toThrow("https://");
    expect(() => casAddressOf({})).toThrow("no CAS given");
  });
});

describe("which SCONE CLI runs (refusals name the flag)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "scone-policy-driver-"));
    await mkdir(join(dir, "identity"), { recursive: true, mode: 0o700 });
    await Bun.write(join(dir, "identity", "config.json"), "{}\n");
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const refusal = async (args: Record<string, unknown>) => {
    try {
      await openPolicyDriver(args as Parameters<typeof openPolicyDriver>[0]);
    } catch (err) {
      if (err instanceof CliError) return `${err.message} | ${err.hint ?? ""}`;
      throw err;
    }
    throw new Error("not refused");
  };

  test("upstream's layout: --target DIR → DIR/identity/config.json", () => {
    expect(ownerConfigPath("/o")).toBe("/o/identity/config.json");
  });

  test("a missing owner config is refused naming --target (a CLI would make a fresh identity and sign with it)", async () => {
    expect(await refusal({ target: join(dir, "nope"), "scone-cli": process.execPath })).toContain("--target DIR");
  });

  test("neither a local CLI nor a CAS: refused naming --scone-cli, --no-docker and --cas", async () => {
    const message = await refusal({ target: dir });
    expect(message).toContain("--scone-cli PATH");
    expect(message).toContain("--no-docker");
    expect(message).toContain("--cas NAME -n NAMESPACE");
  });

  test("a --scone-cli that is not an executable file is refused naming the flag", async () => {
    expect(await refusal({ target: dir, "scone-cli": join(dir, "identity") })).toContain("for --scone-cli");
  });
});

describe("end to end with the stand-in SCONE CLI (process)", () => {
  let dir: string;
  let cli: string;
  let signer: string;
  let policyPath: string;

  function run(argv: string[], env: Record<string, string> = {}) {
    const r = Bun.spawnSync(argv, { cwd: dir, env: { ...process.env, NO_COLOR: "1", ...env } });
    return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  }
  const scone = (args: string[]) => run([process.execPath, join(ROOT, "src/main.ts"), ...args]);
  const local = ["--target", "", "--scone-cli", ""];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "scone-policy-cli-"));
    // --scone-cli takes one executable: a wrapper running the stand-in with this Bun.
    cli = join(dir, "scone-cli-sim");
    await Bun.write(cli, `#!/bin/sh\nexec ${process.execPath} ${join(ROOT, "sim/scone-cli/main.ts")} "$@"\n`);
    await chmod(cli, 0o700);
    const owner = join(dir, "owner");
    local[1] = owner;
    local[3] = cli;
    // The stand-in creates the owner identity on first use; its signing key is the signer every signature must name.
    const shown = run([cli, "self", "show-session-signing-key"], { SCONE_CLI_CONFIG: ownerConfigPath(owner) });
    expect(shown.code).toBe(0);
    signer = shown.stdout.trim();
    expect(signer).toContain("BEGIN PUBLIC KEY");
    policyPath = join(dir, "session.yaml");
    await Bun.write(policyPath, policyText(signer));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  test("sign → a SignedPolicy whose signer is `self show-session-signing-key`; verify runs `session check`", async () => {
    const signed = scone([
      "policy",
      "sign",
      policyPath,
      ...local,
      "--cas-address",
      "https://cas.team:8081",
      "-n",
      "team",
    ]);
    expect(signed.stderr).toBe("");
    expect(signed.code).toBe(0);
    const manifest = parse(signed.stdout);
    expect(manifest).toMatchObject({
      apiVersion: "cas.scone.cloud/v1beta1",
      kind: "SignedPolicy",
      metadata: { name: "team-app-policy", namespace: "team" },
      spec: { casAddress: "https://cas.team:8081", policy: policyText(signer) },
    });
    expect(manifest.spec.signatures.map((s: { signer: string }) => s.signer.trim())).toEqual([signer]);

    const good = join(dir, "signed.yaml");
    await Bun.write(good, signed.stdout);
    const ok = scone(["policy", "verify", good, ...local]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("well-formed (scone session check)");
    expect(ok.stdout).toContain("decided by CAS");

    const bad = join(dir, "broken.yaml");
    await Bun.write(bad, signed.stdout.replace("name: team/app_policy", "nam: team/app_policy"));
    const refused = scone(["policy", "verify", bad, ...local]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain("INVALID");
    expect(refused.stdout).toContain("scone session check:");
  });

  test("encrypt --encryption-key → the stand-in's {encrypted_session, encryption_key} as the EncryptedPolicy", () => {
    const out = scone([
      "policy",
      "encrypt",
      policyPath,
      ...local,
      "--encryption-key",
      KEY,
      "--cas",
      "cas",
      "-n",
      "team",
    ]);
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    const manifest = parse(out.stdout);
    expect(manifest).toMatchObject({
      kind: "EncryptedPolicy",
      metadata: { name: "team-app-policy", namespace: "team" },
      spec: { casAddress: "https://cas.team:8081", encryptionKey: KEY },
    });
    expect(manifest.spec.policy.length).toBeGreaterThan(0);
    expect(manifest.spec.policy).not.toContain("app.py");
  });

  test("without --scone-cli or --cas the command exits 2 naming them; flags that are gone are refused", () => {
    const none = scone(["policy", "sign", policyPath, "--target", local[1] ?? "", "--cas-address", "https://c:8081"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("--scone-cli PATH");
    const old = scone([
      "policy",
      "sign",
      policyPath,
      ...local,
      "--identity",
      "x.json",
      "--cas-address",
      "https://c:8081",
    ]);
    expect(old.code).toBe(2);
    expect(old.stderr).toContain("--identity");
  });
});
