// The stand-in's files. Two kinds:
// - the CLI config (SCONE_CLI_CONFIG, default ~/.cas/config.json): identity, cas_db, default_cas — the documented
//   fields (SCONE-CLI.md §7); what exactly goes into them is this stand-in's own choice.
// - the "world" (SCONE_CLI_SIM_STATE): the CASes this stand-in pretends to reach over the network, one JSON file per
//   address. A real CLI has no such thing; it is private to the stand-in.
// Written from SCONE-CLI.md only; imports nothing from src/ (a second implementation, not a mirror).
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

export function base58(bytes: Uint8Array): string {
  let n = BigInt(`0x${Buffer.from(bytes).toString("hex") || "0"}`);
  let out = "";
  while (n > 0n) {
    out = B58[Number(n % 58n)] + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = `1${out}`;
  }
  return out;
}

/** The stand-in's key hash: base58 of SHA-256 over the public key's SPKI DER (its own encoding). */
export function keyHashOfPublicKeyDer(spki: Uint8Array): string {
  return base58(createHash("sha256").update(spki).digest());
}

export function randomKeyHash(): string {
  return keyHashOfPublicKeyDer(randomBytes(44));
}

export interface CasDbEntry {
  url: string;
  cas_key: string;
  cas_software_key: string | null;
}

export interface CliConfig {
  identity: string;
  cas_db: Record<string, CasDbEntry>;
  default_cas: string | null;
  session_signing_keypair_ed25519_seed: string;
}

function writePrivate(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600, flag: "wx" });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

export function configPath(env: Record<string, string | undefined>): string {
  return env.SCONE_CLI_CONFIG ?? join(env.HOME ?? homedir(), ".cas", "config.json");
}

/** The config, created with a fresh identity on first use (the CLI's own behaviour for a missing file). */
export function loadConfig(path: string): CliConfig {
  if (!existsSync(path)) {
    const { privateKey } = generateKeyPairSync("ed25519");
    const config: CliConfig = {
      identity: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
      cas_db: {},
      default_cas: null,
      session_signing_keypair_ed25519_seed: randomBytes(32).toString("hex"),
    };
    saveConfig(path, config);
    return config;
  }
  return JSON.parse(readFileSync(path, "utf8")) as CliConfig;
}

export function saveConfig(path: string, config: CliConfig): void {
  writePrivate(path, `${JSON.stringify(config, null, 2)}\n`);
}

export function ownKeyHash(config: CliConfig): string {
  const der = createPublicKey(createPrivateKey(config.identity)).export({ type: "spki", format: "der" });
  return keyHashOfPublicKeyDer(der);
}

export function signingKeyPem(config: CliConfig): string {
  const seed = Buffer.from(config.session_signing_keypair_ed25519_seed, "hex");
  const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]);
  const key = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
  return createPublicKey(key).export({ type: "spki", format: "pem" }).toString().trim();
}

export interface StoredVersion {
  hash: string;
  body: string;
  creator: string;
}

export interface WorldCas {
  address: string;
  cas_key: string;
  /** null: an "older CAS" without a software key. */
  cas_software_key: string | null;
  token: string;
  mrenclave: string;
  mrsigner: string;
  isvprodid: number;
  isvsvn: number;
  /** TCB states a verifier must tolerate: group-out-of-date, configuration-needed, sw-hardening-needed. */
  tcb: string[];
  provisioned: boolean;
  owner: string | null;
  owner_config: string | null;
  sessions: Record<string, StoredVersion[]>;
}

export function worldDir(env: Record<string, string | undefined>): string {
  const dir = env.SCONE_CLI_SIM_STATE;
  if (!dir) throw new CliFailure("SCONE_CLI_SIM_STATE is not set: the stand-in has no CASes to reach");
  return dir;
}

function worldFile(dir: string, address: string): string {
  return join(dir, `cas-${Buffer.from(address).toString("hex")}.json`);
}

export function loadCas(dir: string, address: string): WorldCas {
  const file = worldFile(dir, address);
  // The network error a real CLI would report for an address nobody answers on.
  if (!existsSync(file)) throw new CliFailure(`cannot connect to CAS at ${address}: no such host`);
  return JSON.parse(readFileSync(file, "utf8")) as WorldCas;
}

export function saveCas(dir: string, cas: WorldCas): void {
  writePrivate(worldFile(dir, cas.address), JSON.stringify(cas, null, 2));
}

export function createCas(dir: string, cas: WorldCas): void {
  if (existsSync(worldFile(dir, cas.address))) throw new CliFailure(`a CAS at ${cas.address} exists already`);
  saveCas(dir, cas);
}
