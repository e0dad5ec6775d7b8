// `scone policy sign|encrypt|verify`: manifests from an owner identity, the round trip sign → verify, a tampered
// manifest failing verify (exit 1, signer named), and the flag rules. The CLI is run as a process for the round trip.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { newX25519KeyPair, openSealed, toHex } from "../../../src/cas/crypto.ts";
import { type CliConfig, generateCliConfig, sessionSigner, writeCliConfig } from "../../../src/cas/identity.ts";
import {
  casAddressOf,
  encryptedPolicyManifest,
  renderManifest,
  resourceNameOf,
  signedPolicyManifest,
  verifyManifestText,
} from "../../../src/cli/run/policy.ts";
import { CliError } from "../../../src/cli/spec.ts";
import { verifySignedPolicy } from "../../../src/operator/policies/verify.ts";

const ROOT = join(import.meta.dir, "../../..");
let dir: string;
let config: CliConfig;
let signer: string;
let identityPath: string;
let policyPath: string;

const policyText = (creator: string) =>
  `---\nversion: 0.3.10\nname: team/app_policy\npredecessor: ~\nservices:\n  - name: app\n    command: "python3 /app/app.py   "\n    environment:\n      GREETING: "tab\\there"\naccess_policy:\n  read:\n    - NONE\n  update:\n    - CREATOR\ncreator:\n  signer: ${creator}\n`;

function scone(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = Bun.spawnSync([process.execPath, join(ROOT, "src/main.ts"), ...args], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: "1" },
  });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "scone-policy-cli-"));
  config = await generateCliConfig();
  signer = await sessionSigner(config);
  identityPath = join(dir, "config.json");
  await writeCliConfig(identityPath, config);
  policyPath = join(dir, "session.yaml");
  await Bun.write(policyPath, policyText(signer));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("scone policy (process)", () => {
  test("sign → verify succeeds; one changed byte → verify exits 1 naming the signer", async () => {
    const signed = scone([
      "policy",
      "sign",
      policyPath,
      "--identity",
      identityPath,
      "--cas-address",
      "https://cas.team:8081",
      "-n",
      "team",
    ]);
    expect(signed.stderr).toBe("");
    expect(signed.code).toBe(0);
    const manifest = parse(signed.stdout);
    expect(manifest).toMatchObject({
      apiVersion: "cas.scone.cloud/v1beta1",
      kind: "SignedPolicy",
      metadata: { name: "team-app-policy", namespace: "team" },
      spec: { casAddress: "https://cas.team:8081", signatures: [{ signer }] },
    });
    expect(manifest.spec.policy).toBe(policyText(signer)); // byte for byte, trailing spaces included
    const good = join(dir, "signed.yaml");
    await Bun.write(good, signed.stdout);
    const ok = scone(["policy", "verify", good]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`valid — signed by ${signer}`);

    const bad = join(dir, "tampered.yaml");
    await Bun.write(bad, signed.stdout.replace("/app/app.py", "/app/app.pz"));
    const refused = scone(["policy", "verify", bad]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain("INVALID");
    expect(refused.stderr).toContain(signer);
  });

  test("-o json prints the same manifest as JSON; without a file the command says how to give one", () => {
    const json = scone([
      "policy",
      "sign",
      "-f",
      policyPath,
      "--identity",
      identityPath,
      "--cas",
      "cas",
      "-n",
      "team",
      "-o",
      "json",
    ]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).spec.casAddress).toBe("https://cas.team:8081");
    const missing = scone(["policy", "sign", "--identity", identityPath]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("give FILE or --filename FILE");
  });

  test("encrypt with --encryption-key → an EncryptedPolicy the key's holder can open; verify checks the key", async () => {
    const cas = await newX25519KeyPair();
    const key = toHex(cas.publicKey);
    const out = scone(["policy", "encrypt", policyPath, "--encryption-key", key, "--cas", "cas", "-n", "team"]);
    expect(out.code).toBe(0);
    const manifest = parse(out.stdout);
    expect(manifest).toMatchObject({
      kind: "EncryptedPolicy",
      spec: { casAddress: "https://cas.team:8081", encryptionKey: key },
    });
    expect(await openSealed(manifest.spec.policy, cas.privateKey)).toBe(policyText(signer));
    const file = join(dir, "encrypted.yaml");
    await Bun.write(file, out.stdout);
    expect(scone(["policy", "verify", file, "--encryption-key", key]).code).toBe(0);
    const other = toHex((await newX25519KeyPair()).publicKey);
    const wrong = scone(["policy", "verify", file, "--encryption-key", other]);
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toContain("is not the session encryption key");
  });
});

describe("policy manifests (in process)", () => {
  test("encrypt --sign seals the signed-session JSON, whose signature verifies over the exact text", async () => {
    const cas = await newX25519KeyPair();
    const manifest = await encryptedPolicyManifest({
      text: policyText(signer),
      encryptionKey: toHex(cas.publicKey),
      casAddress: "https://cas.a:8081",
      signWith: config,
    });
    const inner = JSON.parse(await openSealed(manifest.spec.policy, cas.privateKey));
    expect(inner.session).toBe(policyText(signer));
    const verdict = await verifySignedPolicy({ casAddress: "x", policy: inner.session, signatures: inner.signatures });
    expect(verdict).toMatchObject({ ok: true, signers: [signer] });
  });

  test("signing refuses a policy whose creator.signer is another key", async () => {
    const other = await sessionSigner(await generateCliConfig());
    const err = await signedPolicyManifest({ text: policyText(other), config, casAddress: "https://cas.a:8081" }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(CliError);
    expect(String(err.message)).toContain(other);
  });

  test("signing refuses a text that is not a session, naming the field", async () => {
    const err = await signedPolicyManifest({
      text: "version: 0.3\n",
      config,
      casAddress: "https://cas.a:8081",
      source: "s.yaml",
    }).catch((e) => e);
    expect(err).toBeInstanceOf(CliError);
    expect(String(err.message)).toBe("s.yaml: name: required (a string)");
  });

  test("texts YAML block style cannot hold (trailing blanks, tabs, no final newline) are kept exactly", async () => {
    for (const text of ["name: trailing   \n\n\n", "name: odd\n# \ttab   \n  ", "name: no-newline"]) {
      const manifest = await signedPolicyManifest({ text, config, casAddress: "https://cas.a:8081" });
      expect(parse(await renderManifest(manifest, "yaml")).spec.policy).toBe(text);
      expect((await verifyManifestText(await renderManifest(manifest, "yaml")))[0]?.ok).toBe(true);
    }
  });

  test("verifyManifestText: every document is checked; a wrong signer is refused with the trust list", async () => {
    const a = await signedPolicyManifest({ text: policyText(signer), config, casAddress: "https://cas.a:8081" });
    const b = await encryptedPolicyManifest({
      text: policyText(signer),
      encryptionKey: "ab".repeat(32),
      casAddress: "https://cas.a:8081",
    });
    const text = `${await renderManifest(a, "yaml")}---\n${await renderManifest(b, "json")}`;
    const verdicts = await verifyManifestText(text);
    expect(verdicts.map((v) => [v.kind, v.ok])).toEqual([
      ["SignedPolicy", true],
      ["EncryptedPolicy", true],
    ]);
    const untrusted = await verifyManifestText(text, { trustedSigners: ["someone-else"] });
    expect(untrusted[0]?.problems.map((p) => p.reason)).toEqual(["UntrustedSigner"]);
    await expect(verifyManifestText("kind: ConfigMap\n")).rejects.toThrow("not a policy");
  });

  test("names and addresses", () => {
    expect(resourceNameOf("team/App_Policy.v2")).toBe("team-app-policy.v2");
    expect(resourceNameOf("___")).toBe("policy");
    expect(casAddressOf({ cas: "cas", namespace: "ns" })).toBe("https://cas.ns:8081");
    expect(casAddressOf({ casAddress: "https://x.y:8081/", cas: "ignored" })).toBe("https://x.y:8081");
    expect(() => casAddressOf({ casAddress: "http://x:8081" })).toThrow("https://");
    expect(() => casAddressOf({})).toThrow("no CAS given");
  });
});
