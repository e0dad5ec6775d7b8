// The provisioning steps' CLI calls with a scripted CliRunner: the argument vectors are SCONE-CLI.md's (§3/§4, the
// crate's order), and the failure paths say what failed — both tolerance sets refused, a console without the key
// hash or the token, a session that exists with another body (updated with the CLI's hash as predecessor).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type CliArg,
  type CliInputFile,
  MRSIGNER_DB_INJECTION,
  MRSIGNER_STANDARD,
} from "../../../../src/cas/driver/commands.ts";
import { CasDriver } from "../../../../src/cas/driver/driver.ts";
import type { CasDriverSource } from "../../../../src/cas/driver/reach.ts";
import type { CliRunner, CliRunResult } from "../../../../src/cas/driver/runner.ts";
import { ProvisionContext } from "../../../../src/flows/provision/context.ts";
import { targetFiles } from "../../../../src/flows/provision/files.ts";
import { provisionOptionsFromFlags } from "../../../../src/flows/provision/options.ts";
import { attestStep, consoleFacts, provisionStep, sessionStep } from "../../../../src/flows/provision/steps.ts";
import { PROVISIONED_YAML } from "../../../../src/flows/provision/templates.ts";
import { FakeKube } from "./fake-world.ts";

const KEY = "3s1pm8W6Be6cxvAQRbRP5YXd9YuERAr7KswN97uGtoPkRW87x1";
const CAS_KEY = "46YyxrywJ8PFRruWX8YLxa9q4axxYJgTbA81tv7NBcJfn43DQt";
const TOKEN = "0123456789abcdef0123456789abcdef";
const ADDRESS = "cas.ns.svc:8081";
const CONSOLE = `[INFO] CAS key hash of this CAS: ${KEY}\n[INFO] CAS provisioning token: ${TOKEN}\n`;
const HASH = "a".repeat(64);
const NEW_HASH = "b".repeat(64);
/** SCONE-INTERFACE §10.1 SGX_TOLERATIONS / SGX_STD_TOLERATIONS as the crate emits them (CLI §4). */
const TOLERATIONS = (signer: string) => [
  "--accept-group-out-of-date",
  "--accept-configuration-needed",
  "--accept-sw-hardening-needed",
  "--mrsigner",
  signer,
  "--isvprodid",
  "41316",
  "--isvsvn",
  "5",
];

const root = mkdtempSync(join(tmpdir(), "scone-provision-driver-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Call {
  readonly argv: string[];
  readonly files: Record<string, string>;
}

/** Answers by the argv (input files shown as <name>); records every call. */
class ScriptedRunner implements CliRunner {
  readonly description = "scripted CLI";
  readonly calls: Call[] = [];
  constructor(private readonly answer: (argv: string[], files: Record<string, string>) => Partial<CliRunResult>) {}
  async run(argv: readonly CliArg[], _env: Readonly<Record<string, string>>, files: readonly CliInputFile[]) {
    const flat = argv.map((a) => (typeof a === "string" ? a : `<${a.inputFile}>`));
    const contents = Object.fromEntries(files.map((f) => [f.name, String(f.content)]));
    this.calls.push({ argv: flat, files: contents });
    return { exitCode: 0, stdout: "", stderr: "", ...this.answer(flat, contents) };
  }
}

function context(runner: CliRunner, consoleText = CONSOLE, mode: Record<string, unknown> = {}) {
  const kube = new FakeKube();
  kube.logs = () => consoleText;
  const source: CasDriverSource = {
    description: "scripted",
    connect: async () => ({ driver: new CasDriver(runner), address: ADDRESS, release: async () => {} }),
  };
  const options = provisionOptionsFromFlags(
    { name: "cas", namespace: "ns", target: join(root, "t"), "dcap-api": "d".repeat(32), ...mode },
    { home: root },
  );
  return new ProvisionContext(options, targetFiles(options.target, options), { kube, casSource: source, pollMs: 1 });
}

/** The CAS keys after attest/provision: set-default, then show-identification (CLI §3 `cas_keys`). */
function keys(argv: string[]): Partial<CliRunResult> | undefined {
  if (argv[0] === "cas" && argv[1] === "set-default") return {};
  if (argv[1] === "show-identification") return { stdout: `${argv[2] === "--cas-key" ? CAS_KEY : KEY}\n` };
  return undefined;
}

describe("provision step", () => {
  test("cas provision … with-attestation, upstream's tolerations, the owner config as a .toml file", async () => {
    const runner = new ScriptedRunner((argv) => keys(argv) ?? {});
    const ctx = context(runner);
    expect(await provisionStep.run(ctx)).toStartWith("provisioned with owner config");
    const [provision, setDefault, casKey, softKey] = runner.calls;
    expect(provision?.argv).toEqual([
      "cas",
      "provision",
      ADDRESS,
      "-c",
      KEY,
      "--token",
      TOKEN,
      "--config-file",
      "<owner-config.toml>",
      "--retries",
      "3",
      "with-attestation",
      ...TOLERATIONS(MRSIGNER_DB_INJECTION),
    ]);
    expect(provision?.files["owner-config.toml"]).toContain('subscription_key = "dddddddddddddddddddddddddddddddd"');
    expect(setDefault?.argv).toEqual(["cas", "set-default", ADDRESS]);
    expect(casKey?.argv).toEqual(["cas", "show-identification", "--cas-key", ADDRESS]);
    expect(softKey?.argv).toEqual(["cas", "show-identification", "--cas-software-key", ADDRESS]);
    expect(ctx.attested?.casKey).toBe(CAS_KEY);
    expect(ctx.provisionedNow).toBe(true);
  });

  test("the DB-injection signer refused: the standard signer is tried next (SGX_STD_TOLERATIONS)", async () => {
    const runner = new ScriptedRunner((argv) =>
      argv.includes(MRSIGNER_DB_INJECTION) ? { exitCode: 1, stderr: "MRSIGNER mismatch" } : (keys(argv) ?? {}),
    );
    const ctx = context(runner);
    await provisionStep.run(ctx);
    expect(runner.calls.map((c) => c.argv.slice(-9))).toContainEqual(TOLERATIONS(MRSIGNER_STANDARD));
    expect(ctx.attested?.verifier.mrsigner).toBe(MRSIGNER_STANDARD);
  });

  test("both tolerance sets refused: the error names both and the CLI's answer", async () => {
    const runner = new ScriptedRunner((argv) =>
      argv[1] === "provision" ? { exitCode: 1, stderr: "attestation failed: TCB status OutOfDate" } : {},
    );
    const ctx = context(runner);
    const error = provisionStep.run(ctx);
    await expect(error).rejects.toThrow(
      /SGX_TOLERATIONS: signer 195e5a6df987.*SGX_STD_TOLERATIONS: signer b6c14ae06a05/,
    );
    await expect(error).rejects.toThrow(/ERROR 40001-1000-0001\): attestation failed: TCB status OutOfDate/);
    expect(runner.calls.filter((c) => c.argv[1] === "provision").length).toBe(2);
    expect(ctx.attested).toBeUndefined();
  });

  test("no provisioning token on the console: refused before any CLI call, saying why", async () => {
    const runner = new ScriptedRunner(() => ({}));
    const ctx = context(runner, `[INFO] CAS key hash of this CAS: ${KEY}\n`);
    await expect(provisionStep.run(ctx)).rejects.toThrow(/shows no "CAS provisioning token" line/);
    expect(runner.calls).toEqual([]);
  });
});

describe("attest step", () => {
  test("no CAS key hash on the console: refused before any CLI call", async () => {
    const runner = new ScriptedRunner(() => ({}));
    await expect(attestStep.run(context(runner, "starting CAS\n"))).rejects.toThrow(
      'no "CAS key hash" line in the console of cas-0',
    );
    expect(runner.calls).toEqual([]);
  });

  test("cas attest <addr> -c <console key hash> --retries 3 <tolerations>, then set-default and the keys", async () => {
    const runner = new ScriptedRunner((argv) => keys(argv) ?? {});
    const ctx = context(runner, `[INFO] CAS key hash of this CAS: ${KEY}\n`, { verify: true });
    expect(await attestStep.run(ctx)).toBe(`attested ${ADDRESS} (CAS key ${CAS_KEY})`);
    expect(runner.calls[0]?.argv).toEqual([
      "cas",
      "attest",
      ADDRESS,
      "-c",
      KEY,
      "--retries",
      "3",
      ...TOLERATIONS(MRSIGNER_DB_INJECTION),
    ]);
  });

  test("while provisioning, a refusal with a token on the console means 'not provisioned yet'; elsewhere an error", async () => {
    const refuse = () =>
      new ScriptedRunner((argv) => (argv[1] === "attest" ? { exitCode: 1, stderr: "not provisioned" } : {}));
    const provisioning = context(refuse());
    expect(await attestStep.run(provisioning)).toContain("the CAS is not provisioned");
    expect(provisioning.attested).toBeUndefined();
    await expect(attestStep.run(context(refuse(), CONSOLE, { verify: true }))).rejects.toThrow(
      /refused to attest CAS ns\/cas with both of upstream's tolerance sets.*not provisioned/,
    );
  });
});

describe("session steps", () => {
  function attested(runner: ScriptedRunner) {
    const ctx = context(runner);
    ctx.attested = { casKey: CAS_KEY, casSoftwareKey: null, verifier: {}, droppedFlags: [] };
    return ctx;
  }

  test("absent (read exits 2): session create --cas <addr> --cas-key <key> <file>", async () => {
    const runner = new ScriptedRunner((argv) =>
      argv[1] === "read"
        ? { exitCode: 2, stderr: "not found" }
        : argv[1] === "create"
          ? { stdout: `${NEW_HASH}\n` }
          : {},
    );
    expect(await sessionStep("provisioned").run(attested(runner))).toBe(`created session provisioned (bbbbbbbbbbbb…)`);
    expect(runner.calls.map((c) => c.argv)).toEqual([
      ["session", "read", "--cas", ADDRESS, "--cas-key", CAS_KEY, "provisioned"],
      ["session", "create", "--cas", ADDRESS, "--cas-key", CAS_KEY, "<session.yml>"],
    ]);
    expect(runner.calls[1]?.files["session.yml"]).toBe(PROVISIONED_YAML);
  });

  test("present with another body: update with predecessor = the CLI's hash of the active version", async () => {
    const active = `${PROVISIONED_YAML.replace("- ANY", "- CREATOR")}creator: ${KEY}\n`;
    const runner = new ScriptedRunner((argv) => {
      if (argv[1] === "read") return { stdout: active };
      if (argv[1] === "calculate-hash") return { stdout: `${HASH}\n` };
      if (argv[1] === "update") return { stdout: `${NEW_HASH}\n` };
      return { exitCode: 1, stderr: `unexpected ${argv.join(" ")}` };
    });
    const step = sessionStep("provisioned");
    const ctx = attested(runner);
    expect(await step.done(ctx)).toBe(false);
    expect(await step.run(ctx)).toBe("updated session provisioned (bbbbbbbbbbbb…, predecessor aaaaaaaaaaaa…)");
    const hashCall = runner.calls.find((c) => c.argv[1] === "calculate-hash");
    expect(hashCall?.argv).toEqual(["session", "calculate-hash", "<session.yml>"]);
    expect(hashCall?.files["session.yml"]).toBe(active);
    const update = runner.calls.find((c) => c.argv[1] === "update");
    expect(update?.argv).toEqual(["session", "update", "--cas", ADDRESS, "--cas-key", CAS_KEY, "<session.yml>"]);
    expect(update?.files["session.yml"]).toContain(`predecessor: ${HASH}\n`);
    expect(update?.files["session.yml"]).toContain("- ANY");
    expect(runner.calls.some((c) => c.argv[1] === "create")).toBe(false);
  });

  test("present with the same body (creator and predecessor aside): nothing uploaded", async () => {
    const runner = new ScriptedRunner((argv) =>
      argv[1] === "read"
        ? { stdout: PROVISIONED_YAML.replace("predecessor:", `predecessor: ${HASH}\ncreator: ${KEY}`) }
        : { exitCode: 1 },
    );
    expect(await sessionStep("provisioned").done(attested(runner))).toBe(
      "session provisioned exists with the same content",
    );
    expect(runner.calls.length).toBe(1);
  });
});

describe("console facts", () => {
  test("the last field of the last line of each; a malformed value is not taken", () => {
    expect(consoleFacts(CONSOLE)).toEqual({ keyHash: KEY, token: TOKEN });
    expect(consoleFacts(`CAS key hash: ${KEY}\nCAS key hash: --trust-any\n`)).toEqual({ keyHash: KEY });
    expect(consoleFacts("CAS provisioning token: 0123\n")).toBeUndefined();
  });
});
