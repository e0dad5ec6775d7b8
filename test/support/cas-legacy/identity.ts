// The CAS owner identity and the SCONE CLI config that carries it (`~/.cas/config.json`, `SCONE_CLI_CONFIG`).
// Shape per SCONE-INTERFACE §12.2: `identity` (PEM PKCS#8 key + X.509 certificate), `cas_db` (address → attested CAS),
// `default_cas`, `session_signing_keypair_ed25519_seed`. The file holds private keys: written 0600, never logged —
// use describeIdentity() for anything printed.
import { readFile } from "node:fs/promises";
import { writePrivateFile } from "../../../src/runtime/private-file.ts";
import { loadX509 } from "../../../src/x509.ts";
import { ed25519FromSeed, fromHex, keyHashOfPem, newSeed, signerOfEd25519, toHex } from "./crypto.ts";

// Loaded through loadX509 so the compiled bundle installs reflect-metadata first (see src/x509.ts).
const x509 = await loadX509();

/** What scone remembers about a CAS after attesting it (our shape for the `cas_db` values). */
export interface CasDbEntry {
  readonly url: string;
  /** The CAS's TLS CA certificate (PEM), pinned for every later request. */
  readonly chain: string;
  readonly cas_key_hash: string;
  readonly software_key_hash: string;
  readonly session_encryption_key: string;
  readonly version: string;
  readonly attested_at: string;
}

export interface CliConfig {
  /** PKCS#8 private key PEM followed by the self-signed certificate PEM. */
  readonly identity: string;
  readonly cas_db: Readonly<Record<string, CasDbEntry>>;
  readonly default_cas?: string;
  /** 32-byte Ed25519 seed, as 64 hex (our encoding; SCONE does not publish its own). */
  readonly session_signing_keypair_ed25519_seed: string;
}

export interface IdentityPem {
  readonly keyPem: string;
  readonly certPem: string;
}

const KEY_ALGORITHM = { name: "ECDSA", namedCurve: "P-256" } as const;
const YEAR_MS = 365 * 24 * 3600 * 1000;

function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return toHex(bytes);
}

/** A new ECDSA P-256 key with a self-signed client certificate: only the key matters to CAS (key hash). */
export async function generateIdentityPem(commonName = "scone-cas-owner", now = new Date()): Promise<IdentityPem> {
  const keys = (await crypto.subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${commonName}`,
    notBefore: new Date(now.getTime() - 3600 * 1000),
    notAfter: new Date(now.getTime() + 10 * YEAR_MS),
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    ],
  });
  const keyPem = x509.PemConverter.encode(await crypto.subtle.exportKey("pkcs8", keys.privateKey), "PRIVATE KEY");
  return { keyPem, certPem: cert.toString("pem") };
}

export async function generateCliConfig(commonName?: string): Promise<CliConfig> {
  const { keyPem, certPem } = await generateIdentityPem(commonName);
  return {
    identity: `${keyPem.trim()}\n${certPem.trim()}\n`,
    cas_db: {},
    session_signing_keypair_ed25519_seed: toHex(newSeed()),
  };
}

const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----/g;

/** Splits `identity` into its key and certificate; throws naming the field when either is missing. */
export function identityPem(config: Pick<CliConfig, "identity">): IdentityPem {
  let keyPem: string | undefined;
  let certPem: string | undefined;
  for (const match of config.identity.matchAll(PEM_BLOCK)) {
    if (match[1] === "PRIVATE KEY" || match[1] === "EC PRIVATE KEY") keyPem ??= match[0];
    if (match[1] === "CERTIFICATE") certPem ??= match[0];
  }
  if (!keyPem || !certPem) {
    throw new Error("identity: expected a PEM private key followed by a PEM certificate (regenerate the identity)");
  }
  return { keyPem: `${keyPem}\n`, certPem: `${certPem}\n` };
}

/** The key hash CAS sees for this identity (what access policies list). */
export function identityKeyHash(config: Pick<CliConfig, "identity">): string {
  return keyHashOfPem(identityPem(config).certPem);
}

export function sessionSigningSeed(config: Pick<CliConfig, "session_signing_keypair_ed25519_seed">): Uint8Array {
  const seed = config.session_signing_keypair_ed25519_seed;
  if (!/^[0-9a-fA-F]{64}$/.test(seed)) {
    throw new Error("session_signing_keypair_ed25519_seed: expected 64 hex characters");
  }
  return fromHex(seed);
}

/** Signer string of the session-signing key (`scone self show-session-signing-key`). */
export async function sessionSigner(config: Pick<CliConfig, "session_signing_keypair_ed25519_seed">): Promise<string> {
  return signerOfEd25519((await ed25519FromSeed(sessionSigningSeed(config))).publicKey);
}

/** Public facts about an identity, safe to print. */
export async function describeIdentity(config: CliConfig): Promise<{
  keyHash: string;
  sessionSigner: string;
  cas: string[];
  defaultCas: string | undefined;
}> {
  return {
    keyHash: identityKeyHash(config),
    sessionSigner: await sessionSigner(config),
    cas: Object.keys(config.cas_db),
    defaultCas: config.default_cas,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Validates a parsed config file; errors name the field and the fix. */
export function parseCliConfig(value: unknown, source = "CLI config"): CliConfig {
  if (!isRecord(value)) throw new Error(`${source}: expected a JSON object`);
  if (typeof value.identity !== "string") throw new Error(`${source}: identity missing (PEM key + certificate)`);
  if (typeof value.session_signing_keypair_ed25519_seed !== "string") {
    throw new Error(`${source}: session_signing_keypair_ed25519_seed missing (64 hex)`);
  }
  const casDb = value.cas_db === undefined ? {} : value.cas_db;
  if (!isRecord(casDb)) throw new Error(`${source}: cas_db must be an object (address → CAS)`);
  if (value.default_cas !== undefined && typeof value.default_cas !== "string") {
    throw new Error(`${source}: default_cas must be a string`);
  }
  const config: CliConfig = {
    identity: value.identity,
    cas_db: casDb as Record<string, CasDbEntry>,
    session_signing_keypair_ed25519_seed: value.session_signing_keypair_ed25519_seed,
    ...(typeof value.default_cas === "string" ? { default_cas: value.default_cas } : {}),
  };
  identityPem(config);
  sessionSigningSeed(config);
  return config;
}

export async function readCliConfig(path: string): Promise<CliConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new Error(`CLI config ${path}: cannot read (${err instanceof Error ? err.message : String(err)})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`CLI config ${path}: not valid JSON`);
  }
  return parseCliConfig(value, `CLI config ${path}`);
}

/** Writes the config atomically with mode 0600 (it holds private keys). */
export async function writeCliConfig(path: string, config: CliConfig): Promise<void> {
  await writePrivateFile(path, `${JSON.stringify(config, null, 2)}\n`);
}

/** The config with `cas_db[address]` set (and made the default when there is none yet). */
export function withCas(config: CliConfig, address: string, entry: CasDbEntry): CliConfig {
  return {
    ...config,
    cas_db: { ...config.cas_db, [address]: entry },
    default_cas: config.default_cas ?? address,
  };
}
