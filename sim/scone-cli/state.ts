// The stand-in CLI's own state: the CLI config (SCONE_CLI_CONFIG, default ~/.cas/config.json) with the documented
// fields (SCONE-CLI.md §7): `identity` (PEM PKCS#8 private key followed by its X.509 certificate — the key whose
// hash `self show-key-hash` prints and that authenticates to CAS over TLS), `cas_db` (the attested CASes: url,
// chain = the CAS's TLS CA pinned at attestation, and the attestation facts), `default_cas`; plus
// `session_signing_keypair_ed25519_seed` (upstream's plugin writes it into the owner identity, §7). What each field
// holds beyond that is this stand-in's choice. Created on first use, 0600 in a 0700 directory. What is derived from the
// identity (key hash, signing key) is in identity.ts: reading the config loads no crypto module.
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { CliFailure, type Env } from "./failure.ts";

/** One attested CAS (`cas_db` entry). */
export interface CasDbEntry {
  /** `https://<address>` as attested. */
  url: string;
  /** PEM of the CAS's TLS CA, from the verified report: every later connection must chain to it. */
  chain: string;
  cas_key: string;
  /** "" for an older CAS without a software key. */
  cas_software_key: string;
  /** 64 hex (X25519): what `session encrypt --cas` seals to. */
  session_encryption_key: string;
  /** 64 hex (Ed25519): the key the CAS's audit log is signed with. */
  audit_public_key: string;
  mrenclave: string;
  mrsigner: string;
  attested_at: string;
  allow_cas_owner_secret_access: boolean;
}

export interface CliConfig {
  identity: string;
  cas_db: Record<string, CasDbEntry>;
  default_cas: string | null;
  session_signing_keypair_ed25519_seed: string;
}

export function configPath(env: Env): string {
  return env.SCONE_CLI_CONFIG ?? join(env.HOME ?? homedir(), ".cas", "config.json");
}

/** n random bytes as hex (WebCrypto: no node:crypto to load). */
function randomHex(n: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(n))).toString("hex");
}

function writePrivate(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${randomHex(6)}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600, flag: "wx" });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

export function saveConfig(path: string, config: CliConfig): void {
  writePrivate(path, `${JSON.stringify(config, null, 2)}\n`);
}

/** The config; a missing file is created with a fresh identity (the CLI's behaviour on first use). */
export async function loadConfig(path: string): Promise<CliConfig> {
  if (!existsSync(path)) {
    // X.509 generation is loaded only here, on first use: an existing config never needs it.
    const { selfSignedClientIdentity } = await import("../cas/certificates.ts");
    const id = await selfSignedClientIdentity("scone-cli");
    const config: CliConfig = {
      identity: `${id.keyPem.trim()}\n${id.certPem.trim()}\n`,
      cas_db: {},
      default_cas: null,
      session_signing_keypair_ed25519_seed: randomHex(32),
    };
    // Two first calls at once (a driver asking for key hash and signing key together) must end with one identity:
    // the file is linked into place only if none is there yet, otherwise the one that won is read.
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const tmp = `${path}.${randomHex(6)}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600, flag: "wx" });
    try {
      linkSync(tmp, path);
      return config;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  let raw: Partial<CliConfig>;
  try {
    raw = JSON.parse(readFileSync(path, "utf8")) as Partial<CliConfig>;
  } catch (err) {
    throw new CliFailure(`config ${path}: not JSON (${(err as Error).message})`);
  }
  if (typeof raw.identity !== "string") throw new CliFailure(`config ${path}: field identity is missing`);
  const config: CliConfig = {
    identity: raw.identity,
    cas_db: raw.cas_db ?? {},
    default_cas: raw.default_cas ?? null,
    session_signing_keypair_ed25519_seed: raw.session_signing_keypair_ed25519_seed ?? "",
  };
  if (!/^[0-9a-f]{64}$/.test(config.session_signing_keypair_ed25519_seed)) {
    config.session_signing_keypair_ed25519_seed = randomHex(32);
    saveConfig(path, config);
  }
  return config;
}

function pemBlock(text: string, label: string): string | undefined {
  const m = new RegExp(`-----BEGIN ${label}-----[\\s\\S]*?-----END ${label}-----`).exec(text);
  return m?.[0];
}

/** The identity's key and certificate (for TLS client authentication). */
export function identityOf(config: CliConfig): { key: string; cert: string } {
  const key = pemBlock(config.identity, "PRIVATE KEY") ?? pemBlock(config.identity, "EC PRIVATE KEY");
  const cert = pemBlock(config.identity, "CERTIFICATE");
  if (!key || !cert) throw new CliFailure("config: identity must hold a PEM private key and its certificate");
  return { key, cert };
}
