#!/usr/bin/env bun
// A stand-in for the SCONE CLI (`scone` / `rust-cli`), written from /work/shared/reference/SCONE-CLI.md alone, so
// scone's CAS driver can be tested end to end without SCONE. NOT production code and not a mirror of scone: it
// imports nothing from src/ (hack/lint-sim-imports.ts enforces that). Its pretend CASes live in SCONE_CLI_SIM_STATE.
//
// Documented surface (SCONE-CLI.md §3/§4): --version; self show-key-hash | show-session-signing-key;
// session check | calculate-hash | create | update | read | list; cas attest | set-default | provision |
// show-identification. Stand-in only: `sim-cas create <address> [options]` makes a pretend unprovisioned CAS and
// prints its console lines (`CAS key hash`, `CAS provisioning token`) as a real CAS prints them in its log.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { one, parseArgs } from "./args.ts";
import { createSession, hashOf, listSessions, parseSession, readSession, updateSession } from "./sessions.ts";
import {
  CliFailure,
  configPath,
  createCas,
  loadCas,
  loadConfig,
  ownKeyHash,
  randomKeyHash,
  saveCas,
  saveConfig,
  signingKeyPem,
  worldDir,
} from "./state.ts";
import { DEFAULT_MRSIGNER, VERIFIER_SPEC, verify } from "./verifier.ts";

type Env = Record<string, string | undefined>;

function version(env: Env): { text: string; major: number } {
  const text = env.SCONE_CLI_SIM_VERSION ?? "7.0.0";
  return { text, major: Number(text.split(".")[0]) };
}

function readInput(path: string): string {
  if (!existsSync(path)) throw new CliFailure(`error: cannot read ${path}: no such file`);
  return readFileSync(path, "utf8");
}

/** The CAS a session command names, checked against the attested entry (`--cas-key` must be what attestation saw). */
function attestedCas(env: Env, args: string[]) {
  const p = parseArgs(args, { values: ["--cas", "--cas-key", "--session-hash"], positionals: 1 });
  const cfgPath = configPath(env);
  const config = loadConfig(cfgPath);
  const address = one(p, "--cas") ?? config.default_cas;
  if (!address) throw new CliFailure("no CAS given and no default CAS: attest one first");
  const entry = config.cas_db[address];
  if (!entry) throw new CliFailure(`CAS ${address} has not been attested`);
  const key = one(p, "--cas-key");
  if (key !== undefined && key !== entry.cas_key)
    throw new CliFailure(`CAS ${address}: key ${key} is not the attested one`);
  const cas = loadCas(worldDir(env), address);
  if (cas.cas_key !== entry.cas_key) throw new CliFailure(`CAS ${address} presents another key than the one attested`);
  return { p, cas, caller: ownKeyHash(config), operand: p.positionals[0]! };
}

function run(argv: string[], env: Env, out: (s: string) => void): number {
  if (env.SCONE_CONFIG_ID !== undefined) {
    // Upstream's clients always remove it (SCONE-CLI.md §1); a caller that forgets is a bug worth seeing.
    throw new CliFailure("SCONE_CONFIG_ID is set; the stand-in refuses to guess which configuration is meant");
  }
  const [a, b, ...rest] = argv;
  if (a === "--version" || a === "-V") {
    out(`scone ${version(env).text}`);
    return 0;
  }
  const key = `${a} ${b}`;
  switch (key) {
    case "self show-key-hash":
      parseArgs(rest, { positionals: 0 });
      out(ownKeyHash(loadConfig(configPath(env))));
      return 0;
    case "self show-session-signing-key":
      parseArgs(rest, { positionals: 0 });
      out(signingKeyPem(loadConfig(configPath(env))));
      return 0;
    case "session check": {
      const p = parseArgs(rest, { positionals: 1 });
      const text = readInput(p.positionals[0]!);
      parseSession(text);
      out(text.trimEnd());
      return 0;
    }
    case "session calculate-hash": {
      const p = parseArgs(rest, { positionals: 1 });
      out(hashOf(parseSession(readInput(p.positionals[0]!))));
      return 0;
    }
    case "session create":
    case "session update": {
      const { cas, caller, operand } = attestedCas(env, rest);
      const text = readInput(operand);
      const hash = b === "create" ? createSession(cas, text, caller) : updateSession(cas, text, caller);
      saveCas(worldDir(env), cas);
      out(hash);
      return 0;
    }
    case "session read": {
      const { p, cas, caller, operand } = attestedCas(env, rest);
      const body = readSession(cas, operand, caller, one(p, "--session-hash"));
      if (body === null) {
        process.stderr.write(`session ${operand} not found\n`);
        return 2;
      }
      out(body.trimEnd());
      return 0;
    }
    case "session list": {
      const { cas, caller, operand } = attestedCas(env, rest);
      for (const n of listSessions(cas, operand, caller)) out(n);
      return 0;
    }
    case "cas attest":
      return attest(rest, env, out);
    case "cas provision":
      return provision(rest, env, out);
    case "cas set-default": {
      const p = parseArgs(rest, { positionals: 1 });
      const cfgPath = configPath(env);
      const config = loadConfig(cfgPath);
      const address = p.positionals[0]!;
      if (!config.cas_db[address]) throw new CliFailure(`CAS ${address} has not been attested`);
      config.default_cas = address;
      saveConfig(cfgPath, config);
      return 0;
    }
    case "cas show-identification": {
      const p = parseArgs(rest, { values: ["--cas-key", "--cas-software-key"], positionals: 0 });
      const config = loadConfig(configPath(env));
      const [flag, address] = p.values.has("--cas-key")
        ? ["--cas-key", one(p, "--cas-key")!]
        : ["--cas-software-key", one(p, "--cas-software-key")];
      if (!address) throw new CliFailure("error: --cas-key or --cas-software-key is required", 2);
      const entry = config.cas_db[address];
      if (!entry) throw new CliFailure(`CAS ${address} has not been attested`);
      const value = flag === "--cas-key" ? entry.cas_key : entry.cas_software_key;
      if (!value) throw new CliFailure(`CAS ${address} has no software key (older CAS)`);
      out(value);
      return 0;
    }
    case "sim-cas create":
      return simCasCreate(rest, env, out);
    default:
      throw new CliFailure(`error: unrecognized subcommand '${argv.slice(0, 2).join(" ")}'`, 2);
  }
}

function remember(env: Env, address: string, cas: { cas_key: string; cas_software_key: string | null }) {
  const cfgPath = configPath(env);
  const config = loadConfig(cfgPath);
  config.cas_db[address] = { url: `https://${address}`, cas_key: cas.cas_key, cas_software_key: cas.cas_software_key };
  // SCONE-CLI.md §7: the first CAS attested becomes the default.
  config.default_cas ??= address;
  saveConfig(cfgPath, config);
}

function attest(args: string[], env: Env, out: (s: string) => void): number {
  const p = parseArgs(args, {
    values: [...VERIFIER_SPEC.values!, "-c", "--retries", "--verification-time", "--nonce", "--offline-report"],
    flags: [...VERIFIER_SPEC.flags!, "--allow-cas-owner-secret-access", "--only_for_testing_allow-unprovisioned-cas"],
    positionals: 1,
  });
  const address = p.positionals[0]!;
  const cas = loadCas(worldDir(env), address);
  const expected = one(p, "-c");
  if (expected !== undefined && expected !== cas.cas_key)
    throw new CliFailure(`CAS key hash mismatch: CAS presents ${cas.cas_key}`);
  if (!cas.provisioned && !p.flags.has("--only_for_testing_allow-unprovisioned-cas")) {
    throw new CliFailure(`CAS ${address} is not provisioned`);
  }
  verify(cas, p, version(env));
  remember(env, address, cas);
  out(`CAS ${address} at ${cas.cas_key} attested`);
  return 0;
}

function provision(args: string[], env: Env, out: (s: string) => void): number {
  const p = parseArgs(args, {
    values: ["-c", "--token", "--config-file", "--database-key", "--retries"],
    positionals: 1,
    subcommands: ["with-attestation", "only_for_testing-without-attestation"],
  });
  if (!p.sub)
    throw new CliFailure("error: provision needs `with-attestation` or `only_for_testing-without-attestation`", 2);
  const address = p.positionals[0]!;
  const cas = loadCas(worldDir(env), address);
  if (one(p, "-c") !== cas.cas_key) throw new CliFailure(`CAS key hash mismatch: CAS presents ${cas.cas_key}`);
  const configFile = one(p, "--config-file");
  if (!configFile) throw new CliFailure("error: --config-file is required", 2);
  const ownerConfig = readInput(configFile);
  if (p.sub.name === "with-attestation") {
    const vp = parseArgs(p.sub.rest, {
      ...VERIFIER_SPEC,
      values: [...VERIFIER_SPEC.values!, "--verification-time"],
      positionals: 0,
    });
    verify(cas, vp, version(env));
  }
  if (cas.provisioned) throw new CliFailure(`CAS ${address} is already provisioned`);
  if (one(p, "--token") !== cas.token) throw new CliFailure("provisioning token rejected");
  const config = loadConfig(configPath(env));
  cas.provisioned = true;
  cas.owner = ownKeyHash(config);
  cas.owner_config = ownerConfig;
  saveCas(worldDir(env), cas);
  remember(env, address, cas);
  out(`CAS ${address} provisioned; owner ${cas.owner}`);
  return 0;
}

function simCasCreate(args: string[], env: Env, out: (s: string) => void): number {
  const p = parseArgs(args, {
    values: ["--mrsigner", "--isvprodid", "--isvsvn", "--tcb", "--mrenclave"],
    flags: ["--no-software-key"],
    positionals: 1,
  });
  const address = p.positionals[0]!;
  const cas = {
    address,
    cas_key: randomKeyHash(),
    cas_software_key: p.flags.has("--no-software-key") ? null : randomKeyHash(),
    token: randomBytes(16).toString("hex"),
    mrenclave: one(p, "--mrenclave") ?? randomBytes(32).toString("hex"),
    mrsigner: one(p, "--mrsigner") ?? DEFAULT_MRSIGNER,
    isvprodid: Number(one(p, "--isvprodid") ?? 41316),
    isvsvn: Number(one(p, "--isvsvn") ?? 5),
    tcb: (one(p, "--tcb") ?? "").split(",").filter((t) => t !== ""),
    provisioned: false,
    owner: null,
    owner_config: null,
    sessions: {},
  };
  createCas(worldDir(env), cas);
  out(`[INFO] CAS key hash of this CAS: ${cas.cas_key}`);
  out(`[INFO] CAS provisioning token: ${cas.token}`);
  return 0;
}

if (import.meta.main) {
  try {
    process.exitCode = run(process.argv.slice(2), process.env, (s) => process.stdout.write(`${s}\n`));
  } catch (err) {
    const failure = err instanceof CliFailure ? err : new CliFailure(String((err as Error).message ?? err));
    process.stderr.write(`${failure.message}\n`);
    process.exitCode = failure.exitCode;
  }
}
