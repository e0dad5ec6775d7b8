// The stand-in SCONE CLI as a program, against simulated CASes (sim/cas) on loopback: its own config, the documented
// exit codes (SCONE-CLI.md §3–§5), attestation checks, the CAS's access rules and signature decision, audit verdicts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { launchSimulator, type RunningSimulator } from "../../../../sim/cas/launch.ts";

const MAIN = join(import.meta.dir, "../../../../sim/scone-cli/main.ts");
const SAMPLE = "/work/shared/reference/upstream-samples/operator-samples/cas_v1beta1_signedpolicy.yaml";
const root = mkdtempSync(join(tmpdir(), "stand-in-"));
const sims: RunningSimulator[] = [];
afterAll(async () => {
  await Promise.all(sims.map((s) => s.stop()));
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
function file(name: string, text: string): string {
  const p = join(root, `${++n}-${name}`);
  writeFileSync(p, text);
  return p;
}

/** A CLI with its own config (identity). */
function identity(name: string) {
  const config = join(root, name, "config.json");
  const cli = (args: string[], extra: Record<string, string> = {}) => {
    const r = Bun.spawnSync([process.execPath, MAIN, ...args], {
      env: { PATH: process.env.PATH ?? "", SCONE_CLI_CONFIG: config, SCONE_CLI_RETRIES: "0", ...extra },
    });
    return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
  };
  return { cli, config };
}

let casCount = 0;
async function newCas(...options: string[]) {
  const id = casCount++;
  const auditLog = join(root, `cas-${id}.audit.log`);
  const sim = await launchSimulator({ dataDir: join(root, `cas-${id}`), auditLog, extraArgs: options });
  sims.push(sim);
  return { sim, address: sim.url.replace("https://", ""), auditLog };
}

type Cli = ReturnType<typeof identity>["cli"];

function provision(cli: Cli, cas: Awaited<ReturnType<typeof newCas>>) {
  const r = cli([
    "cas",
    "provision",
    cas.address,
    "-c",
    cas.sim.casKeyHash,
    "--token",
    cas.sim.provisioningToken ?? "",
    "--config-file",
    file("owner.toml", ""),
    "--retries",
    "0",
    "with-attestation",
  ]);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  return ["--cas", cas.address, "--cas-key", cas.sim.casKeyHash];
}

let main: Awaited<ReturnType<typeof newCas>>;
let other: Awaited<ReturnType<typeof newCas>>;
const owner = identity("owner");
let target: string[];
beforeAll(async () => {
  [main, other] = await Promise.all([newCas(), newCas("--tcb", "sw-hardening-needed", "--isvsvn", "7")]);
});

describe("stand-in SCONE CLI: local commands", () => {
  test("--version, and refusal of SCONE_CONFIG_ID", () => {
    const { cli } = identity("v");
    expect(cli(["--version"]).out).toBe("scone 7.0.0\n");
    expect(cli(["--version"], { SCONE_CLI_SIM_VERSION: "6.0.2" }).out).toBe("scone 6.0.2\n");
    const r = cli(["self", "show-key-hash"], { SCONE_CONFIG_ID: "x" });
    expect(r.code).toBe(1);
    expect(r.err).toContain("SCONE_CONFIG_ID is set");
  });

  test("an unknown option or subcommand is a usage error, exit 2", () => {
    const { cli } = identity("u");
    expect(cli(["self", "show-key-hash", "--bogus"]).code).toBe(2);
    expect(cli(["nope", "x"]).code).toBe(2);
  });

  test("the identity is created on first use, private; key hash base58, signing key PEM SPKI", () => {
    const { cli, config } = identity("id");
    const hash = cli(["self", "show-key-hash"]).out.trim();
    expect(hash).toMatch(/^[1-9A-HJ-NP-Za-km-z]{45,55}$/);
    expect(cli(["self", "show-key-hash"]).out.trim()).toBe(hash);
    expect(statSync(config).mode & 0o777).toBe(0o600);
    expect(statSync(join(config, "..")).mode & 0o777).toBe(0o700);
    const saved = JSON.parse(readFileSync(config, "utf8")) as { identity: string };
    expect(saved.identity).toContain("-----BEGIN PRIVATE KEY-----");
    expect(saved.identity).toContain("-----BEGIN CERTIFICATE-----");
    expect(cli(["self", "show-session-signing-key"]).out).toMatch(
      /^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=]+\n-----END PUBLIC KEY-----\n$/,
    );
  });

  test("check / calculate-hash / sign: a bad session names its field; the hash is stable", () => {
    const { cli } = identity("local");
    const bad = cli(["session", "check", file("bad.yml", "name: a b\n")]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("name:");
    const body = file("ok.yml", "name: a\nversion: '0.3'\n");
    expect(cli(["session", "check", body]).code).toBe(0);
    const h = cli(["session", "calculate-hash", body]).out.trim();
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    const signed = JSON.parse(cli(["session", "sign", body]).out) as { session: string; signatures: unknown[] };
    expect(signed.session).toBe("name: a\nversion: '0.3'\n");
    expect(signed.signatures).toEqual([
      {
        signer: cli(["self", "show-session-signing-key"]).out.trim(),
        signature: expect.stringMatching(/^[0-9a-f]{128}$/),
      },
    ]);
    // The hash of a signed session is its session's.
    expect(cli(["session", "calculate-hash", file("s.json", JSON.stringify(signed))]).out.trim()).toBe(h);
  });
});

describe("stand-in SCONE CLI against a simulated CAS", () => {
  test("attest: an unprovisioned CAS, a wrong key hash, unmatched verifier flags each fail naming why", () => {
    const { cli } = identity("attest");
    const base = ["cas", "attest", other.address, "--retries", "0"];
    const unprovisioned = cli([...base, "-c", other.sim.casKeyHash]);
    expect(unprovisioned.code).toBe(1);
    expect(unprovisioned.err).toContain("is not provisioned");
    const allowed = [...base, "--only_for_testing_allow-unprovisioned-cas"];
    expect(cli([...allowed, "-c", main.sim.casKeyHash]).err).toContain("CAS key hash mismatch");
    expect(cli(allowed).err).toContain("TCB status sw-hardening-needed is not tolerated");
    expect(cli([...allowed, "-S", "--isvsvn", "8"]).err).toContain("ISVSVN 7 of the CAS is below 8");
    expect(cli([...allowed, "-S", "--mrsigner", "ab".repeat(32)]).err).toContain("MRSIGNER mismatch");
    expect(cli([...allowed, "-S", "--only_for_testing-trust-any"]).err).toContain("debug-mode CAS");
    const ok = cli([...allowed, "-S", "-c", other.sim.casKeyHash]);
    expect(ok.code).toBe(0);
    expect(cli(["cas", "show-identification", "--cas-key", other.address]).out.trim()).toBe(other.sim.casKeyHash);
    expect(cli(["cas", "show-identification", "--session-encryption-key", other.address]).out.trim()).toBe(
      other.sim.sessionEncryptionKey,
    );
  });

  test("provision: the caller becomes owner; a second provisioning is refused", () => {
    target = provision(owner.cli, main);
    const again = owner.cli([
      "cas",
      "provision",
      main.address,
      "-c",
      main.sim.casKeyHash,
      "--token",
      main.sim.provisioningToken ?? "",
      "--config-file",
      file("owner.toml", ""),
      "with-attestation",
    ]);
    expect(again.code).toBe(1);
    expect(again.err).toContain("already provisioned");
    expect(owner.cli(["cas", "attest", main.address, "-c", main.sim.casKeyHash, "--retries", "0"]).code).toBe(0);
  });

  test("sessions: create refuses a predecessor and an existing name; update fills it in; read exits 2 when absent", () => {
    const { cli } = owner;
    const h = "b".repeat(64);
    expect(cli(["session", "create", ...target, file("a.yml", `name: s1\npredecessor: ${h}\n`)]).err).toContain(
      "predecessor: must be absent",
    );
    const h1 = cli(["session", "create", ...target, file("b.yml", "name: s1\n")]).out.trim();
    expect(h1).toMatch(/^[0-9a-f]{64}$/);
    expect(cli(["session", "create", ...target, file("b2.yml", "name: s1\n")]).err).toContain("already exists");
    const stale = cli(["session", "update", ...target, file("c.yml", `name: s1\npredecessor: ${h}\n`)]);
    expect(stale.code).toBe(1);
    expect(stale.err).toContain("HTTP 409");
    const h2 = cli(["session", "update", ...target, file("d.yml", "name: s1\nx: 1\n")]).out.trim();
    expect(cli(["session", "read", ...target, "s1"]).out).toContain(`predecessor: ${h1}`);
    expect(cli(["session", "read", ...target, "--session-hash", h2, "s1"]).code).toBe(0);
    expect(cli(["session", "read", ...target, "--session-hash", h, "s1"]).code).toBe(2);
    expect(cli(["session", "read", ...target, "zzz"]).code).toBe(2);
    expect(cli(["session", "update", ...target, file("e.yml", "name: zzz\n")]).err).toContain("does not exist");
    expect(cli(["session", "list", ...target, "s1"]).out).toBe("s1\n");
  });

  test("session commands need an attested CAS and its key", () => {
    const { cli } = identity("unattested");
    expect(cli(["session", "list", ...target, "s1"]).err).toContain("has not been attested");
    expect(
      owner.cli(["session", "list", "--cas", main.address, "--cas-key", other.sim.casKeyHash, "s1"]).err,
    ).toContain("is not the key its attestation established");
  });

  test("a CAS that does not present the attested TLS identity is refused", () => {
    const { cli, config } = identity("pinned");
    cli(["cas", "attest", main.address, "--retries", "0"]);
    cli(["cas", "attest", other.address, "--retries", "0", "-S", "--only_for_testing_allow-unprovisioned-cas"]);
    const saved = JSON.parse(readFileSync(config, "utf8"));
    saved.cas_db[main.address].chain = saved.cas_db[other.address].chain;
    writeFileSync(config, JSON.stringify(saved));
    const r = cli(["session", "list", ...target, "s1"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("does not present the attested TLS identity");
  });

  test("access: the owner admits another identity through a namespace session's create_sessions list", () => {
    const operator = identity("operator");
    expect(operator.cli(["cas", "attest", main.address, "--retries", "0"]).code).toBe(0);
    const opHash = operator.cli(["self", "show-key-hash"]).out.trim();
    const denied = operator.cli(["session", "create", ...target, file("p.yml", "name: s1/policy\n")]);
    expect(denied.code).toBe(1);
    expect(denied.err).toContain("access_policy.create_sessions");
    const ns = `name: ops\naccess_policy:\n  read: [CREATOR]\n  update: [CREATOR]\n  create_sessions: [CREATOR, ${opHash}]\n`;
    expect(owner.cli(["session", "create", ...target, file("ns.yml", ns)]).code).toBe(0);
    expect(operator.cli(["session", "create", ...target, file("p.yml", "name: ops/policy\n")]).code).toBe(0);
    expect(operator.cli(["session", "read", ...target, "ops/policy"]).code).toBe(0);
    // The policy's creator is the operator: the owner has no access unless the policy grants it.
    const ownerRead = owner.cli(["session", "read", ...target, "ops/policy"]);
    expect(ownerRead.code).toBe(1);
    expect(ownerRead.err).toContain("access_policy.read");
    expect(operator.cli(["session", "read", ...target, "ops"]).err).toContain("access_policy.read");
    expect(operator.cli(["session", "list", ...target, "ops"]).out).toBe("ops/policy\n");
  });

  test("signed sessions: what is signed is unpublished, so a well-formed signature is accepted and only one over the session text grants access; the upstream sample is accepted", () => {
    const { cli } = owner;
    // Session `gate` lets only the owner's session-signing key create `gate/…`, not the owner's TLS identity.
    const pem = cli(["self", "show-session-signing-key"]).out.trim();
    const gate = { name: "gate", version: "0.3.10", access_policy: { create_sessions: [{ signer: pem }] } };
    expect(cli(["session", "create", ...target, file("gate.yml", stringify(gate))]).code).toBe(0);
    const signedFor = (name: string) =>
      JSON.parse(cli(["session", "sign", file(`${name.replace("/", "-")}.yml`, `name: ${name}\n`)]).out) as {
        session: string;
        signatures: { signer: string; signature: string }[];
      };
    const signed = signedFor("gate/signed");
    expect(cli(["session", "create", ...target, file("ok.json", JSON.stringify(signed))]).code).toBe(0);
    // A signature that does not verify over the text is accepted as a signature but grants nothing.
    const other = signedFor("gate/forged");
    const forged = { ...other, signatures: [{ ...other.signatures[0], signature: "0".repeat(128) }] };
    const refused = cli(["session", "create", ...target, file("forged.json", JSON.stringify(forged))]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("create_sessions");
    // Not signature text, or a signer that names no key: refused for the format.
    const garbled = { ...other, signatures: [{ ...other.signatures[0], signature: "not a signature!" }] };
    const bad = cli(["session", "create", ...target, file("garbled.json", JSON.stringify(garbled))]);
    expect(bad.err).toContain("signatures[0].signature: expected the signature as hex or base64 text");
    const nobody = { ...other, signatures: [{ ...other.signatures[0], signer: "somebody" }] };
    expect(cli(["session", "create", ...target, file("nobody.json", JSON.stringify(nobody))]).err).toContain(
      "signatures[0].signer: names no session-signing key",
    );
    // The upstream sample: signer N2exBX7T… (its creator.signer), a signature over SCONE's unpublished message.
    const sample = parse(readFileSync(SAMPLE, "utf8")) as {
      spec: { policy: string; signatures: { signer: string; signature: string }[] };
    };
    const upstream = cli([
      "session",
      "create",
      ...target,
      file("sample.json", JSON.stringify({ session: sample.spec.policy, signatures: sample.spec.signatures })),
    ]);
    expect(upstream.err).toBe("");
    expect(upstream.code).toBe(0);
    expect(upstream.out.trim()).toMatch(/^[0-9a-f]{64}$/);
  });

  test("encrypted sessions: sealed to the attested CAS they open there; sealed to another CAS they are refused", () => {
    const { cli } = owner;
    const body = file("enc.yml", "name: enc-one\n");
    const enc = JSON.parse(cli(["session", "encrypt", body, "--cas", main.address]).out) as Record<string, string>;
    expect(Object.keys(enc).sort()).toEqual(["encrypted_session", "encryption_key"]);
    expect(enc.encryption_key).toBe(main.sim.sessionEncryptionKey);
    expect(cli(["session", "create", ...target, file("enc.json", JSON.stringify(enc))]).code).toBe(0);
    expect(cli(["session", "read", ...target, "enc-one"]).out).toBe("name: enc-one\n");
    const elsewhere = cli(["session", "encrypt", body, "--key", other.sim.sessionEncryptionKey]).out;
    expect(cli(["session", "create", ...target, file("enc2.json", elsewhere)]).err).toContain(
      "not this CAS's session encryption key",
    );
  });

  test("audit log: 0 for the CAS's own log; 20 tampered, 17 deleted entries, 15 older entries missing, 19 another CAS, 14 --last unknown", async () => {
    const { cli } = owner;
    const lines = readFileSync(main.auditLog, "utf8").trim().split("\n");
    expect(lines.length).toBeGreaterThan(4);
    const log = (ls: string[]) => file("audit.log", `${ls.join("\n")}\n`);
    const verify = (path: string, ...extra: string[]) =>
      cli(["cas", "verify-audit-log", "--cas", main.address, "--cas-key-hash", main.sim.casKeyHash, ...extra, path]);
    const good = verify(log(lines));
    expect(good.err).toContain("fully correct");
    expect(good.code).toBe(0);
    expect(cli(["cas", "verify-audit-log", log(lines)]).code).toBe(0);
    const tampered = lines.map((l, i) =>
      i === 2 ? l.replace(/"time":"[^"]+"/, '"time":"1999-01-01T00:00:00.000Z"') : l,
    );
    expect(verify(log(tampered)).code).toBe(20);
    expect(verify(log(lines.filter((_, i) => i !== 2))).code).toBe(17);
    expect(verify(log(lines.slice(1))).code).toBe(15);
    const first = JSON.parse(lines[0]!) as { signature: string };
    expect(verify(log(lines.slice(1)), "--predecessor", first.signature).code).toBe(0);
    expect(verify(log(lines), "--last", "f".repeat(128)).code).toBe(14);
    const otherCas = cli(["cas", "verify-audit-log", "--cas", other.address, log(lines)]);
    expect(otherCas.code).toBe(19);
    const cps = cli(["cas", "get-audit-log-checkpoints", "--cas", main.address]);
    expect(cps.code).toBe(0);
    expect(JSON.parse(cps.out)).toEqual({ checkpoints: [{ sequence_number: 0, signature: first.signature }] });
    expect(verify(log(lines), "--checkpoints-json", file("cp.json", cps.out)).code).toBe(0);
    const printed = verify(log(lines), "--print-log");
    expect(printed.out.trim().split("\n")).toEqual(lines);
  });
});

describe("stand-in SCONE CLI: first use", () => {
  test("calls racing on a missing config end with one identity", async () => {
    const config = join(root, "race", "config.json");
    const runs = Array.from({ length: 4 }, () =>
      Bun.spawn([process.execPath, MAIN, "self", "show-key-hash"], {
        env: { PATH: process.env.PATH ?? "", SCONE_CLI_CONFIG: config },
        stdout: "pipe",
      }),
    );
    const hashes = await Promise.all(runs.map(async (r) => (await new Response(r.stdout).text()).trim()));
    expect(new Set(hashes).size).toBe(1);
    expect(identity("race").cli(["self", "show-key-hash"]).out.trim()).toBe(hashes[0] ?? "");
  });
});
