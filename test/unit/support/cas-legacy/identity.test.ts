import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ed25519FromSeed, keyHashOfPem, signerOfEd25519 } from "../../../support/cas-legacy/crypto.ts";
import {
  type CasDbEntry,
  describeIdentity,
  generateCliConfig,
  identityKeyHash,
  identityPem,
  parseCliConfig,
  readCliConfig,
  sessionSigner,
  sessionSigningSeed,
  withCas,
  writeCliConfig,
} from "../../../support/cas-legacy/identity.ts";

const dir = mkdtempSync(join(tmpdir(), "scone-cas-identity-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ENTRY: CasDbEntry = {
  url: "https://cas.ns:8081",
  chain: "CA",
  cas_key_hash: "h",
  software_key_hash: "s",
  session_encryption_key: "k",
  version: "6.0.6",
  attested_at: "2026-01-01T00:00:00Z",
};

describe("owner identity / CLI config", () => {
  test("has the documented fields; the identity holds a key and a certificate for the same key", async () => {
    const config = await generateCliConfig("owner");
    expect(Object.keys(config).sort()).toEqual(["cas_db", "identity", "session_signing_keypair_ed25519_seed"]);
    const { keyPem, certPem } = identityPem(config);
    expect(keyPem).toContain("BEGIN PRIVATE KEY");
    expect(certPem).toContain("BEGIN CERTIFICATE");
    expect(identityKeyHash(config)).toBe(keyHashOfPem(keyPem));
    const key = await ed25519FromSeed(sessionSigningSeed(config));
    expect(await sessionSigner(config)).toBe(signerOfEd25519(key.publicKey));
  });

  test("is written 0600 and reads back equal", async () => {
    const config = withCas(await generateCliConfig(), "cas.ns:8081", ENTRY);
    expect(config.default_cas).toBe("cas.ns:8081");
    const path = join(dir, "config.json");
    await writeCliConfig(path, config);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(await readCliConfig(path)).toEqual(config);
  });

  test("describeIdentity shows no private material", async () => {
    const config = await generateCliConfig();
    const text = JSON.stringify(await describeIdentity(config));
    expect(text).not.toContain("PRIVATE");
    expect(text).not.toContain(config.session_signing_keypair_ed25519_seed);
  });

  test("a bad config names the field", async () => {
    const config = await generateCliConfig();
    expect(() => parseCliConfig({ ...config, identity: "junk" })).toThrow("identity:");
    expect(() => parseCliConfig({ ...config, session_signing_keypair_ed25519_seed: "12" })).toThrow(
      "session_signing_keypair_ed25519_seed",
    );
    expect(() => parseCliConfig({ ...config, cas_db: [] })).toThrow("cas_db");
    await expect(readCliConfig(join(dir, "missing.json"))).rejects.toThrow("cannot read");
  });
});
