// SignedPolicy and EncryptedPolicy controllers against the real API server, reaching CAS through the CAS driver:
// the stand-in SCONE CLI (`bun sim/scone-cli/main.ts`, reaching a simulated CAS on loopback) as the operator's own
// identity, which the CAS owner admitted with admitOperator (the step behind `scone cas admit-operator`). The
// upstream samples reach the CAS — the driver's `session create` runs with SCONE's JSON — and the CAS decides;
// scone refuses only a spec without its documented fields, and says so differently from the CAS.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import type { CliArg, CliInputFile } from "../../../src/cas/driver/commands.ts";
import {
  type CasDriverSource,
  type CasRef,
  type CliIdentity,
  casServiceAddress,
} from "../../../src/cas/driver/reach.ts";
import type { CliRunner } from "../../../src/cas/driver/runner.ts";
import type { KubeClient } from "../../../src/kube/client.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { admitOperator } from "../../../src/operator/policies/admit.ts";
import {
  ENCRYPTED_POLICY_TYPE,
  registerPolicyControllers,
  SIGNED_POLICY_TYPE,
} from "../../../src/operator/policies/controller.ts";
import type {
  EncryptedPolicy,
  EncryptedPolicySpec,
  PolicyStatus,
  SignedPolicy,
  SignedPolicySpec,
} from "../../../src/resources/policies.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../../harness/cluster.ts";
import { waitFor as pollFor } from "../../harness/kube.ts";
import { LocalCliSource } from "../../harness/local-cli-source.ts";
import {
  buildOperatorContext,
  cleanupSteps,
  ensureNamespace,
  installCrds,
  type TestOperator,
} from "../../harness/operator.ts";
import { provisionStandInCas, type StandInCas } from "../../harness/stand-in-cas.ts";

const RUN = Math.random().toString(36).slice(2, 8);
const NS = `policies-it-${RUN}`;
const CAS: CasRef = { name: "cas", namespace: NS };
const CAS_ADDRESS = `https://cas.${NS}:8081`;
/** A second CAS whose owner has not admitted the operator yet. */
const CAS2: CasRef = { name: "cas2", namespace: NS };
const CAS2_ADDRESS = `https://cas2.${NS}:8081`;
const STAND_IN = [process.execPath, join(import.meta.dir, "../../../sim/scone-cli/main.ts")];
const SAMPLES = join(import.meta.dir, "../../unit/operator/policies/fixtures");
const TEST_TIMEOUT_MS = 120_000;

const waitFor = <T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined, timeoutMs = 60_000) =>
  pollFor(what, probe, timeoutMs);

interface Call {
  readonly verb: string;
  readonly argv: string[];
  readonly body: string;
}

describe.skipIf(!clusterAvailable())("SignedPolicy and EncryptedPolicy through the CAS driver", () => {
  let cluster: LocalCluster;
  let op: TestOperator;
  let client: KubeClient;
  let dir: string;
  let source: LocalCliSource;
  let ownerConfig: string;
  /** The simulated CASes, by namespace/name, and the address each answers on. */
  const cases = new Map<string, StandInCas>();
  const keyOf = (cas: CasRef) => `${cas.namespace}/${cas.name}`;
  /** Every CLI call the operator's identity made. */
  const calls: Call[] = [];
  /** Every identity the controllers asked the source for. */
  const identities: CliIdentity[] = [];

  const recording = (runner: CliRunner): CliRunner => ({
    description: runner.description,
    run: (argv: readonly CliArg[], env: Readonly<Record<string, string>>, files: readonly CliInputFile[]) => {
      const flat = argv.map((a) => (typeof a === "string" ? a : `<${a.inputFile}>`));
      calls.push({ verb: `${flat[0]} ${flat[1]}`, argv: flat, body: String(files[0]?.content ?? "") });
      return runner.run(argv, env, files);
    },
  });
  const uploadsOf = (needle: string) =>
    calls.filter((c) => (c.verb === "session create" || c.verb === "session update") && c.body.includes(needle));

  const sample = async <T>(file: string): Promise<T> =>
    (parse(await Bun.file(join(SAMPLES, file)).text()) as { spec: T }).spec;
  const signed = (name: string, spec: SignedPolicySpec): SignedPolicy => ({
    ...SIGNED_POLICY_TYPE,
    kind: "SignedPolicy",
    metadata: { name, namespace: NS },
    spec,
  });
  const getSigned = (name: string) => client.get<SignedPolicy>({ ...SIGNED_POLICY_TYPE, namespace: NS, name });
  const getEncrypted = (name: string) => client.get<EncryptedPolicy>({ ...ENCRYPTED_POLICY_TYPE, namespace: NS, name });
  const settled = <T extends { status?: PolicyStatus }>(get: () => Promise<T>, states: string[]): Promise<T> =>
    waitFor(`state ${states.join("|")}`, async () => {
      const o = await get();
      if (states.includes(o.status?.state ?? "")) return o;
      throw new Error(`status is ${JSON.stringify(o.status)}`);
    });
  const condition = (o: { status?: PolicyStatus }, type: string) => o.status?.conditions?.find((c) => c.type === type);
  const eventWith = (name: string, reason: string) =>
    waitFor(`Event ${reason} on ${name}`, async () =>
      (
        await client.list<KubeObject & { reason?: string; type?: string; message?: string }>(
          { apiVersion: "v1", kind: "Event" },
          { namespace: NS, fieldSelector: `involvedObject.name=${name}` },
        )
      ).items.find((e) => e.reason === reason),
    );

  const addresses = new Map<string, string>();
  const provisionedCas = async (cas: CasRef) => {
    const running = await provisionStandInCas({
      dataDir: join(dir, cas.name),
      source,
      cas,
      ownerConfigPath: ownerConfig,
      register: (c, address) => addresses.set(keyOf(c), address),
    });
    cases.set(keyOf(cas), running);
  };
  const addressOf = (cas: CasRef) => addresses.get(keyOf(cas)) ?? casServiceAddress(cas);

  beforeAll(async () => {
    cluster = await sharedCluster();
    dir = await mkdtemp(join(tmpdir(), "scone-policies-it-"));
    ownerConfig = join(dir, "owner", "identity", "config.json");
    source = new LocalCliSource({
      binary: STAND_IN,
      operatorConfigPath: join(dir, "operator", "config.json"),
      address: (cas) => addressOf(cas),
      wrap: recording,
    });
    await provisionedCas(CAS);
    await provisionedCas(CAS2);
    await admitOperator(source, { cas: CAS, ownerConfigPath: ownerConfig });
    calls.length = 0;

    op = await buildOperatorContext({ kubeconfigPath: cluster.kubeconfigPath });
    client = op.client;
    await installCrds(client);
    await ensureNamespace(client, NS);
    const watched: CasDriverSource = {
      description: source.description,
      connect: (cas, identity, signal) => {
        identities.push(identity);
        return source.connect(cas, identity, signal);
      },
    };
    registerPolicyControllers(op.ctx, { source: watched, retryMs: 500, workers: 2 });
    await op.start();
  }, 300_000);

  afterAll(async () => {
    await cleanupSteps([
      () => op?.stop(),
      () => client?.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name: NS }),
      ...[...cases.values()].map((c) => () => c.sim.stop()),
      () => dir && rm(dir, { recursive: true, force: true }),
    ]);
  }, 60_000);

  test(
    "the upstream SignedPolicy sample reaches the CAS as SCONE's signed-session JSON and is Synced",
    async () => {
      const spec = { ...(await sample<SignedPolicySpec>("cas_v1beta1_signedpolicy.yaml")), casAddress: CAS_ADDRESS };
      await client.create(signed("upstream-sample", spec));
      const o = await settled(() => getSigned("upstream-sample"), ["Synced", "Rejected"]);
      // Not refused by scone: the signer N2exBX7… is passed on as it is.
      expect(condition(o, "SignatureValid")).toMatchObject({ status: "True", reason: "WellFormed" });
      const [upload] = uploadsOf("test-operator-signed-6533");
      expect(upload?.argv.slice(0, 6)).toEqual([
        "session",
        "create",
        "--cas",
        addressOf(CAS),
        "--cas-key",
        upload?.argv[5] ?? "",
      ]);
      expect(JSON.parse(upload?.body ?? "")).toEqual({ session: spec.policy, signatures: spec.signatures });
      // The simulated CAS accepts it: what SCONE signs is unpublished (sim/README.md "Signed sessions").
      expect({ state: o.status?.state, synced: condition(o, "Synced")?.message }).toMatchObject({ state: "Synced" });
      expect(o.status?.hash).toMatch(/^[0-9a-f]{64}$/);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "the upstream EncryptedPolicy sample is uploaded with session create as {encrypted_session, encryption_key}",
    async () => {
      const spec = {
        ...(await sample<EncryptedPolicySpec>("cas_v1beta1_encryptedpolicy.yaml")),
        casAddress: CAS_ADDRESS,
      };
      await client.create({
        ...ENCRYPTED_POLICY_TYPE,
        kind: "EncryptedPolicy",
        metadata: { name: "enc-sample", namespace: NS },
        spec,
      });
      const o = await settled(() => getEncrypted("enc-sample"), ["Synced", "Rejected"]);
      const [upload] = uploadsOf(spec.encryptionKey);
      expect(upload?.verb).toBe("session create");
      expect(JSON.parse(upload?.body ?? "")).toEqual({
        encrypted_session: spec.policy,
        encryption_key: spec.encryptionKey,
      });
      // Sealed for another CAS (edge.scone-cas.cf): this CAS cannot open it, and says so.
      expect(o.status?.state).toBe("Rejected");
      expect(condition(o, "Synced")?.reason).toBe("CasRejected");
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "a spec without its documented fields is refused by scone, naming the field, and nothing is sent",
    async () => {
      const spec = { ...(await sample<SignedPolicySpec>("cas_v1beta1_signedpolicy.yaml")), casAddress: CAS_ADDRESS };
      const broken = {
        ...spec,
        policy: spec.policy.replace("test-operator-signed-6533", "never-sent-1"),
        signatures: [{ signer: "", signature: "ab" }],
      };
      await client.create(signed("no-signer", broken));
      const o = await settled(() => getSigned("no-signer"), ["Rejected"]);
      expect(condition(o, "SignatureValid")).toMatchObject({ status: "False", reason: "MissingField" });
      expect(condition(o, "SignatureValid")?.message).toContain("spec.signatures[0].signer");
      expect(condition(o, "Synced")?.reason).toBe("NotSubmitted");
      expect((await eventWith("no-signer", "PolicyMalformed")).type).toBe("Warning");
      expect(calls.filter((c) => c.body.includes("never-sent-1") || c.argv.includes("never-sent-1"))).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "a CAS whose owner has not admitted the operator: Error CasNotAttested; after admit-operator it reaches the CAS",
    async () => {
      const spec = { ...(await sample<SignedPolicySpec>("cas_v1beta1_signedpolicy.yaml")), casAddress: CAS2_ADDRESS };
      const text = spec.policy.replace("test-operator-signed-6533", "waits-for-admission");
      await client.create(signed("waits", { ...spec, policy: text }));
      const o = await settled(() => getSigned("waits"), ["Error"]);
      expect(condition(o, "Synced")).toMatchObject({ status: "False", reason: "CasNotAttested" });
      expect(condition(o, "Synced")?.message).toContain(`scone cas admit-operator cas2 -n ${NS}`);
      expect(uploadsOf("waits-for-admission")).toEqual([]);

      await admitOperator(source, { cas: CAS2, ownerConfigPath: ownerConfig });
      await settled(() => getSigned("waits"), ["Synced", "Rejected"]);
      expect(uploadsOf("waits-for-admission").map((c) => c.argv[3])).toEqual([addressOf(CAS2)]);
    },
    TEST_TIMEOUT_MS,
  );

  test("the controllers reach CAS only as the operator's own identity, never the owner's", () => {
    expect(identities.length).toBeGreaterThan(0);
    expect(identities.filter((id) => id.kind !== "operator")).toEqual([]);
  });

  test(
    "a policy signed with the stand-in `scone session sign` is created, then updated with its predecessor",
    async () => {
      const owner = await source.connect(CAS, { kind: "owner", configPath: ownerConfig });
      const signer = (await owner.driver.sessionSigningKey()).value;
      const text = (predecessor: string) =>
        `version: "0.3.10"\nname: signed-here\npredecessor: ${predecessor}\nservices:\n  - name: app\n    command: app\naccess_policy:\n  read:\n    - CREATOR\n  update:\n    - CREATOR\ncreator:\n  signer: ${JSON.stringify(signer)}\n`;
      const specOf = async (predecessor: string): Promise<SignedPolicySpec> => {
        const out = JSON.parse(await owner.driver.signSession(text(predecessor))) as {
          session: string;
          signatures: SignedPolicySpec["signatures"];
        };
        return { casAddress: CAS_ADDRESS, policy: out.session, signatures: out.signatures };
      };
      await client.create(signed("signed-here", await specOf("~")));
      const v1 = await settled(() => getSigned("signed-here"), ["Synced"]);
      expect(v1.status).toMatchObject({ predecessor: "", revision: "1" });
      const h1 = v1.status?.hash ?? "";

      await client.create(signed("signed-here-v2", await specOf(h1)));
      const v2 = await settled(() => getSigned("signed-here-v2"), ["Synced"]);
      expect(v2.status?.predecessor).toBe(h1);
      expect(v2.status?.hash).not.toBe(h1);
      expect(condition(v2, "Synced")?.reason).toBe("Updated");
      // The version it replaced is Superseded, without a CLI call.
      const old = await settled(() => getSigned("signed-here"), ["Superseded"]);
      expect(condition(old, "Synced")?.message).toContain("signed-here-v2");
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "the admission counts: a third party's signed session under scone-operator/ is created, under a namespace that does not admit the operator it is the CAS's refusal",
    async () => {
      // A policy author who is neither the owner nor the operator, signing with the stand-in.
      const author = await source.connect(CAS, { kind: "owner", configPath: join(dir, "author", "config.json") });
      const owner = await source.connect(CAS, { kind: "owner", configPath: ownerConfig });
      const { casKey } = await owner.driver.casKeys(owner.address);
      // A namespace session whose create_sessions admits its creator (the owner) only.
      await owner.driver.createSession(
        { address: owner.address, casKey },
        'version: "0.3.10"\nname: closed\naccess_policy:\n  read: [CREATOR]\n  update: [CREATOR]\n  create_sessions: [CREATOR]\n',
      );
      const specOf = async (name: string): Promise<SignedPolicySpec> => {
        const out = JSON.parse(
          await author.driver.signSession(
            `version: "0.3.10"\nname: ${name}\nservices:\n  - name: app\n    command: app\n`,
          ),
        ) as { session: string; signatures: SignedPolicySpec["signatures"] };
        return { casAddress: CAS_ADDRESS, policy: out.session, signatures: out.signatures };
      };
      await client.create(signed("admitted-ns", await specOf("scone-operator/app")));
      await client.create(signed("closed-ns", await specOf("closed/app")));
      const admitted = await settled(() => getSigned("admitted-ns"), ["Synced"]);
      expect(condition(admitted, "Synced")?.reason).toBe("Created");
      const closed = await settled(() => getSigned("closed-ns"), ["Rejected"]);
      expect(condition(closed, "Synced")?.reason).toBe("CasRejected");
      expect(condition(closed, "Synced")?.message).toContain("create_sessions");
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "a policy encrypted with the stand-in `scone session encrypt` for this CAS is Synced",
    async () => {
      const owner = await source.connect(CAS, { kind: "owner", configPath: ownerConfig });
      const out = JSON.parse(
        await owner.driver.encryptSession('version: "0.3.10"\nname: encrypted-here\n', owner.address),
      ) as { encrypted_session: string; encryption_key: string };
      await client.create({
        ...ENCRYPTED_POLICY_TYPE,
        kind: "EncryptedPolicy",
        metadata: { name: "encrypted-here", namespace: NS },
        spec: { casAddress: CAS_ADDRESS, policy: out.encrypted_session, encryptionKey: out.encryption_key },
      });
      const o = await settled(() => getEncrypted("encrypted-here"), ["Synced"]);
      expect(o.status?.hash).toMatch(/^[0-9a-f]{64}$/);
    },
    TEST_TIMEOUT_MS,
  );
});
