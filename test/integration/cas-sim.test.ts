// scone's CAS client against the CAS simulator process (no Kubernetes cluster needed): provisioning, sessions with
// predecessor chains and access policies, public values, signed and encrypted sessions, attestation, snapshots
// (restorable), the signed audit log (also across a crash and restart), and pause/resume fault injection.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchSimulator, type RunningSimulator } from "../../sim/cas/launch.ts";
import { CasAttestationError } from "../support/cas-legacy/attestation.ts";
import { verifyAnchoredAuditLog } from "../support/cas-legacy/audit.ts";
import { attestCas, CasClient, newNonce } from "../support/cas-legacy/client.ts";
import { newX25519KeyPair, sealToKey, toHex } from "../support/cas-legacy/crypto.ts";
import {
  CasAuthError,
  CasConflictError,
  CasNotFoundError,
  CasRequestError,
  CasUnavailableError,
} from "../support/cas-legacy/errors.ts";
import {
  type CliConfig,
  generateCliConfig,
  identityKeyHash,
  identityPem,
  sessionSigner,
} from "../support/cas-legacy/identity.ts";
import { sessionHash, signSession } from "../support/cas-legacy/session.ts";

const TIMEOUT = 120_000; // a test may start a simulator (up to 60 s on a loaded machine) and still do its work
/** Requests expected to succeed get a timeout a loaded machine cannot reach; only the time-out tests use short ones. */
const PATIENT_MS = 30_000;
const OWNER_CONFIG = `enclave_reconnect_timeout = "24h"
[api_identity]
common_name = "cas"
alt_names = ["localhost", "cas.my-ns.svc"]
[audit_log]
mode = "signed"
sink = "file"
`;

const root = mkdtempSync(join(tmpdir(), "scone-cas-sim-"));
const dataDir = join(root, "db");
const snapshotDir = join(root, "snapshots");
const auditLog = join(root, "cas_audit.log");
let sim: RunningSimulator;
let owner: CliConfig;
let stranger: CliConfig;
let caCertPem: string;
let ownerClient: CasClient;
let strangerClient: CasClient;
let publicClient: CasClient;

function appSession(name: string, extra = ""): string {
  return `version: "0.3.10"
name: ${name}
secrets:
  - name: api_token
    kind: ascii
    size: 24
    export_public: true
  - name: db_password
    kind: ascii
    size: 16
services:
  - name: app
    environment:
      DB_PASSWORD: "$$SCONE::db_password$$"
access_policy:
  read:
    - CREATOR
  update:
    - CREATOR
${extra}`;
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = probe();
    if (value !== undefined) return value;
    await Bun.sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  [owner, stranger] = await Promise.all([generateCliConfig("owner"), generateCliConfig("stranger")]);
  sim = await launchSimulator({ dataDir, snapshotDir, snapshotInterval: "300ms", auditLog });
}, TIMEOUT);

afterAll(async () => {
  if (sim && sim.process.exitCode === null) await sim.stop();
  rmSync(root, { recursive: true, force: true });
}, TIMEOUT);

describe("CAS simulator", () => {
  test(
    "prints key hash and provisioning token as the last field of their console lines",
    () => {
      expect(sim.casKeyHash).toMatch(/^[1-9A-HJ-NP-Za-km-z]{40,60}$/);
      expect(sim.provisioningToken).toMatch(/^[0-9a-f]{32}$/);
      expect(sim.sessionEncryptionKey).toMatch(/^[0-9a-f]{64}$/);
    },
    TIMEOUT,
  );

  test(
    "attestation is bound to the nonce and the CAS key hash, and yields the CA to pin",
    async () => {
      const nonce = newNonce();
      const attested = await attestCas(sim.url, { casKeyHash: sim.casKeyHash, nonce });
      expect(attested.report.nonce).toBe(nonce);
      expect(attested.report.provisioned).toBe(false);
      expect(attested.report.session_encryption_key).toBe(sim.sessionEncryptionKey);
      expect(attested.caCertPem).toContain("BEGIN CERTIFICATE");
      caCertPem = attested.caCertPem;
      await expect(attestCas(sim.url, { casKeyHash: sim.softwareKeyHash })).rejects.toBeInstanceOf(CasAttestationError);

      ownerClient = new CasClient({ url: sim.url, caCertPem, identity: identityPem(owner), timeoutMs: PATIENT_MS });
      strangerClient = new CasClient({
        url: sim.url,
        caCertPem,
        identity: identityPem(stranger),
        timeoutMs: PATIENT_MS,
      });
      publicClient = new CasClient({ url: sim.url, caCertPem, timeoutMs: PATIENT_MS });
      expect(await publicClient.version()).toBe("6.0.6");
    },
    TIMEOUT,
  );

  test(
    "pinning rejects a CAS whose chain is not the attested one",
    async () => {
      const other = await generateCliConfig("not-a-ca");
      const wrongPin = new CasClient({ url: sim.url, caCertPem: identityPem(other).certPem, timeoutMs: PATIENT_MS });
      await expect(wrongPin.version()).rejects.toBeInstanceOf(CasUnavailableError);
    },
    TIMEOUT,
  );

  test(
    "provisioning: wrong token refused, right token makes the caller the owner, second attempt refused",
    async () => {
      const request = { token: "0".repeat(32), casKeyHash: sim.casKeyHash, ownerConfig: OWNER_CONFIG };
      await expect(ownerClient.provision(request)).rejects.toBeInstanceOf(CasAuthError);
      const token = sim.provisioningToken ?? "";
      const result = await ownerClient.provision({ ...request, token });
      expect(result.ownerKeyHash).toBe(identityKeyHash(owner));
      await expect(strangerClient.provision({ ...request, token })).rejects.toBeInstanceOf(CasConflictError);
      const nonce = newNonce();
      const attested = await ownerClient.attestWithEvidence({ casKeyHash: sim.casKeyHash, nonce });
      expect(attested.report.provisioned).toBe(true);
      expect(attested.evidence.report.nonce).toBe(nonce);
      await ownerClient.updateOwnerConfig(OWNER_CONFIG);
      await expect(strangerClient.updateOwnerConfig(OWNER_CONFIG)).rejects.toBeInstanceOf(CasAuthError);
      await ownerClient.registerBackup("backup-cas-node-1:8081");
      await expect(strangerClient.registerBackup("rogue:8081")).rejects.toBeInstanceOf(CasAuthError);

      // The owner config's api_identity names are now in the client API certificate.
      const byName = new CasClient({ url: sim.url, caCertPem, serverName: "cas.my-ns.svc", timeoutMs: PATIENT_MS });
      expect(await byName.version()).toBe("6.0.6");
      const unknownName = new CasClient({
        url: sim.url,
        caCertPem,
        serverName: "elsewhere.test",
        timeoutMs: PATIENT_MS,
      });
      await expect(unknownName.version()).rejects.toBeInstanceOf(CasUnavailableError);
    },
    TIMEOUT,
  );

  test(
    "sessions: create, duplicate create and stale update refused with the current hash, update with predecessor",
    async () => {
      const v1 = appSession("app-one");
      const created = await ownerClient.createSession(v1);
      expect(created.hash).toBe(sessionHash(v1));

      const duplicate = await ownerClient.createSession(v1).catch((e: unknown) => e);
      expect(duplicate).toBeInstanceOf(CasConflictError);
      expect((duplicate as CasConflictError).currentHash).toBe(created.hash);

      const stale = await ownerClient.updateSession(appSession("app-one", "# v2\n"), "f".repeat(64)).catch((e) => e);
      expect(stale).toBeInstanceOf(CasConflictError);
      expect((stale as CasConflictError).currentHash).toBe(created.hash);

      const updated = await ownerClient.updateSession(appSession("app-one", "creator: ~\n"), created.hash);
      expect(updated.hash).not.toBe(created.hash);
      const current = await ownerClient.readSession("app-one");
      expect(current.hash).toBe(updated.hash);
      expect(current.session).toContain(`predecessor: ${created.hash}`);
      expect((await ownerClient.readSession("app-one", created.hash)).session).toBe(v1);

      await expect(strangerClient.readSession("app-one")).rejects.toBeInstanceOf(CasAuthError);
      await expect(publicClient.readSession("app-one")).rejects.toBeInstanceOf(CasAuthError);
      await expect(strangerClient.updateSession(appSession("app-one"), updated.hash)).rejects.toBeInstanceOf(
        CasAuthError,
      );
      await expect(ownerClient.readSession("no-such-session")).rejects.toBeInstanceOf(CasNotFoundError);

      // Owning the CAS grants no access to other people's sessions.
      await strangerClient.createSession(appSession("strangers-app"));
      await expect(ownerClient.readSession("strangers-app")).rejects.toBeInstanceOf(CasAuthError);
    },
    TIMEOUT,
  );

  test(
    "sessions: predecessor forbidden on create, invalid names refused, namespaces need create_sessions",
    async () => {
      await expect(
        ownerClient.createSession(appSession("fresh", `predecessor: ${"a".repeat(64)}\n`)),
      ).rejects.toBeInstanceOf(CasRequestError);
      await expect(ownerClient.createSession(appSession("bad name!"))).rejects.toBeInstanceOf(CasRequestError);
      await expect(ownerClient.createSession(appSession("missing-ns/app"))).rejects.toBeInstanceOf(CasNotFoundError);
      await ownerClient.createSession(appSession("team"));
      await ownerClient.createSession(appSession("team/app"));
      await expect(strangerClient.createSession(appSession("team/intruder"))).rejects.toBeInstanceOf(CasAuthError);
    },
    TIMEOUT,
  );

  test(
    "public values: exported secrets readable without identity, others refused with the documented body, HEAD 405",
    async () => {
      const values = await publicClient.values("app-one");
      expect(Object.keys(values)).toEqual(["api_token"]);
      expect(values.api_token?.value).toMatch(/^[A-Za-z0-9]{24}$/);
      expect(values.api_token?.kind).toBe("string");
      expect((await publicClient.value("app-one", "api_token")).value).toBe(values.api_token?.value ?? "");

      const hidden = await publicClient.value("app-one", "db_password").catch((e: unknown) => e);
      expect(hidden).toBeInstanceOf(CasNotFoundError);
      expect((hidden as CasNotFoundError).messages[1]).toBe(
        "Secret does not exist or is not visible for a public client",
      );

      const head = await fetch(`${sim.url}/v1/values/session=app-one,secret=db_password`, {
        method: "HEAD",
        tls: { ca: caCertPem },
      });
      expect(head.status).toBe(405);
    },
    TIMEOUT,
  );

  test(
    "concurrent updates from the same predecessor: exactly one wins, the rest get 409 with the winner's hash",
    async () => {
      // x509 secrets make the CAS await while generating them: the window a lost update would need.
      const withCert = (cert: string) => `name: race\nsecrets:\n  - name: ${cert}\n    kind: x509\n`;
      const base = await ownerClient.createSession(withCert("cert"));
      const attempts = await Promise.allSettled(
        [1, 2, 3, 4].map((i) => ownerClient.updateSession(withCert(`cert${i}`), base.hash)),
      );
      const won = attempts.filter((a) => a.status === "fulfilled");
      expect(won).toHaveLength(1);
      const winner = (won[0] as PromiseFulfilledResult<{ hash: string }>).value.hash;
      for (const lost of attempts.filter((a) => a.status === "rejected")) {
        expect(lost.reason).toBeInstanceOf(CasConflictError);
        expect((lost.reason as CasConflictError).currentHash).toBe(winner);
      }
    },
    TIMEOUT,
  );

  test(
    "secret values survive a session update",
    async () => {
      const before = await publicClient.value("app-one", "api_token");
      const current = await ownerClient.readSession("app-one");
      await ownerClient.updateSession(appSession("app-one", "# v3\n"), current.hash);
      expect((await publicClient.value("app-one", "api_token")).value).toBe(before.value);
    },
    TIMEOUT,
  );

  test(
    "signed sessions: refused only for their format (sim/README.md, 'Signed sessions'), creator.signer required",
    async () => {
      const seed = Buffer.from(owner.session_signing_keypair_ed25519_seed, "hex");
      const signer = await sessionSigner(owner);
      const text = appSession("signed-app", `creator:\n  signer: ${signer}\n`);
      const signed = await signSession(text, seed);
      expect(signed.signatures[0]?.signer).toBe(signer);

      // A signature that is not hex or base64 text is refused for its format.
      const first = signed.signatures[0] as { signer: string; signature: string };
      const malformed = { ...signed, signatures: [{ ...first, signature: "not a signature!" }] };
      await expect(strangerClient.createSession(malformed)).rejects.toBeInstanceOf(CasRequestError);
      // A well-formed signature that does not verify over the text (SCONE's own, whose message is unpublished, or a
      // forgery: the simulator cannot tell them apart) is accepted and grants nothing: a new session needs no right.
      const other = appSession("signed-app-other", `creator:\n  signer: ${signer}\n`);
      const unverified = { ...signed, session: other };
      await expect(strangerClient.createSession(unverified)).resolves.toBeDefined();
      const unsigned = appSession("signed-app2", `creator:\n  signer: ${signer}\n`);
      await expect(ownerClient.createSession(unsigned)).rejects.toBeInstanceOf(CasAuthError);

      // The signature is the identity: even a caller without a client certificate may upload it.
      const created = await publicClient.createSession(signed);
      expect(created.hash).toBe(sessionHash(text));
    },
    TIMEOUT,
  );

  test(
    "encrypted sessions: sealed to this CAS's key accepted, wrong encryption key refused",
    async () => {
      const text = appSession("sealed-app");
      const encrypted = await sealToKey(text, sim.sessionEncryptionKey);
      const created = await ownerClient.uploadEncryptedSession({
        encrypted_session: encrypted,
        encryption_key: sim.sessionEncryptionKey,
      });
      expect(created.hash).toBe(sessionHash(text));
      expect((await ownerClient.readSession("sealed-app")).session).toBe(text);

      const other = toHex((await newX25519KeyPair()).publicKey);
      const wrongKey = ownerClient.uploadEncryptedSession({
        encrypted_session: await sealToKey(appSession("sealed-other"), other),
        encryption_key: other,
      });
      await expect(wrongKey).rejects.toBeInstanceOf(CasRequestError);
      // Right key named, but the box was sealed for another CAS: refused too.
      const misdirected = ownerClient.uploadEncryptedSession({
        encrypted_session: await sealToKey(appSession("sealed-other"), other),
        encryption_key: sim.sessionEncryptionKey,
      });
      await expect(misdirected).rejects.toBeInstanceOf(CasRequestError);
    },
    TIMEOUT,
  );

  test(
    "enclave API resolves a service's secrets after attestation [simulated]",
    async () => {
      const response = await fetch(`${sim.enclaveUrl}/v1/enclave/attest`, {
        method: "POST",
        body: JSON.stringify({ session: "app-one", service: "app" }),
      });
      const body = (await response.json()) as { environment: Record<string, string> };
      expect(response.status).toBe(200);
      expect(body.environment.DB_PASSWORD).toMatch(/^[A-Za-z0-9]{16}$/);
    },
    TIMEOUT,
  );

  test(
    "snapshots: last-completed holds cas.db + cas.key-store, and a CAS started from them has the same state",
    async () => {
      const lastDb = join(snapshotDir, "last-completed", "cas.db");
      const snapshotted = await waitFor("a snapshot with the latest session", () => {
        if (!existsSync(lastDb)) return undefined;
        return readFileSync(lastDb, "utf8") === readFileSync(join(dataDir, "cas.db"), "utf8") ? true : undefined;
      });
      expect(snapshotted).toBe(true);
      expect(lstatSync(join(snapshotDir, "last-completed")).isSymbolicLink()).toBe(true);
      expect(readlinkSync(join(snapshotDir, "last-completed"))).toMatch(/^snapshot-/);
      expect(existsSync(join(snapshotDir, "last-completed", "cas.key-store"))).toBe(true);
      const health = await publicClient.health();
      expect(health).toMatchObject({ status: "ok", provisioned: true, snapshots: { enabled: true } });
      expect(health.snapshots.last_snapshot_at).toMatch(/^\d{4}-/);
      expect(health.snapshots.last_checkup_at).toMatch(/^\d{4}-/);

      const restoredDir = join(root, "restored");
      cpSync(join(snapshotDir, "last-completed"), restoredDir, { recursive: true, dereference: true });
      const restored = await launchSimulator({ dataDir: restoredDir });
      try {
        expect(restored.casKeyHash).toBe(sim.casKeyHash);
        expect(restored.provisioningToken).toBeUndefined();
        const client = new CasClient({
          url: restored.url,
          caCertPem,
          identity: identityPem(owner),
          timeoutMs: PATIENT_MS,
        });
        expect((await client.readSession("app-one")).hash).toBe((await ownerClient.readSession("app-one")).hash);
      } finally {
        await restored.stop();
      }
    },
    TIMEOUT,
  );

  test(
    "audit sink network: each entry is POSTed to the owner config's url",
    async () => {
      const received: string[] = [];
      const collector = Bun.serve({
        hostname: "127.0.0.1",
        port: 0,
        async fetch(request) {
          received.push(await request.text());
          return new Response("ok");
        },
      });
      try {
        const url = `http://127.0.0.1:${collector.port}/audit`;
        await ownerClient.updateOwnerConfig(
          `${OWNER_CONFIG.replace('sink = "file"', 'sink = "network"')}url = "${url}"\n`,
        );
        await ownerClient.readSession("app-one");
        await waitFor("the session_read entry at the collector", () =>
          received.some((body) => body.includes('"event":"session_read"')) ? true : undefined,
        );
        await ownerClient.updateOwnerConfig(OWNER_CONFIG);
      } finally {
        collector.stop(true);
      }
    },
    TIMEOUT,
  );

  test(
    "pause: the client times out; resume: it answers again",
    async () => {
      const impatient = new CasClient({ url: sim.url, caCertPem, timeoutMs: 700 });
      await sim.admin("pause");
      await expect(impatient.version()).rejects.toBeInstanceOf(CasUnavailableError);
      const cancelled = new AbortController();
      const pending = new CasClient({ url: sim.url, caCertPem }).version({ signal: cancelled.signal });
      cancelled.abort();
      await expect(pending).rejects.toThrow("cancelled");
      await sim.admin("resume");
      // Answering again is the point, not answering within 700 ms (a loaded machine may take longer).
      expect(await new CasClient({ url: sim.url, caCertPem, timeoutMs: PATIENT_MS }).version()).toBe("6.0.6");
    },
    TIMEOUT,
  );

  test(
    "--fail-after N: the simulator stops answering after N requests",
    async () => {
      const flaky = await launchSimulator({ dataDir: join(root, "flaky"), extraArgs: ["--fail-after", "1"] });
      try {
        const { caCertPem: ca } = await attestCas(flaky.url, { casKeyHash: flaky.casKeyHash });
        await expect(new CasClient({ url: flaky.url, caCertPem: ca, timeoutMs: 700 }).version()).rejects.toBeInstanceOf(
          CasUnavailableError,
        );
        await flaky.admin("resume");
      } finally {
        await flaky.stop();
      }
    },
    TIMEOUT,
  );

  test(
    "audit log: the chain verifies against the CAS key, covers the operations, and continues after a crash",
    async () => {
      const first = await verifyAnchoredAuditLog(readFileSync(auditLog, "utf8"), sim.casKeyHash);
      expect(first).toMatchObject({ ok: true, anchored: true });
      const events = readFileSync(auditLog, "utf8")
        .trim()
        .split("\n")
        .map((l) => (JSON.parse(l) as { event: string }).event);
      for (const event of ["audit_log_enabled", "cas_started", "provisioned", "session_created", "session_updated"]) {
        expect(events).toContain(event);
      }
      expect(events).toContain("session_read");
      expect(events).toContain("service_attested");

      await sim.admin("crash");
      await sim.process.exited;
      sim = await launchSimulator({ dataDir, snapshotDir, snapshotInterval: "300ms", auditLog });
      expect(sim.provisioningToken).toBeUndefined();
      const client = new CasClient({ url: sim.url, caCertPem, identity: identityPem(owner), timeoutMs: PATIENT_MS });
      await client.readSession("app-one");
      await sim.stop();
      const text = readFileSync(auditLog, "utf8");
      const after = await verifyAnchoredAuditLog(text, sim.casKeyHash);
      expect(after.ok).toBe(true);
      expect(after.ok && first.ok && after.entries > first.entries).toBe(true);
      expect(text.trim().split("\n").at(-1)).toContain('"event":"cas_exited"');
    },
    TIMEOUT,
  );
});
