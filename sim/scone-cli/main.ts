#!/usr/bin/env bun
// A stand-in for the SCONE CLI (`scone` / `rust-cli`), so scone's CAS driver (src/cas/driver) can be tested end to
// end without SCONE: the documented command surface, argument vectors, output lines and exit codes of
// /work/shared/reference/SCONE-CLI.md §3–§7, talking over the network to the simulated CAS (sim/cas) at the address
// it is given. NOT production code and not a mirror of scone: it imports nothing from src/ (hack/lint-sim-imports.ts
// enforces that); what passes between it and sim/cas is the simulator's private business. README.md lists every
// command and what it checks.
import { randomBytes } from "node:crypto";
import { one, type ParsedArgs, parseArgs } from "./args.ts";
import { verifyAuditLog } from "./audit.ts";
import { cliVersion, type Io, readInput } from "./io.ts";
import { type Connection, fetchReport, refused, request, retriesOf } from "./net.ts";
import { encrypt, readSessionFile, sessionHash, sign, signingKey } from "./sessions.ts";
import {
  type CasDbEntry,
  type CliConfig,
  CliFailure,
  configPath,
  type Env,
  identityOf,
  loadConfig,
  ownKeyHash,
  saveConfig,
  signingKeyPem,
  signingSeed,
} from "./state.ts";
import { checkReport, DEFAULT_MRSIGNER, VERIFIER_SPEC, verify } from "./verifier.ts";

const DATE = /^(\d{4}-\d{2}-\d{2}|\d{2}\.\d{2}\.\d{4}|\d{2}-\d{2}-\d{4})$/;

function checkVerificationTime(p: ParsedArgs): void {
  const t = one(p, "--verification-time");
  if (t !== undefined && !DATE.test(t)) {
    throw new CliFailure(`error: invalid value '${t}' for '--verification-time': expected yyyy-mm-dd`, 2);
  }
}

/** An attested CAS and how to reach it as this identity. */
export interface Attested {
  readonly address: string;
  readonly entry: CasDbEntry;
  readonly conn: Connection;
  readonly config: CliConfig;
}

export async function attestedCas(env: Env, address: string | undefined, casKey?: string): Promise<Attested> {
  const config = await loadConfig(configPath(env));
  const addr = address ?? config.default_cas ?? undefined;
  if (!addr) throw new CliFailure("error: no CAS given (--cas) and no default CAS: attest one first");
  const entry = config.cas_db[addr];
  if (!entry) throw new CliFailure(`error: CAS ${addr} has not been attested (scone cas attest ${addr} …)`);
  if (casKey !== undefined && casKey !== entry.cas_key) {
    throw new CliFailure(`error: CAS ${addr}: --cas-key ${casKey} is not the key its attestation established`);
  }
  const conn: Connection = { address: addr, chain: entry.chain, identity: identityOf(config), retries: retriesOf(env) };
  return { address: addr, entry, conn, config };
}

function remember(config: CliConfig, address: string, report: import("../cas/report.ts").Report, ownerAccess: boolean) {
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

async function attest(args: string[], env: Env, io: Io): Promise<number> {
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
  let signed: import("../cas/report.ts").SignedReport;
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

async function provision(args: string[], env: Env, io: Io): Promise<number> {
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

async function showIdentification(args: string[], env: Env, io: Io): Promise<number> {
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

const SESSION_TARGET = { values: ["--cas", "--cas-key"], positionals: 1 } as const;

async function sessionUpload(verb: "create" | "update", args: string[], env: Env, io: Io): Promise<number> {
  const p = parseArgs(args, SESSION_TARGET);
  const text = readInput(p.positionals[0]!);
  readSessionFile(text);
  const cas = await attestedCas(env, one(p, "--cas"), one(p, "--cas-key"));
  const answer = await request(cas.conn, "POST", `/_cli/v1/sessions?mode=${verb}`, text);
  if (answer.status !== 200 && answer.status !== 201) throw refused(cas.address, answer);
  io.out(String((answer.body as { hash?: unknown }).hash));
  return 0;
}

async function sessionRead(args: string[], env: Env, io: Io): Promise<number> {
  const p = parseArgs(args, { values: ["--cas", "--cas-key", "--session-hash"], positionals: 1 });
  const name = p.positionals[0]!;
  const hash = one(p, "--session-hash");
  const cas = await attestedCas(env, one(p, "--cas"), one(p, "--cas-key"));
  const answer = await request(
    cas.conn,
    "GET",
    `/v1/sessions/${encodeURIComponent(name).replace(/%2F/g, "/")}${hash ? `?hash=${encodeURIComponent(hash)}` : ""}`,
  );
  if (answer.status === 404) {
    // SCONE-CLI §3: exit 2 = not found.
    io.err(`error: ${(answer.body as { msg?: string[] })?.msg?.join("; ") ?? `session ${name} not found`}`);
    return 2;
  }
  if (answer.status !== 200) throw refused(cas.address, answer);
  io.out(String((answer.body as { session?: unknown }).session).trimEnd());
  return 0;
}

async function sessionList(args: string[], env: Env, io: Io): Promise<number> {
  const p = parseArgs(args, SESSION_TARGET);
  const cas = await attestedCas(env, one(p, "--cas"), one(p, "--cas-key"));
  const answer = await request(cas.conn, "GET", `/_cli/v1/session-names?path=${encodeURIComponent(p.positionals[0]!)}`);
  if (answer.status !== 200) throw refused(cas.address, answer);
  for (const n of (answer.body as { names: string[] }).names) io.out(n);
  return 0;
}

async function sessionEncrypt(args: string[], env: Env, io: Io): Promise<number> {
  const p = parseArgs(args, { values: ["--cas", "--key"], positionals: 1 });
  if (p.values.has("--cas") && p.values.has("--key"))
    throw new CliFailure("error: --cas and --key exclude each other", 2);
  const file = readSessionFile(readInput(p.positionals[0]!));
  const config = await loadConfig(configPath(env));
  let key = one(p, "--key");
  if (key === undefined) key = (await attestedCas(env, one(p, "--cas"))).entry.session_encryption_key;
  // `encrypt` signs first if the session is unsigned (SCONE-CLI §6).
  const signed =
    file.kind === "signed"
      ? JSON.stringify({ session: file.session, signatures: file.signatures })
      : sign(file, signingKey(signingSeed(config)), signingKeyPem(config));
  io.out(encrypt(signed, key));
  return 0;
}

async function checkpoints(args: string[], env: Env, io: Io): Promise<number> {
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

async function registerBackup(args: string[], env: Env, io: Io): Promise<number> {
  const p = parseArgs(args, { ...VERIFIER_SPEC, values: [...VERIFIER_SPEC.values!, "--cas"], positionals: 1 });
  const backup = p.positionals[0]!;
  const cas = await attestedCas(env, one(p, "--cas"));
  const answer = await request(cas.conn, "POST", "/v1/owner/backups", JSON.stringify({ address: backup }));
  if (answer.status !== 200) throw refused(cas.address, answer);
  io.out(`backup CAS ${backup} registered with CAS ${cas.address}`);
  return 0;
}

export async function run(argv: string[], env: Env, io: Io): Promise<number> {
  if (env.SCONE_CONFIG_ID !== undefined) {
    // Upstream's clients always remove it (SCONE-CLI.md §1); a caller that forgets is a bug worth seeing.
    throw new CliFailure("SCONE_CONFIG_ID is set; the stand-in refuses to guess which configuration is meant");
  }
  const [a, b, ...rest] = argv;
  if ((a === "--version" || a === "-V") && argv.length === 1) {
    io.out(`scone ${cliVersion(env).text}`);
    return 0;
  }
  switch (`${a} ${b}`) {
    case "self show-key-hash":
      parseArgs(rest, { positionals: 0 });
      io.out(ownKeyHash(await loadConfig(configPath(env))));
      return 0;
    case "self show-session-signing-key":
      parseArgs(rest, { positionals: 0 });
      io.out(signingKeyPem(await loadConfig(configPath(env))));
      return 0;
    case "session check": {
      const text = readInput(parseArgs(rest, { positionals: 1 }).positionals[0]!);
      readSessionFile(text);
      io.out(text.trimEnd());
      return 0;
    }
    case "session calculate-hash":
      io.out(sessionHash(readSessionFile(readInput(parseArgs(rest, { positionals: 1 }).positionals[0]!))));
      return 0;
    case "session sign": {
      const file = readSessionFile(readInput(parseArgs(rest, { positionals: 1 }).positionals[0]!));
      const config = await loadConfig(configPath(env));
      io.out(sign(file, signingKey(signingSeed(config)), signingKeyPem(config)));
      return 0;
    }
    case "session encrypt":
      return sessionEncrypt(rest, env, io);
    case "session create":
    case "session update":
      return sessionUpload(b as "create" | "update", rest, env, io);
    case "session read":
      return sessionRead(rest, env, io);
    case "session list":
      return sessionList(rest, env, io);
    case "cas attest":
      return attest(rest, env, io);
    case "cas provision":
      return provision(rest, env, io);
    case "cas set-default": {
      const address = parseArgs(rest, { positionals: 1 }).positionals[0]!;
      const cfgPath = configPath(env);
      const config = await loadConfig(cfgPath);
      if (!config.cas_db[address]) throw new CliFailure(`error: CAS ${address} has not been attested`);
      config.default_cas = address;
      saveConfig(cfgPath, config);
      return 0;
    }
    case "cas show-identification":
      return showIdentification(rest, env, io);
    case "cas verify-audit-log":
    case "cas attest-audit-log":
      return verifyAuditLog(b === "attest-audit-log", rest, env, io);
    case "cas get-audit-log-checkpoints":
      return checkpoints(rest, env, io);
    case "cas register-backup":
      return registerBackup(rest, env, io);
    default:
      throw new CliFailure(`error: unrecognized subcommand '${argv.slice(0, 2).join(" ")}'`, 2);
  }
}

if (import.meta.main) {
  const io: Io = {
    out: (s) => process.stdout.write(`${s}\n`),
    err: (s) => process.stderr.write(`${s}\n`),
  };
  try {
    process.exitCode = await run(process.argv.slice(2), process.env, io);
  } catch (err) {
    const failure =
      err instanceof CliFailure ? err : new CliFailure(`error: ${(err as Error)?.message ?? String(err)}`);
    io.err(failure.message);
    process.exitCode = failure.exitCode;
  }
}
