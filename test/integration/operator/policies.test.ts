// SignedPolicy and EncryptedPolicy controllers against the real API server and the CAS simulator, provisioned with
// an owner identity generated here and handed to the operator as the `scone-owner-cas` Secret. Tampered, unsigned,
// untrusted and wrongly encrypted policies never reach the CAS (no call, no session, no audit entry); a valid one is
// created with the CAS's hash; an update carries its predecessor; a change made directly at the CAS between two
// reconciles is reported as Conflict with both hashes and is not overwritten.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchSimulator, type RunningSimulator } from "../../../sim/cas/launch.ts";
import { attestCas, CasClient } from "../../../src/cas/client.ts";
import { newSeed, newX25519KeyPair, sealToKey, toHex } from "../../../src/cas/crypto.ts";
import {
  type CliConfig,
  generateCliConfig,
  identityKeyHash,
  identityPem,
  sessionSigner,
  sessionSigningSeed,
  withCas,
} from "../../../src/cas/identity.ts";
import { parseSession, signSession } from "../../../src/cas/session.ts";
import { encryptedPolicyManifest } from "../../../src/cli/run/policy.ts";
import type { KubeClient } from "../../../src/kube/client.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { mappedResolver } from "../../../src/operator/policies/address.ts";
import { attestedCasClients, type PolicyCasFactory } from "../../../src/operator/policies/cas-port.ts";
import {
  ENCRYPTED_POLICY_TYPE,
  registerPolicyControllers,
  SIGNED_POLICY_TYPE,
} from "../../../src/operator/policies/controller.ts";
import { casDbEntryOfAttestation, ownerIdentitySource, ownerSecret } from "../../../src/operator/policies/owner.ts";
import type { EncryptedPolicy, PolicyStatus, SignedPolicy, SignedPolicySpec } from "../../../src/resources/policies.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../../harness/cluster.ts";
import { waitFor as pollFor } from "../kube/helpers.ts";
import { buildOperatorContext, cleanupSteps, ensureNamespace, installCrds, type TestOperator } from "./context.ts";

// Namespaces of this run's own: the shared cluster outlives the file, and one still terminating must not be reused.
const RUN = Math.random().toString(36).slice(2, 8);
const NS = `policies-it-${RUN}`;
const CAS_ADDRESS = `https://cas.${NS}:8081`;
/** The same simulated CAS under a second name, whose owner Secret also trusts another signer. */
const NS2 = `policies-it-trusting-${RUN}`;
const CAS2_ADDRESS = `https://cas.${NS2}:8081`;
const START_TIMEOUT_MS = 300_000;
const TEST_TIMEOUT_MS = 120_000;

/** The shared poll (kube/helpers.ts) with this file's default timeout. */
const waitFor = <T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined, timeoutMs = 60_000) =>
  pollFor(what, probe, timeoutMs);

type AuditEntry = { event: string; details: Record<string, unknown> };

describe.skipIf(!clusterAvailable())("SignedPolicy and EncryptedPolicy controllers", () => {
  let cluster: LocalCluster;
  let op: TestOperator;
  let client: KubeClient;
  let sim: RunningSimulator;
  let dir: string;
  let owner: CliConfig;
  let ownerSigner: string;
  let ownerKeyHash: string;
  let ownerCas: CasClient;
  /** Every CAS call the controllers made, as "create NAME", "update NAME", "read NAME", "upload KEY". */
  const calls: string[] = [];

  const session = (name: string, predecessor: string | null = null) =>
    [
      'version: "0.3.10"',
      `name: ${name}`,
      `predecessor: ${predecessor ?? "~"}`,
      "services:",
      "  - name: app",
      "    command: python3 /app/app.py",
      "access_policy:",
      "  read:",
      `    - ${ownerKeyHash}`,
      "  update:",
      "    - CREATOR",
      "creator:",
      `  signer: ${ownerSigner}`,
      "",
    ].join("\n");

  const signedPolicy = async (
    name: string,
    text: string,
    seed = sessionSigningSeed(owner),
    casAddress = CAS_ADDRESS,
  ): Promise<SignedPolicy & { spec: SignedPolicySpec }> => {
    const signed = await signSession(text, seed);
    return {
      ...SIGNED_POLICY_TYPE,
      kind: "SignedPolicy",
      metadata: { name, namespace: NS },
      spec: { casAddress, policy: signed.session, signatures: [...signed.signatures] },
    };
  };

  const create = (o: KubeObject) => client.create(o);
  const getSigned = (name: string) => client.get<SignedPolicy>({ ...SIGNED_POLICY_TYPE, namespace: NS, name });
  const getEncrypted = (name: string) => client.get<EncryptedPolicy>({ ...ENCRYPTED_POLICY_TYPE, namespace: NS, name });
  const stateOf = <T extends { status?: PolicyStatus }>(get: () => Promise<T>, state: string): Promise<T> =>
    waitFor(`state ${state}`, async () => {
      const o = await get();
      if (o.status?.state === state) return o;
      throw new Error(`status is ${JSON.stringify(o.status)}`);
    });
  const condition = (o: { status?: PolicyStatus }, type: string) => o.status?.conditions?.find((c) => c.type === type);
  const eventsOf = async (name: string) =>
    (
      await client.list<KubeObject & { reason?: string; type?: string; message?: string }>(
        { apiVersion: "v1", kind: "Event" },
        { namespace: NS, fieldSelector: `involvedObject.name=${name}` },
      )
    ).items;
  const eventWith = (name: string, reason: string) =>
    waitFor(`Event ${reason} on ${name}`, async () => (await eventsOf(name)).find((e) => e.reason === reason));
  const audit = async (): Promise<AuditEntry[]> =>
    (await readFile(join(dir, "cas_audit.log"), "utf8"))
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as AuditEntry);
  const sessionEvents = async (name: string) =>
    (await audit()).filter(
      (e) => (e.event === "session_created" || e.event === "session_updated") && e.details.session === name,
    );
  const simSessions = async () =>
    ((await (await fetch(`${sim.adminUrl}/sim/state`)).json()) as { sessions: number }).sessions;

  beforeAll(async () => {
    cluster = await sharedCluster();
    dir = await mkdtemp(join(tmpdir(), "scone-policies-it-"));
    sim = await launchSimulator({ dataDir: join(dir, "db"), auditLog: join(dir, "cas_audit.log") });

    // The owner: generate an identity, attest the CAS, provision it, remember it in cas_db under the in-cluster address.
    owner = await generateCliConfig("policies-it-owner");
    ownerSigner = await sessionSigner(owner);
    ownerKeyHash = identityKeyHash(owner);
    const attested = await attestCas(sim.url, { casKeyHash: sim.casKeyHash });
    ownerCas = new CasClient({ url: sim.url, caCertPem: attested.caCertPem, identity: identityPem(owner) });
    await ownerCas.provision({
      token: sim.provisioningToken ?? "",
      casKeyHash: sim.casKeyHash,
      ownerConfig: '[audit_log]\nmode = "signed"\n',
    });
    owner = withCas(owner, CAS_ADDRESS, casDbEntryOfAttestation(CAS_ADDRESS, attested));
    owner = withCas(owner, CAS2_ADDRESS, casDbEntryOfAttestation(CAS2_ADDRESS, attested));

    op = await buildOperatorContext({ kubeconfigPath: cluster.kubeconfigPath });
    client = op.client;
    await installCrds(client);
    await ensureNamespace(client, NS);
    await ensureNamespace(client, NS2);
    await client.apply(ownerSecret({ name: "cas", namespace: NS }, owner), { fieldManager: "scone-test", force: true });

    const real = attestedCasClients({
      resolve: mappedResolver({ [CAS_ADDRESS]: { url: sim.url }, [CAS2_ADDRESS]: { url: sim.url } }),
    });
    const spy: PolicyCasFactory = async (address, who) => {
      const cas = await real(address, who);
      return {
        createSession: (s) => {
          calls.push(`create ${parseSession(s.session).name}`);
          return cas.createSession(s);
        },
        updateSession: (s) => {
          calls.push(`update ${parseSession(s.session).name}`);
          return cas.updateSession(s);
        },
        readSession: (name, signal) => {
          calls.push(`read ${name}`);
          return cas.readSession(name, signal);
        },
        uploadEncryptedSession: (upload) => {
          calls.push(`upload ${upload.encryption_key}`);
          return cas.uploadEncryptedSession(upload);
        },
        sessionEncryptionKey: () => cas.sessionEncryptionKey(),
      };
    };
    registerPolicyControllers(op.ctx, {
      identityFor: ownerIdentitySource(client, { cacheMs: 0 }),
      casClientFor: spy,
      recheckMs: 1000,
      retryMs: 1000,
    });
    await op.start();
  }, START_TIMEOUT_MS);

  afterAll(async () => {
    // Every step runs even when one before it fails.
    await cleanupSteps([
      () => op?.stop(),
      ...[NS, NS2].map((name) => () => client?.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name })),
      () => sim?.stop(),
      () => dir && rm(dir, { recursive: true, force: true }),
    ]);
  }, 60_000);

  test(
    "tampered, unsigned and untrusted SignedPolicies are Rejected with the signer named and never reach the CAS",
    async () => {
      const sessionsBefore = await simSessions();
      const tampered = await signedPolicy("tampered", session("tampered"));
      tampered.spec = { ...tampered.spec, policy: tampered.spec.policy.replace("app.py", "app.pz") };
      const unsigned = await signedPolicy("unsigned", session("unsigned"));
      unsigned.spec = { ...unsigned.spec, signatures: [] };
      // Validly signed, by a key the CAS owner does not trust (and named as creator, so the CAS itself would accept it).
      const strangerSeed = newSeed();
      const stranger = (await signSession("x", strangerSeed)).signatures[0]?.signer ?? "";
      const untrusted = await signedPolicy(
        "untrusted",
        session("untrusted").replace(`signer: ${ownerSigner}`, `signer: ${stranger}`),
        strangerSeed,
      );
      for (const o of [tampered, unsigned, untrusted]) await create(o);

      const t = await stateOf(() => getSigned("tampered"), "Rejected");
      expect(condition(t, "SignatureValid")).toMatchObject({ status: "False", reason: "InvalidSignature" });
      expect(condition(t, "SignatureValid")?.message).toContain(ownerSigner);
      expect(condition(t, "Synced")).toMatchObject({ status: "False", reason: "NotSubmitted" });
      expect(t.status?.hash).toBe("");
      expect((await eventWith("tampered", "SignatureInvalid")).type).toBe("Warning");

      const u = await stateOf(() => getSigned("unsigned"), "Rejected");
      expect(condition(u, "SignatureValid")).toMatchObject({ status: "False", reason: "MissingSignature" });
      await eventWith("unsigned", "SignatureInvalid");

      const s = await stateOf(() => getSigned("untrusted"), "Rejected");
      expect(condition(s, "SignatureValid")).toMatchObject({ status: "False", reason: "UntrustedSigner" });
      expect((await eventWith("untrusted", "SignatureInvalid")).message).toContain(stranger);

      for (const name of ["tampered", "unsigned", "untrusted"]) {
        expect(calls.filter((c) => c.endsWith(` ${name}`))).toEqual([]);
        expect(await sessionEvents(name)).toEqual([]);
      }
      expect(await simSessions()).toBe(sessionsBefore);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "an EncryptedPolicy encrypted for another key is Rejected and never uploaded; one for this CAS is Synced",
    async () => {
      const sessionsBefore = await simSessions();
      const otherKey = toHex((await newX25519KeyPair()).publicKey);
      await create({
        ...ENCRYPTED_POLICY_TYPE,
        metadata: { name: "wrong-key", namespace: NS },
        spec: {
          casAddress: CAS_ADDRESS,
          encryptionKey: otherKey,
          policy: await sealToKey(session("enc-wrong"), otherKey),
        },
      } as KubeObject);
      const wrong = await stateOf(() => getEncrypted("wrong-key"), "Rejected");
      expect(condition(wrong, "EncryptionKeyValid")).toMatchObject({ status: "False", reason: "WrongEncryptionKey" });
      expect((await eventWith("wrong-key", "EncryptionKeyMismatch")).type).toBe("Warning");
      expect(calls.filter((c) => c === `upload ${otherKey}`)).toEqual([]);
      expect(await sessionEvents("enc-wrong")).toEqual([]);
      expect(await simSessions()).toBe(sessionsBefore);

      await create({
        ...ENCRYPTED_POLICY_TYPE,
        metadata: { name: "right-key", namespace: NS },
        spec: {
          casAddress: CAS_ADDRESS,
          encryptionKey: sim.sessionEncryptionKey,
          // Unsigned inside: the CAS takes the uploader (the owner identity) as its creator.
          policy: await sealToKey(session("enc-right").replace(/creator:\n.*\n/, ""), sim.sessionEncryptionKey),
        },
      } as KubeObject);
      const right = await stateOf(() => getEncrypted("right-key"), "Synced");
      expect(condition(right, "EncryptionKeyValid")?.status).toBe("True");
      expect(right.status?.hash).toBe((await ownerCas.readSession("enc-right")).hash);
      expect(right.status?.revision).toBe("1");

      // A policy naming creator.signer travels signed inside the box (scone policy encrypt --sign).
      const signedInside = await encryptedPolicyManifest({
        text: session("enc-signed"),
        encryptionKey: sim.sessionEncryptionKey,
        casAddress: CAS_ADDRESS,
        name: "signed-inside",
        namespace: NS,
        signWith: owner,
      });
      await create(signedInside as KubeObject);
      const inside = await stateOf(() => getEncrypted("signed-inside"), "Synced");
      expect(inside.status?.hash).toBe((await ownerCas.readSession("enc-signed")).hash);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "a valid SignedPolicy is created with the CAS's hash; an update in a new resource carries the predecessor",
    async () => {
      await create(await signedPolicy("app-v1", session("app")));
      const v1 = await stateOf(() => getSigned("app-v1"), "Synced");
      const h1 = (await ownerCas.readSession("app")).hash;
      expect(v1.status).toMatchObject({ hash: h1, predecessor: "", revision: "1", observedGeneration: 1 });
      expect(condition(v1, "Synced")).toMatchObject({ status: "True", reason: "Created" });
      await eventWith("app-v1", "Created");
      expect((await sessionEvents("app")).map((e) => e.event)).toEqual(["session_created"]);

      await create(await signedPolicy("app-v2", session("app", h1)));
      const v2 = await stateOf(() => getSigned("app-v2"), "Synced");
      const h2 = (await ownerCas.readSession("app")).hash;
      expect(h2).not.toBe(h1);
      expect(v2.status).toMatchObject({ hash: h2, predecessor: h1, revision: "1" });
      expect(condition(v2, "Synced")?.reason).toBe("Updated");
      const updated = (await sessionEvents("app")).find((e) => e.event === "session_updated");
      expect(updated?.details).toMatchObject({ hash: h2, predecessor: h1 });
      // The first version's resource learns it was replaced through the operator (not a conflict).
      const old = await stateOf(() => getSigned("app-v1"), "Superseded");
      expect(old.status?.hash).toBe(h1);
      expect(condition(old, "Synced")?.message).toContain("app-v2");

      // Steady state: nothing more is written (the periodic check only reads).
      await waitFor("no writes for 3 s", async () => {
        const n = op.writes.length;
        await Bun.sleep(3000);
        return op.writes.length === n;
      });
      const reads = calls.filter((c) => c === "read app").length;
      await waitFor("a periodic read of the session", async () => calls.filter((c) => c === "read app").length > reads);
      expect((await getSigned("app-v2")).status?.state).toBe("Synced");
      expect(calls.filter((c) => c === "update app")).toHaveLength(1);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "a change made directly at the CAS is reported as Conflict with both hashes and never overwritten",
    async () => {
      const h2 = (await getSigned("app-v2")).status?.hash ?? "";
      expect(h2).toMatch(/^[0-9a-f]{64}$/);
      // Someone else (holding the owner's signing key) updates the session at the CAS, behind the operator's back.
      const external = await signSession(
        session("app", h2).replace("python3 /app/app.py", "python3 /app/other.py"),
        sessionSigningSeed(owner),
      );
      const { hash: h3 } = await ownerCas.updateSession(external);

      const conflicted = await stateOf(() => getSigned("app-v2"), "Conflict");
      expect(conflicted.status?.hash).toBe(h2);
      const message = condition(conflicted, "Synced")?.message ?? "";
      expect(message).toContain(h2);
      expect(message).toContain(h3);
      const event = await eventWith("app-v2", "Conflict");
      expect(event.type).toBe("Warning");
      expect(event.message).toContain(h2);
      expect(event.message).toContain(h3);

      // A new version signed against the now stale hash is refused by the CAS's predecessor rule: Conflict again.
      await create(await signedPolicy("app-v3-stale", session("app", h2).replace("app.py", "app3.py")));
      const stale = await stateOf(() => getSigned("app-v3-stale"), "Conflict");
      expect(condition(stale, "Synced")?.message).toContain(h3);
      await eventWith("app-v3-stale", "Conflict");
      // The external version stays current: nothing was overwritten.
      expect((await ownerCas.readSession("app")).hash).toBe(h3);
      expect((await ownerCas.readSession("app")).session).toBe(external.session);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "editing a Synced policy in place to a new version (signed with its predecessor) updates it: revision 2",
    async () => {
      await create(await signedPolicy("inplace", session("inplace")));
      const v1 = await stateOf(() => getSigned("inplace"), "Synced");
      const h1 = v1.status?.hash ?? "";
      const next = await signedPolicy("inplace", session("inplace", h1).replace("app.py", "app2.py"));
      await client.patch({ ...SIGNED_POLICY_TYPE, namespace: NS, name: "inplace" }, { spec: next.spec }, "merge");
      const v2 = await waitFor("generation 2 Synced", async () => {
        const o = await getSigned("inplace");
        return o.status?.observedGeneration === 2 && o.status.state === "Synced" ? o : undefined;
      });
      expect(v2.status).toMatchObject({ predecessor: h1, revision: "2" });
      expect(v2.status?.hash).toBe((await ownerCas.readSession("inplace")).hash);
      expect(v2.status?.hash).not.toBe(h1);
      expect(calls.filter((c) => c.endsWith(" inplace") && !c.startsWith("read"))).toEqual([
        "create inplace",
        "update inplace",
      ]);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "a signer listed in the CAS's allowed-signers is trusted; a session already holding this exact text is adopted",
    async () => {
      const strangerSeed = newSeed();
      const stranger = (await signSession("x", strangerSeed)).signatures[0]?.signer ?? "";
      await client.apply(ownerSecret({ name: "cas", namespace: NS2 }, owner, [stranger]), {
        fieldManager: "scone-test",
        force: true,
      });
      const text = session("trusted-stranger").replace(`signer: ${ownerSigner}`, `signer: ${stranger}`);
      const trusted = await signedPolicy("trusted-stranger", text, strangerSeed, CAS2_ADDRESS);
      trusted.metadata = { ...trusted.metadata, namespace: NS2 };
      await create(trusted);
      const ok = await stateOf(
        () => client.get<SignedPolicy>({ ...SIGNED_POLICY_TYPE, namespace: NS2, name: "trusted-stranger" }),
        "Synced",
      );
      expect(condition(ok, "Synced")?.reason).toBe("Created");

      // The CAS already has exactly this version (e.g. our status write was lost before a restart): adopted.
      const again = await signedPolicy("adopt-me", session("adopt-me"));
      const { hash } = await ownerCas.createSession({ session: again.spec.policy, signatures: again.spec.signatures });
      await create(again);
      const adopted = await stateOf(() => getSigned("adopt-me"), "Synced");
      expect(adopted.status).toMatchObject({ hash, revision: "1" });
      expect(condition(adopted, "Synced")?.reason).toBe("Adopted");
      expect((await sessionEvents("adopt-me")).map((e) => e.event)).toEqual(["session_created"]);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "without an owner identity for the CAS the policy waits in Error, nothing is sent",
    async () => {
      const elsewhere = "https://cas.no-owner-here:8081";
      await create(await signedPolicy("no-owner", session("no-owner"), undefined, elsewhere));
      const o = await stateOf(() => getSigned("no-owner"), "Error");
      expect(condition(o, "Synced")).toMatchObject({ status: "False", reason: "NoOwnerIdentity" });
      expect(condition(o, "SignatureValid")?.status).toBe("True");
      expect(calls.filter((c) => c.endsWith(" no-owner"))).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});
