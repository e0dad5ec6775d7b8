// The `cas …` commands of the stand-in (SCONE-CLI.md §3, §4, §7): attest, provision, show-identification,
// set-default, get-audit-log-checkpoints, register-backup. Loaded by main.ts only for these commands.
import { randomBytes } from "node:crypto";
import type { Report, SignedReport } from "../cas/report.ts";
import { attestedCas } from "./access.ts";
import { one, type ParsedArgs, parseArgs } from "./args.ts";
import { CliFailure, type Env } from "./failure.ts";
import { ownKeyHash } from "./identity.ts";
import { cliVersion, type Io, readInput } from "./io.ts";
import { type Connection, fetchReport, refused, request, retriesOf } from "./net.ts";
import { type CliConfig, configPath, identityOf, loadConfig, saveConfig } from "./state.ts";
import { checkReport, DEFAULT_MRSIGNER, VERIFIER_SPEC, verify } from "./verifier.ts";

const DATE = /^(\d{4}-\d{2}-\d{2}|\d{2}\.\d{2}\.\d{4}|\d{2}-\d{2}-\d{4})$/;

function checkVerificationTime(p: ParsedArgs): void {
  const t = one(p, "--verification-time");
  if (t !== undefined && !DATE.test(t)) {
    throw new CliFailure(`error: invalid value '${t}' for '--verification-time': expected yyyy-mm-dd`, 2);
  }
}

function remember(config: CliConfig, address: string, report: Report, ownerAccess: boolean) {
  config.cas_db[address] = {
    url: `https://${address}`,
    chain: report.ca_certificate,
    cas_key: report.cas_key_hash,
    cas_software_key: report.software_key_hash,
    session_encryption_key: report.session_encryption_key,
    audit_public_key: report.audit_public_key,
    mrenclave: report.enclave?.mrenclave ?? "",
    mrsigner: report.enclave?.mrsigner ?? "",
    attested_at: new Date().toISOString(),
    allow_cas_owner_secret_access: ownerAccess,
  };
  // SCONE-CLI.md §7: the first CAS attested becomes the default.
  config.default_cas ??= address;
}

const ATTEST_SPEC = {
  values: [...VERIFIER_SPEC.values!, "-c", "--retries", "--verification-time", "--nonce", "--offline-report"],
  flags: [...VERIFIER_SPEC.flags!, "--allow-cas-owner-secret-access", "--only_for_testing_allow-unprovisioned-cas"],
  positionals: 1,
} as const;

export async function attest(args: string[], env: Env, io: Io): Promise<number> {
  const p = parseArgs(args, ATTEST_SPEC);
  checkVerificationTime(p);
  const address = p.positionals[0]!;
  const offline = one(p, "--offline-report");
  const givenNonce = one(p, "--nonce");
  if ((offline === undefined) !== (givenNonce === undefined)) {
    throw new CliFailure("error: --nonce and --offline-report go together", 2);
  }
  if (offline !== undefined && p.flags.has("--only_for_testing_allow-unprovisioned-cas")) {
    throw new CliFailure("error: --only_for_testing_allow-unprovisioned-cas is for online attestation only", 2);
  }
  const cfgPath = configPath(env);
  const config = await loadConfig(cfgPath);
  const nonce = givenNonce ?? randomBytes(16).toString("hex");
  let signed: SignedReport;
  if (offline !== undefined) {
    try {
      signed = JSON.parse(readInput(offline)) as typeof signed;
    } catch (err) {
      if (err instanceof CliFailure) throw err;
      throw new CliFailure(`error: --offline-report ${offline}: not a JSON attestation report`);
    }
  } else {
    signed = await fetchReport({ address, retries: retriesOf(env, one(p, "--retries")) }, nonce);
  }
  const report = checkReport(signed, nonce, one(p, "-c"));
  if (!report.provisioned && !p.flags.has("--only_for_testing_allow-unprovisioned-cas")) {
    throw new CliFailure(
      `attestation failed: CAS ${address} is not provisioned (provision it, or pass --only_for_testing_allow-unprovisioned-cas)`,
    );
  }
  verify(report, p, cliVersion(env));
  remember(config, address, report, p.flags.has("--allow-cas-owner-secret-access"));
  saveConfig(cfgPath, config);
  io.out(`CAS ${address} attested: CAS key hash ${report.cas_key_hash}`);
  return 0;
}

export async function provision(args: string[], env: Env, io: Io): Promise<number> {
  const p = parseArgs(args, {
    values: ["-c", "--token", "--config-file", "--database-key", "--retries"],
    positionals: 1,
    subcommands: ["with-attestation", "only_for_testing-without-attestation"],
  });
  if (!p.sub) {
    throw new CliFailure("error: provision needs `with-attestation` or `only_for_testing-without-attestation`", 2);
  }
  const address = p.positionals[0]!;
  const expected = one(p, "-c");
  const token = one(p, "--token");
  const configFile = one(p, "--config-file");
  if (!expected) throw new CliFailure("error: the following required arguments were not provided: -c", 2);
  if (!token) throw new CliFailure("error: the following required arguments were not provided: --token", 2);
  if (!configFile) throw new CliFailure("error: the following required arguments were not provided: --config-file", 2);
  const ownerConfig = readInput(configFile);
  const databaseKey = one(p, "--database-key");
  if (databaseKey !== undefined && !/^[0-9a-fA-F]{64}$/.test(databaseKey)) {
    throw new CliFailure("error: --database-key: expected 64 hex characters", 2);
  }
  const vp =
    p.sub.name === "with-attestation"
      ? parseArgs(p.sub.rest, {
          ...VERIFIER_SPEC,
          values: [...VERIFIER_SPEC.values!, "--verification-time"],
          positionals: 0,
        })
      : parseArgs(p.sub.rest, { positionals: 0 });
  checkVerificationTime(vp);
  const retries = retriesOf(env, one(p, "--retries"));
  const nonce = randomBytes(16).toString("hex");
  const report = checkReport(await fetchReport({ address, retries }, nonce), nonce, expected);
  if (p.sub.name === "with-attestation") verify(report, vp, cliVersion(env));
  if (report.provisioned) throw new CliFailure(`error: CAS ${address} is already provisioned`);
  if (databaseKey !== undefined && report.enclave?.mrsigner !== DEFAULT_MRSIGNER) {
    throw new CliFailure("error: --database-key: this CAS's signer does not permit database key injection");
  }
  const cfgPath = configPath(env);
  const config = await loadConfig(cfgPath);
  const conn: Connection = { address, chain: report.ca_certificate, identity: identityOf(config), retries };
  const answer = await request(
    conn,
    "POST",
    "/v1/provision",
    JSON.stringify({ token, cas_key_hash: expected, owner_config: ownerConfig }),
  );
  if (answer.status !== 200) throw refused(address, answer);
  remember(config, address, report, false);
  saveConfig(cfgPath, config);
  io.out(`CAS ${address} provisioned; owner ${ownKeyHash(config)}`);
  return 0;
}

export async function showIdentification(args: string[], env: Env, io: Io): Promise<number> {
  const p = parseArgs(args, {
    values: ["--cas-key", "--cas-software-key", "--session-encryption-key"],
    positionals: 0,
  });
  const given = [...p.values.keys()];
  if (given.length !== 1) {
    throw new CliFailure("error: exactly one of --cas-key, --cas-software-key, --session-encryption-key <CAS>", 2);
  }
  const flag = given[0]!;
  const address = one(p, flag)!;
  const config = await loadConfig(configPath(env));
  const entry = config.cas_db[address];
  if (!entry) throw new CliFailure(`error: CAS ${address} has not been attested`);
  const value =
    flag === "--cas-key"
      ? entry.cas_key
      : flag === "--cas-software-key"
        ? entry.cas_software_key
        : entry.session_encryption_key;
  if (!value) throw new CliFailure(`error: CAS ${address} has no software key (older CAS)`);
  io.out(value);
  return 0;
}

export async function setDefault(args: string[], env: Env): Promise<number> {
  const address = parseArgs(args, { positionals: 1 }).positionals[0]!;
  const cfgPath = configPath(env);
  const config = await loadConfig(cfgPath);
  if (!config.cas_db[address]) throw new CliFailure(`error: CAS ${address} has not been attested`);
  config.default_cas = address;
  saveConfig(cfgPath, config);
  return 0;
}

export async function checkpoints(args: string[], env: Env, io: Io): Promise<number> {
  const p = parseArgs(args, { values: ["--cas", "--min-sequence-number", "--max-sequence-number"], positionals: 0 });
  const cas = await attestedCas(env, one(p, "--cas"));
  const q = new URLSearchParams();
  for (const [flag, name] of [
    ["--min-sequence-number", "min"],
    ["--max-sequence-number", "max"],
  ] as const) {
    const v = one(p, flag);
    if (v === undefined) continue;
    if (!/^\d{1,15}$/.test(v)) throw new CliFailure(`error: invalid value '${v}' for '${flag}'`, 2);
    q.set(name, v);
  }
  const answer = await request(cas.conn, "GET", `/_cli/v1/audit-log?${q}`);
  if (answer.status !== 200) throw refused(cas.address, answer);
  io.out(JSON.stringify({ checkpoints: (answer.body as { checkpoints: unknown }).checkpoints }, null, 2));
  return 0;
}

export async function registerBackup(args: string[], env: Env, io: Io): Promise<number> {
  const p = parseArgs(args, { ...VERIFIER_SPEC, values: [...VERIFIER_SPEC.values!, "--cas"], positionals: 1 });
  const backup = p.positionals[0]!;
  const cas = await attestedCas(env, one(p, "--cas"));
  const answer = await request(cas.conn, "POST", "/v1/owner/backups", JSON.stringify({ address: backup }));
  if (answer.status !== 200) throw refused(cas.address, answer);
  io.out(`backup CAS ${backup} registered with CAS ${cas.address}`);
  return 0;
}
