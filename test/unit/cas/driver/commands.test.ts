// The pure half of the driver: argv per documented operation (SCONE-CLI.md §3/§4), refusals of values that could
// read as options, the version gate, and the parsers of each output format (§5).
import { describe, expect, test } from "bun:test";
import {
  applyVersionGate,
  attestCommand,
  auditLogCheckpointsCommand,
  CliInputError,
  CliOutputError,
  casKeyCommand,
  casKeyFromReport,
  casSoftwareKeyCommand,
  clapUsageError,
  ERROR_CODES,
  encryptSessionCommand,
  keyHashCommand,
  listSessionsCommand,
  MRSIGNER_DB_INJECTION,
  parseAuditVerdict,
  parseCheckpoints,
  parseKeyHash,
  parseProvisioningLines,
  parseSessionHash,
  parseSessionList,
  parseSigningKey,
  parseVersion,
  provisionCommand,
  readSessionCommand,
  SconeCliError,
  sessionFile,
  sessionHashCommand,
  sessionSigningKeyCommand,
  UPSTREAM_STD_TOLERATIONS,
  UPSTREAM_TOLERATIONS,
  uploadSessionCommand,
  verifierFlags,
  verifyAuditLogCommand,
} from "../../../../src/cas/driver/commands.ts";

const KEY = "3s1pm8W6Be6cxvAQRbRP5YXd9YuERAr7KswN97uGtoPkRW87x1";
const CAS_KEY = "46YyxrywJ8PFRruWX8YLxa9q4axxYJgTbA81tv7NBcJfn43DQt";
const HASH = "a".repeat(64);
const cas = { address: "cas.scone-system:8081", casKey: CAS_KEY };

describe("argument vectors", () => {
  test("self and session-file commands, with the documented temp-file suffix", () => {
    expect(keyHashCommand().argv).toEqual(["self", "show-key-hash"]);
    expect(sessionSigningKeyCommand().argv).toEqual(["self", "show-session-signing-key"]);
    expect(sessionFile('  {"name":"a"}').name).toBe("session.json");
    expect(sessionFile("name: a").name).toBe("session.yml");
    const c = sessionHashCommand("name: a\n");
    expect(c.argv).toEqual(["session", "calculate-hash", { inputFile: "session.yml" }]);
    expect(c.inputFiles).toEqual([{ name: "session.yml", content: "name: a\n" }]);
    expect(c.errorCode).toBe("19175-9146-3013");
    expect(encryptSessionCommand("name: a", "cas.ns").argv).toEqual([
      "session",
      "encrypt",
      { inputFile: "session.yml" },
      "--cas",
      "cas.ns",
    ]);
    expect(() => sessionFile("   \n")).toThrow(CliInputError);
  });

  test("session read/list/create/update: --cas, --cas-key, then the operand (pinned by the crate's tests)", () => {
    expect(readSessionCommand(cas, "cas-owner/primary-backup").argv).toEqual([
      "session",
      "read",
      "--cas",
      cas.address,
      "--cas-key",
      CAS_KEY,
      "cas-owner/primary-backup",
    ]);
    expect(readSessionCommand(cas, "a", HASH).argv.slice(-3)).toEqual(["--session-hash", HASH, "a"]);
    expect(listSessionsCommand(cas, "cas-owner").argv).toEqual([
      "session",
      "list",
      "--cas",
      cas.address,
      "--cas-key",
      CAS_KEY,
      "cas-owner",
    ]);
    const up = uploadSessionCommand("update", cas, "name: a");
    expect(up.operation).toBe("update_session");
    expect(up.errorCode).toBe("50015-6673-2201");
    expect(up.argv).toEqual([
      "session",
      "update",
      "--cas",
      cas.address,
      "--cas-key",
      CAS_KEY,
      { inputFile: "session.yml" },
    ]);
    expect(casKeyCommand("cas.ns").argv).toEqual(["cas", "show-identification", "--cas-key", "cas.ns"]);
    expect(casSoftwareKeyCommand("cas.ns").argv).toEqual([
      "cas",
      "show-identification",
      "--cas-software-key",
      "cas.ns",
    ]);
  });

  test("a value that would read as an option, or breaks its grammar, is refused naming the field", () => {
    expect(() => readSessionCommand(cas, "--only_for_testing-trust-any")).toThrow(
      /^name: a session name starting with '-'/,
    );
    expect(() => readSessionCommand(cas, "-x")).toThrow(CliInputError);
    expect(() => readSessionCommand({ ...cas, address: "--cas=evil" }, "a")).toThrow(/^cas.address: /);
    expect(() => readSessionCommand({ ...cas, casKey: "-c" }, "a")).toThrow(/^cas.casKey: /);
    expect(() => readSessionCommand(cas, "a", "ABC")).toThrow(/^hash: /);
    expect(() => attestCommand({ address: "cas", casKeyHash: "--trust", verifier: {} })).toThrow(/^casKeyHash: /);
    expect(() =>
      provisionCommand({ address: "cas", casKeyHash: KEY, token: "x", ownerConfigToml: "", verifier: {} }),
    ).toThrow(/^token: /);
    expect(() => verifierFlags({ mrenclave: ["--x"] })).toThrow(/^mrenclave\[0\]: /);
    expect(() => verifierFlags({ isvsvn: 70000 })).toThrow(/^isvsvn: /);
    expect(() => verifierFlags({ acceptDebugEnclave: true })).toThrow(/^acceptDebugEnclave: needs ignoreSigner/);
    expect(() => verifyAuditLogCommand({ log: "", casKeyHash: KEY })).toThrow(/^casKeyHash: needs cas/);
  });

  test("attest: --retries always, date in UTC, online or offline report, verifier flags last", () => {
    expect(attestCommand({ address: "cas.ns", verifier: {} }).argv).toEqual([
      "cas",
      "attest",
      "cas.ns",
      "--retries",
      "3",
      "--mrsigner",
      MRSIGNER_DB_INJECTION,
    ]);
    const full = attestCommand({
      address: "cas.ns",
      casKeyHash: KEY,
      allowCasOwnerSecretAccess: true,
      retries: 0,
      verificationTime: new Date("2026-03-04T23:30:00-02:00"),
      offline: { nonce: "ab12", report: "{}" },
      verifier: { ignoreSigner: true, mrenclave: [HASH] },
    });
    expect(full.argv).toEqual([
      "cas",
      "attest",
      "cas.ns",
      "-c",
      KEY,
      "--allow-cas-owner-secret-access",
      "--retries",
      "0",
      "--verification-time",
      "2026-03-05",
      "--nonce",
      "ab12",
      "--offline-report",
      { inputFile: "attestation-report.json" },
      "--only_for_testing-ignore-signer",
      "--mrenclave",
      HASH,
    ]);
    expect(attestCommand({ address: "c", allowUnprovisioned: true, verifier: {} }).argv).toContain(
      "--only_for_testing_allow-unprovisioned-cas",
    );
  });

  test("provision: always with-attestation, the verifier flags after it; owner config as a .toml file", () => {
    const c = provisionCommand({
      address: "cas.ns:8081",
      casKeyHash: KEY,
      token: "0123456789abcdef0123456789abcdef",
      ownerConfigToml: "[dcap]\n",
      databaseKey: "f".repeat(64),
      verifier: UPSTREAM_TOLERATIONS,
    });
    expect(c.argv).toEqual([
      "cas",
      "provision",
      "cas.ns:8081",
      "-c",
      KEY,
      "--token",
      "0123456789abcdef0123456789abcdef",
      "--config-file",
      { inputFile: "owner-config.toml" },
      "--database-key",
      "f".repeat(64),
      "--retries",
      "3",
      "with-attestation",
      "--accept-group-out-of-date",
      "--accept-configuration-needed",
      "--accept-sw-hardening-needed",
      "--mrsigner",
      MRSIGNER_DB_INJECTION,
      "--isvprodid",
      "41316",
      "--isvsvn",
      "5",
    ]);
    expect(c.inputFiles).toEqual([{ name: "owner-config.toml", content: "[dcap]\n" }]);
    expect(verifierFlags(UPSTREAM_STD_TOLERATIONS)).toContain(
      "b6c14ae06a05284253b548038e269f8225718bc0856828f491ed85174ccc2979",
    );
  });

  test("verifier flags in the crate's order; fail-on-any-advisory wins over a tolerated list", () => {
    expect(
      verifierFlags({
        trustAny: true,
        acceptUnverifiablePcsCerts: true,
        acceptRevokedPckCerts: true,
        ignoreAdvisories: ["INTEL-SA-00615", "INTEL-SA-00657"],
        isvsvn: 1,
        mrsigner: HASH,
      }),
    ).toEqual([
      "--accept-revoked-pcs-certs",
      "--accept-unverifiable-pcs-certs",
      "--only_for_testing-trust-any",
      "--ignore-advisories",
      "INTEL-SA-00615,INTEL-SA-00657",
      "--mrsigner",
      HASH,
      "--isvsvn",
      "1",
    ]);
    expect(
      verifierFlags({ failOnAnyAdvisory: true, ignoreAdvisories: ["A"], ignoreSigner: true, mrenclave: [HASH] }),
    ).toEqual(["--only_for_testing-ignore-signer", "--fail-on-any-advisory", "--mrenclave", HASH]);
  });

  test("audit log: verb by attestation, log path always last; checkpoints bounds", () => {
    const c = verifyAuditLogCommand({
      log: "{}\n",
      cas: "cas.ns",
      casKeyHash: KEY,
      predecessor: "c2ln",
      checkpointsJson: "[]",
      printLog: true,
    });
    expect(c.argv).toEqual([
      "cas",
      "verify-audit-log",
      "--cas",
      "cas.ns",
      "--cas-key-hash",
      KEY,
      "--predecessor",
      "c2ln",
      "--checkpoints-json",
      { inputFile: "checkpoints.json" },
      "--print-log",
      { inputFile: "audit.log" },
    ]);
    expect(verifyAuditLogCommand({ log: "", attestation: {} }).argv[1]).toBe("attest-audit-log");
    expect(auditLogCheckpointsCommand({ cas: "c", min: 1, max: 9 }).argv).toEqual([
      "cas",
      "get-audit-log-checkpoints",
      "--cas",
      "c",
      "--min-sequence-number",
      "1",
      "--max-sequence-number",
      "9",
    ]);
    expect(() => auditLogCheckpointsCommand({ min: -1 })).toThrow(/^min: /);
  });

  test("every operation carries the ERROR code the crate documents", () => {
    expect(ERROR_CODES.cas_provision).toBe("40001-1000-0001");
    expect(ERROR_CODES.read_session).toBe("129012-1221-72811");
    expect(ERROR_CODES.verify_audit_log).toBeNull();
  });
});

describe("version gate", () => {
  test("the last word of --version is the version; a pre-release counts as its release", () => {
    expect(parseVersion("scone 5.8.0\n").major).toBe(5);
    expect(parseVersion("rust-cli 7.0.0-alpha.4").major).toBe(7);
    expect(() => parseVersion("scone")).toThrow(CliOutputError);
  });

  test("PCS flags dropped below 7.0.0 only", () => {
    const argv = ["cas", "attest", "c", "--accept-revoked-pcs-certs", "--accept-unverifiable-pcs-certs", "--x"];
    expect(applyVersionGate(argv, parseVersion("scone 6.9.9"))).toEqual({
      argv: ["cas", "attest", "c", "--x"],
      dropped: ["--accept-revoked-pcs-certs", "--accept-unverifiable-pcs-certs"],
    });
    expect(applyVersionGate(argv, parseVersion("scone 7.0.0-rc.1")).argv).toEqual(argv);
  });
});

describe("output parsers", () => {
  test("exit 2: clap's usage error (clap 4 and older shapes) is told apart from session read's not-found", () => {
    expect(
      clapUsageError(
        "error: unexpected argument '--cas-key' found\n\nUsage: scone session read <NAME>\n\nFor more information, try '--help'.\n",
      ),
    ).toBe("error: unexpected argument '--cas-key' found");
    expect(
      clapUsageError(
        "error: Found argument '--session-hash' which wasn't expected, or isn't valid in this context\n\nUSAGE:\n    scone session read <name>\n",
      ),
    ).toBe("error: Found argument '--session-hash' which wasn't expected, or isn't valid in this context");
    expect(clapUsageError("error: unrecognized subcommand 'list'\n")).toBe("error: unrecognized subcommand 'list'");
    // What a missing session says is not a usage error.
    expect(clapUsageError("error: session provisioned not found\n")).toBeUndefined();
    expect(clapUsageError("")).toBeUndefined();
  });

  test("key hash: one trimmed base58 line, anything else refused", () => {
    expect(parseKeyHash("key_hash", `${KEY}\n`)).toBe(KEY);
    expect(() => parseKeyHash("key_hash", `${KEY}\nextra`)).toThrow(CliOutputError);
    expect(() => parseKeyHash("key_hash", "0OIl".repeat(12))).toThrow(CliOutputError);
  });

  test("signing key: PEM SPKI or base58; other text refused", () => {
    const pem =
      "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAk573sGX2duOQQAPMKm16zxnXNCJP8CcgJedAV1nUSx0=\n-----END PUBLIC KEY-----";
    expect(parseSigningKey(`${pem.replace(/\n/g, "\r\n")}\r\n`)).toEqual({ format: "pem", value: pem });
    expect(parseSigningKey(KEY).format).toBe("base58");
    expect(() => parseSigningKey("-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----")).toThrow(CliOutputError);
  });

  test("session hash: last non-empty line, 64 hex", () => {
    expect(parseSessionHash("create_session", `Created session\n${HASH}\n\n`)).toBe(HASH);
    expect(() => parseSessionHash("create_session", "ok")).toThrow(/create_session: expected a session hash/);
  });

  test("session list: names one per line, blank lines dropped, a non-name refused", () => {
    expect(parseSessionList(" a/b \n\nc\n")).toEqual(["a/b", "c"]);
    expect(() => parseSessionList("a b")).toThrow(CliOutputError);
  });

  test("audit verdict: the exit code is the answer, never an error", () => {
    expect(parseAuditVerdict({ exitCode: 10, stdout: "", stderr: "d" })).toEqual({
      exitCode: 10,
      meaning: "correct, but a single failed transaction was rolled back",
      correct: true,
      details: "d",
      log: "",
    });
    expect(parseAuditVerdict({ exitCode: 18, stdout: "", stderr: "" }).correct).toBe(false);
    expect(parseAuditVerdict({ exitCode: 77, stdout: "", stderr: "" }).meaning).toBeNull();
    expect(parseCheckpoints(' [ {"seq": 1} ]\n')).toEqual([{ seq: 1 }]);
    expect(() => parseCheckpoints("nope")).toThrow(CliOutputError);
  });

  test("CAS key from a report: depth first, the documented key order, alphabetical descent", () => {
    expect(casKeyFromReport('{"casKey":"b","CAS_KEY":" a "}')).toBe("a");
    expect(casKeyFromReport('{"z":{"cas_key":"z"},"a":[{"x":1},{"casKeyHash":"a"}]}')).toBe("a");
    expect(casKeyFromReport('{"CAS_KEY":"  ","inner":{"cas_key_hash":"k"}}')).toBe("k");
    expect(() => casKeyFromReport("{")).toThrow("Invalid CAS attestation JSON");
    expect(() => casKeyFromReport('{"chain":["-----BEGIN"]}')).toThrow(/names no CAS key/);
  });

  test("console lines of an unprovisioned CAS: last field, both needed, the last occurrence wins", () => {
    const log = `x CAS key hash: ${KEY}\nCAS provisioning token: ${"1".repeat(32)}\nrestart\nCAS key hash = ${CAS_KEY}\n`;
    expect(parseProvisioningLines(log)).toEqual({ casKeyHash: CAS_KEY, token: "1".repeat(32) });
    expect(parseProvisioningLines(`CAS key hash: ${KEY}`)).toBeNull();
  });

  test("a CLI failure reads like upstream's, stderr bounded", () => {
    const e = new SconeCliError("read_session", "129012-1221-72811", 1, `${"x".repeat(3000)}`);
    expect(e.message).toStartWith("Scone CLI command failed with exit code 1 (ERROR 129012-1221-72811): xxx");
    expect(e.stderr.length).toBe(2001);
  });
});
