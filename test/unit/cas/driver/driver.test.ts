// The CAS driver end to end: the real local runner runs the stand-in SCONE CLI (sim/scone-cli, written from
// SCONE-CLI.md without scone's code), which reaches a simulated CAS (sim/cas) over the network on loopback.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchSimulator, type RunningSimulator } from "../../../../sim/cas/launch.ts";
import {
  CliUsageError,
  MRSIGNER_STANDARD,
  parseProvisioningLines,
  SconeCliError,
  UPSTREAM_STD_TOLERATIONS,
  UPSTREAM_TOLERATIONS,
} from "../../../../src/cas/driver/commands.ts";
import { CasDriver } from "../../../../src/cas/driver/driver.ts";
import { LocalCliRunner } from "../../../../src/cas/driver/runner.ts";

const STAND_IN = join(import.meta.dir, "../../../../sim/scone-cli/main.ts");
const dirs: string[] = [];
const sims: RunningSimulator[] = [];
afterAll(async () => {
  await Promise.all(sims.map((s) => s.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function world(version = "7.0.0") {
  const root = mkdtempSync(join(tmpdir(), "cas-driver-"));
  dirs.push(root);
  const target = join(root, "target");
  const runner = new LocalCliRunner({
    binary: [process.execPath, STAND_IN],
    configPath: join(target, "identity", "config.json"),
    env: { SCONE_CLI_SIM_VERSION: version, SCONE_CLI_RETRIES: "1" },
  });
  const warnings: string[] = [];
  const driver = new CasDriver(runner, (w) => warnings.push(w));
  /** A simulated unprovisioned CAS on a loopback port; its address and console lines as a real CAS logs them. */
  async function newCas(...options: string[]) {
    const sim = await launchSimulator({ dataDir: join(root, `cas-${sims.length}`), extraArgs: options });
    sims.push(sim);
    const lines = parseProvisioningLines(sim.output.join("\n"));
    if (!lines) throw new Error(`no console lines in ${sim.output.join("\n")}`);
    return { ...lines, address: sim.url.replace("https://", "") };
  }
  return { driver, newCas, target, warnings };
}

const OWNER_TOML = 'enclave_reconnect_timeout = "24h"\n[audit_log]\nmode = "signed"\nsink = "file"\n';

describe("CasDriver over the stand-in CLI", () => {
  test("provision with-attestation, then sessions: create, read back by the CLI's hash, update with predecessor", async () => {
    const { driver, newCas, target } = world();
    const { address, casKeyHash, token } = await newCas("--tcb", "configuration-needed,group-out-of-date");
    const provisioned = await driver.provision({ address, casKeyHash, token, ownerConfigToml: OWNER_TOML });
    expect(provisioned.verifier).toBe(UPSTREAM_TOLERATIONS);
    expect(provisioned.casKey).toBe(casKeyHash);
    expect(provisioned.casSoftwareKey).toMatch(/^[1-9A-HJ-NP-Za-km-z]{40,60}$/);
    // The owner state sits where upstream keeps it, private.
    expect(statSync(join(target, "identity", "config.json")).mode & 0o777).toBe(0o600);
    expect(statSync(join(target, "identity")).mode & 0o777).toBe(0o700);

    const again = await driver.attest({ address, casKeyHash });
    expect(again.casKey).toBe(casKeyHash);

    const owner = await driver.keyHash();
    expect(owner).toMatch(/^[1-9A-HJ-NP-Za-km-z]{40,60}$/);
    const signing = await driver.sessionSigningKey();
    expect(signing.format).toBe("pem");
    expect(signing.value).toStartWith("-----BEGIN PUBLIC KEY-----\n");

    const cas = { address, casKey: again.casKey };
    const body = "version: 0.3.10\nname: cas-owner/primary-backup\nservices: []\n";
    expect(await driver.validateSession(body)).toBeNull();
    await driver.createSession(cas, "version: 0.3.10\nname: cas-owner\n");
    const h1 = await driver.createSession(cas, body);
    expect(h1).toMatch(/^[0-9a-f]{64}$/);
    const stored = await driver.readSession(cas, "cas-owner/primary-backup");
    expect(stored?.trimEnd()).toBe(body.trimEnd());

    // `update` fills in the predecessor when the body has none: the stored session is not the uploaded body, so a
    // hash recomputed from the body names another document (CLI §5 "Hash mismatch risk"); the driver takes CAS's.
    const next = `${body}secrets: []\n`;
    const h2 = await driver.updateSession(cas, next);
    expect(h2).not.toBe(h1);
    expect(await driver.sessionHash(next)).not.toBe(h2);
    expect(await driver.readSession(cas, "cas-owner/primary-backup")).toContain(`predecessor: ${h1}`);
    expect(await driver.readSession(cas, "cas-owner/primary-backup", h1)).toBe(stored);
    expect(await driver.listSessions(cas, "cas-owner")).toEqual(["cas-owner", "cas-owner/primary-backup"]);
    expect(owner).not.toBe(again.casKey);

    // A stale predecessor is CAS's refusal, carried with upstream's ERROR code, the exit code and the CLI's words.
    const stale = await driver.updateSession(cas, `${body}predecessor: ${h1}\n`).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(SconeCliError);
    expect((stale as SconeCliError).message).toMatch(
      /^Scone CLI command failed with exit code 1 \(ERROR 50015-6673-2201\): error: CAS at \S+ refused \(HTTP 409\): predecessor [0-9a-f]{64} is not the current version/,
    );
    expect(await driver.readSession(cas, "no-such-session")).toBeNull();
  });

  test("provisioning falls back from the DB-injection signer to the standard signer, as kubectl-provision does", async () => {
    const { driver, newCas } = world();
    const { address, casKeyHash, token } = await newCas("--mrsigner", MRSIGNER_STANDARD, "--no-software-key");
    const out = await driver.provision({ address, casKeyHash, token, ownerConfigToml: "" });
    expect(out.verifier).toBe(UPSTREAM_STD_TOLERATIONS);
    // An older CAS without a software key (CLI §3): absent, not an error.
    expect(out.casSoftwareKey).toBeNull();
  });

  test("when no tolerance set passes, the last refusal comes back with the provision ERROR code; nothing is provisioned", async () => {
    const { driver, newCas } = world();
    const { address, casKeyHash, token } = await newCas("--isvsvn", "4");
    const err = await driver.provision({ address, casKeyHash, token, ownerConfigToml: "" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SconeCliError);
    expect((err as SconeCliError).errorCode).toBe("40001-1000-0001");
    // The last attempt (standard signer) is the one reported.
    expect((err as SconeCliError).stderr).toContain("MRSIGNER mismatch: expected b6c14ae0");
    const unprovisioned = await driver.attest({ address, casKeyHash }).catch((e: unknown) => e);
    expect((unprovisioned as SconeCliError).message).toContain(
      `(ERROR 7520-30768-31405): attestation failed: CAS ${address} is not provisioned`,
    );
  });

  test("a CAS presenting another key than the console named is refused", async () => {
    const { driver, newCas } = world();
    const { address, token } = await newCas();
    const { casKeyHash: other } = await newCas();
    const err = await driver
      .provision({ address, casKeyHash: other, token, ownerConfigToml: "" })
      .catch((e: unknown) => e);
    expect((err as SconeCliError).stderr).toContain("CAS key hash mismatch");
  });

  test("below CLI 7.0.0 the PCS flags are left out with a warning (the stand-in would refuse them)", async () => {
    const { driver, newCas, warnings } = world("6.0.2");
    const { address, casKeyHash, token } = await newCas();
    const out = await driver.provision({ address, casKeyHash, token, ownerConfigToml: "" }, [
      { ...UPSTREAM_TOLERATIONS, acceptRevokedPckCerts: true },
    ]);
    expect(out.droppedFlags).toEqual(["--accept-revoked-pcs-certs"]);
    expect(warnings).toEqual(["SCONE CLI 6.0.2 is older than 7.0.0; left out --accept-revoked-pcs-certs"]);
    expect((await driver.cliVersion()).major).toBe(6);
  });

  test("a CLI without --cas-key (the 5.8.0 reference) exits 2 on session read: a usage error, never 'not found'", async () => {
    const { driver, newCas } = world("5.8.0");
    const { address, casKeyHash, token } = await newCas();
    const { casKey } = await driver.provision({ address, casKeyHash, token, ownerConfigToml: "" });
    const err = await driver.readSession({ address, casKey }, "provisioned").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliUsageError);
    expect((err as CliUsageError).message).toBe(
      `read_session: the SCONE CLI refused its arguments (exit 2, a usage error, not "not found"): error: unexpected argument '--cas-key' found. ` +
        "scone's session commands use --cas-key and --session-hash, which CLIs of the 5.8.0 reference lack (CLI §4): " +
        "use a SCONE CLI that has them (a newer sconecli image, or --scone-cli PATH)",
    );
  });
});
