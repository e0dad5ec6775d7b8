// The provisioning flow through the CAS driver: the stand-in SCONE CLI (sim/scone-cli) with its pretend CAS, and an
// in-memory cluster. Each step's `done` predicate observes the world, so a run stopped anywhere continues without
// repeating an effect; files are 0600 in 0700 directories; no secret reaches the output, the progress lines or the
// journal.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { parseProvisioningLines } from "../../../../src/cas/driver/commands.ts";
import { CasDriver } from "../../../../src/cas/driver/driver.ts";
import { ProvisionContext, type ProvisionPorts } from "../../../../src/flows/provision/context.ts";
import { targetFiles } from "../../../../src/flows/provision/files.ts";
import { ignoredFlagNotes, runProvision, stepsFor } from "../../../../src/flows/provision/flow.ts";
import { type ProvisionOptions, provisionOptionsFromFlags } from "../../../../src/flows/provision/options.ts";
import {
  applicablePatch,
  attestStep,
  casPodStep,
  createCasStep,
  databaseVolumeStep,
  desiredOwnerConfig,
  enableFeaturesStep,
  ownerIdentityStep,
  patchApplied,
  provisionStep,
  sameSessionContent,
  sessionStep,
  withPredecessor,
} from "../../../../src/flows/provision/steps.ts";
import { postProvisioningPatch } from "../../../../src/flows/provision/templates.ts";
import { countOutcomes, Journal, readJournal, runSteps, type StepRecord } from "../../../../src/flows/steps.ts";
import type { CAS } from "../../../../src/resources/cas.ts";
import { StandInWorld, standInSource } from "../../../harness/stand-in-world.ts";
import { FakeKube } from "./fake-world.ts";

const TIMEOUT = 60_000;
const NS = "prov";
const NAME = "mycas";
const BASE58 = /^[1-9A-HJ-NP-Za-km-z]{40,60}$/;
const root = mkdtempSync(join(tmpdir(), "scone-provision-flow-"));
const world = new StandInWorld(join(root, "world"));
/** The address the CLI is given for the CAS. */
const address = () => world.address({ namespace: NS, name: NAME });
/** NAME-0's console as the pretend CAS prints it. */
let consoleText = "";
let casKeyHash = "";
let token = "";

function putRunningPod(kube: FakeKube, name = NAME): void {
  kube.put({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `${name}-0`, namespace: NS },
    status: { phase: "Running" },
  } as never);
}

/** The cluster's side: applying the CAS makes pod NAME-0 Running and Service NAME; the console is the pretend CAS's. */
function cluster(withNamespace = true): { kube: FakeKube; ports: ProvisionPorts; warnings: string[] } {
  const kube = new FakeKube();
  kube.logs = () => consoleText;
  if (withNamespace) kube.put({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } } as never);
  const realApply = kube.apply.bind(kube);
  kube.apply = async (obj) => {
    const applied = await realApply(obj);
    if (obj.kind === "CAS") {
      putRunningPod(kube);
      kube.put({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: NAME, namespace: NS },
        spec: { clusterIP: "198.18.0.42" },
      } as never);
    }
    return applied;
  };
  const warnings: string[] = [];
  const ports: ProvisionPorts = { kube, pollMs: 10, casSource: standInSource(world), warn: (m) => warnings.push(m) };
  return { kube, ports, warnings };
}

/** The owner's own driver on the pretend CAS (what a user runs with SCONE_CLI_CONFIG=<target>/identity/config.json). */
function ownerDriver(target: string): CasDriver {
  return new CasDriver(world.runner(join(target, "identity", "config.json")));
}

function options(target: string, extra: Record<string, unknown> = {}): ProvisionOptions {
  return provisionOptionsFromFlags(
    {
      name: NAME,
      namespace: NS,
      target,
      nonce: "00112233445566778899aabbccddeeff",
      "dcap-api": "d".repeat(32),
      ...extra,
    },
    { home: root },
  );
}

function context(target: string, ports: ProvisionPorts, extra: Record<string, unknown> = {}): ProvisionContext {
  const o = options(target, extra);
  return new ProvisionContext(o, targetFiles(o.target, o), ports);
}

beforeAll(async () => {
  consoleText = await world.createCas({ namespace: NS, name: NAME });
  const facts = parseProvisioningLines(consoleText);
  if (!facts) throw new Error("no console facts");
  ({ casKeyHash, token } = facts);
}, TIMEOUT);

afterAll(async () => {
  await world.stop();
  rmSync(root, { recursive: true, force: true });
});

describe("provision flow (stand-in SCONE CLI + in-memory cluster)", () => {
  const target = join(root, "target");
  const { kube, ports } = cluster();
  const lines: string[] = [];
  const progress = { finish: (r: StepRecord) => lines.push(`${r.name} ${r.outcome} ${r.detail ?? ""}`) };

  test(
    "killed after creating the CAS: the rerun skips creation and provisions once",
    async () => {
      // First run: identity, volume check, CAS creation, then the process "dies".
      const journal = await Journal.open(targetFiles(target, options(target)).journal, "provision");
      const first = await runSteps(stepsFor(options(target)).slice(0, 3), context(target, ports), {
        progress,
        journal,
      });
      expect(first.ok).toBe(true);
      expect(kube.writes).toEqual([`apply CAS/${NS}/${NAME}`]);

      const outcome = await runProvision(options(target), ports, { progress });
      expect(outcome.error).toBeUndefined();
      expect(outcome.ok).toBe(true);
      const byName = Object.fromEntries(outcome.steps.map((s) => [s.name, s.outcome]));
      expect(byName).toMatchObject({
        "owner-identity": "done",
        "database-volume": "skipped",
        "create-cas": "skipped",
        provision: "done",
        "session-cas-owner": "done",
        "session-cas-owner-primary-backup": "done",
        "session-provisioned": "done",
        "enable-features": "done",
      });
      expect(kube.writes).toEqual([`apply CAS/${NS}/${NAME}`, `patch CAS/${NS}/${NAME}`]);
      expect(outcome.output[0]).toBe(`PUBLIC CAS_KEY=${casKeyHash}`);
      expect(outcome.output[1]).toMatch(/^PUBLIC CAS_SOFTWARE_KEY=[1-9A-HJ-NP-Za-km-z]{40,60}$/);
      expect(outcome.output.slice(2)).toEqual(["NONCE=00112233445566778899aabbccddeeff"]);
    },
    TIMEOUT,
  );

  test("the CAS spec carries the upstream patch: backup controller session, probes", async () => {
    const cas = await kube.get<CAS>({
      apiVersion: "services.scone.cloud/v1beta1",
      kind: "CAS",
      namespace: NS,
      name: NAME,
    });
    expect(cas.spec?.nonce).toBe("00112233445566778899aabbccddeeff");
    expect(cas.spec?.image).toBe("registry.scontain.com/scone.cloud/cas:6.0.6");
    expect(cas.spec?.["backup-controller"]).toMatchObject({
      enabled: true,
      session: "cas-owner/primary-backup/register",
      image: "registry.scontain.com/scone.cloud/backup-controller:6.0.6",
    });
    expect(cas.spec?.livenessProbe).toMatchObject({ enabled: true, failureThreshold: 5, timeoutSeconds: 60 });
    expect(cas.spec?.startupProbe).toMatchObject({ enabled: true, initialDelaySeconds: 60, failureThreshold: 15 });
  });

  test(
    "the owner reads the sessions back; the backup policy carries the owner identity naming this CAS",
    async () => {
      const owner = JSON.parse(await readFile(join(target, "identity", "config.json"), "utf8")) as {
        identity: string;
        cas_db: Record<string, unknown>;
      };
      const driver = ownerDriver(target);
      const cas = { address: address(), casKey: casKeyHash };
      const policy = parseYaml((await driver.readSession(cas, "cas-owner/primary-backup")) ?? "") as {
        name: string;
        images: { injection_files: { content: string }[] }[];
      };
      expect(policy.name).toBe("cas-owner/primary-backup");
      const injected = JSON.parse(policy.images[0]?.injection_files[0]?.content ?? "") as {
        identity: string;
        cas_db: Record<string, unknown>;
      };
      expect(injected.identity).toBe(owner.identity);
      // The CLI's own entry for the attested address, under the address the backup controller uses.
      expect(Object.keys(injected.cas_db)).toEqual([`${NAME}.${NS}:8081`]);
      expect(injected.cas_db[`${NAME}.${NS}:8081`]).toEqual(owner.cas_db[address()]);
      expect(await driver.readSession(cas, "provisioned")).toContain("- ANY");
    },
    TIMEOUT,
  );

  test(
    "a second run observes every effect and repeats none",
    async () => {
      const writes = kube.writes.length;
      const outcome = await runProvision(options(target), ports);
      expect(outcome.ok).toBe(true);
      for (const step of outcome.steps) {
        if (["cas-pod", "attest"].includes(step.name))
          expect(step.outcome).toBe("done"); // observations
        else expect(`${step.name} ${step.outcome}`).toBe(`${step.name} skipped`);
      }
      expect(kube.writes.length).toBe(writes);
      const journal = await readJournal(targetFiles(target, options(target)).journal);
      expect(journal).toBeDefined();
      const done = countOutcomes(journal as NonNullable<typeof journal>, "done");
      expect(done.provision).toBe(1);
      expect(done["create-cas"]).toBe(1);
      expect(done["session-provisioned"]).toBe(1);
    },
    TIMEOUT,
  );

  test("identity, owner config, sessions and manifests are written 0600", async () => {
    const files = targetFiles(target, options(target));
    for (const path of [
      files.cliConfig,
      files.ownerIdentity,
      files.baseOwnerIdentity,
      files.ownerConfig,
      files.casOwnerSession,
      files.backupControllerSession,
      files.provisionedSession,
      files.provisioningStep,
      files.manifest,
      files.journal,
    ]) {
      expect(`${path} ${(statSync(path).mode & 0o777).toString(8)}`).toBe(`${path} 600`);
    }
    expect((statSync(files.identityDir).mode & 0o777).toString(8)).toBe("700");
  });

  test("no secret (token, private key, signing seed) in the output, progress lines or journal", async () => {
    const files = targetFiles(target, options(target));
    const owner = JSON.parse(await readFile(files.cliConfig, "utf8")) as {
      identity: string;
      session_signing_keypair_ed25519_seed: string;
    };
    const journal = await readFile(files.journal, "utf8");
    const seen = [...lines, journal].join("\n");
    expect(token).toMatch(/^[0-9a-f]{32}$/);
    expect(seen).not.toContain(token);
    expect(seen).not.toContain(owner.session_signing_keypair_ed25519_seed);
    expect(seen).not.toContain("PRIVATE KEY");
    expect(seen).not.toContain(owner.identity.split("\n")[1] as string);
  });
});

describe("done predicates", () => {
  test(
    "session: different content is updated with the current hash as predecessor",
    async () => {
      const target = join(root, "target");
      const { kube, ports } = cluster();
      putRunningPod(kube);
      const ctx = context(target, ports);
      await ownerIdentityStep.done(ctx);
      await createCasStep.done(ctx);
      await casPodStep.run(ctx);
      await attestStep.run(ctx);
      const step = sessionStep("provisioned");
      expect(await step.done(ctx)).toContain("same content");
      // Someone changed it: the step is not done and updates with the active hash as predecessor (CLI-computed).
      const driver = ownerDriver(target);
      const cas = { address: address(), casKey: casKeyHash };
      const current = (await driver.readSession(cas, "provisioned")) as string;
      const changed = await driver.updateSession(
        cas,
        withPredecessor(current.replace("- ANY", "- CREATOR"), await driver.sessionHash(current)),
      );
      expect(await step.done(ctx)).toBe(false);
      const detail = await step.run(ctx);
      expect(detail).toContain("updated session provisioned");
      expect(detail).toContain(`predecessor ${changed.slice(0, 12)}`);
      expect(await step.done(ctx)).toContain("same content");
    },
    TIMEOUT,
  );

  test("provision: done when the CAS attests; status.provisioned alone does not count", async () => {
    const { ports } = cluster();
    const ctx = context(join(root, "t2"), ports);
    ctx.attested = { casKey: casKeyHash, casSoftwareKey: null } as never;
    expect(await provisionStep.done(ctx)).toBe("the CAS is already provisioned (it attests)");
    ctx.attested = undefined;
    ctx.cas = { status: { provisioned: "Yes" } } as CAS;
    expect(await provisionStep.done(ctx)).toBe(false);
  });

  test("create-cas: an existing CAS with another image is refused, naming the flags", async () => {
    const { kube, ports } = cluster();
    kube.put({
      apiVersion: "services.scone.cloud/v1beta1",
      kind: "CAS",
      metadata: { name: NAME, namespace: NS },
      spec: { image: "registry.scontain.com/scone.cloud/cas:5.9.0" },
    } as never);
    const ctx = context(join(root, "t3"), ports);
    await expect(createCasStep.done(ctx)).rejects.toThrow(
      /runs image .*cas:5\.9\.0, expected .*cas:6\.0\.6.*--set-version/,
    );
    const over = context(join(root, "t3"), ports, { "image-overwrite": "registry.scontain.com/scone.cloud/cas:5.9.0" });
    expect(await createCasStep.done(over)).toContain("exists");
  });

  test("database-volume: a missing namespace, or a leftover claim without a CAS, is refused with the way out", async () => {
    const { kube, ports } = cluster(false);
    const ctx = context(join(root, "t4"), ports);
    expect(await databaseVolumeStep.done(ctx)).toBe(false);
    await expect(databaseVolumeStep.run(ctx)).rejects.toThrow(`namespace ${NS} does not exist: create it`);
    kube.put({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } } as never);
    expect(await databaseVolumeStep.run(ctx)).toBe(`no claim database-${NAME}-0`);
    kube.put({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: `database-${NAME}-0`, namespace: NS },
    } as never);
    await expect(databaseVolumeStep.run(ctx)).rejects.toThrow(
      new RegExp(
        `PersistentVolumeClaim ${NS}/database-${NAME}-0 exists but CAS ${NAME} does not.*scone cas restore.*kubectl delete pvc`,
      ),
    );
    kube.put({
      apiVersion: "services.scone.cloud/v1beta1",
      kind: "CAS",
      metadata: { name: NAME, namespace: NS },
    } as never);
    expect(await databaseVolumeStep.done(ctx)).toBe("the CAS exists");
  });

  test("enable-features: missing parents become adds; done once every value is in place", async () => {
    const ops = postProvisioningPatch({ backup: true, backupControllerImage: "r/backup-controller:6.0.6" });
    const cas = { spec: { "backup-controller": { enabled: false } } };
    const applicable = applicablePatch(cas, ops);
    expect(applicable.slice(0, 4)).toEqual([
      { op: "replace", path: "/spec/backup-controller/enabled", value: true },
      { op: "add", path: "/spec/backup-controller/session", value: "cas-owner/primary-backup/register" },
      { op: "add", path: "/spec/backup-controller/image", value: "r/backup-controller:6.0.6" },
      { op: "add", path: "/spec/livenessProbe", value: {} },
    ]);
    expect(patchApplied(cas, ops)).toBe(false);
    const { kube, ports } = cluster();
    kube.put({
      apiVersion: "services.scone.cloud/v1beta1",
      kind: "CAS",
      metadata: { name: NAME, namespace: NS },
      ...cas,
    } as never);
    const ctx = context(join(root, "t5"), ports);
    expect(await enableFeaturesStep.done(ctx)).toBe(false);
    await enableFeaturesStep.run(ctx);
    expect(await enableFeaturesStep.done(ctx)).toBe("the CAS spec carries them");
    expect(kube.writes).toEqual([`patch CAS/${NS}/${NAME}`]);
  });

  test(
    "sessions: a CAS owned by another identity is named as such, with the way out",
    async () => {
      const { kube, ports } = cluster();
      putRunningPod(kube);
      const ctx = context(join(root, "other-owner"), ports);
      await casPodStep.run(ctx);
      await ownerIdentityStep.run(ctx); // a fresh identity, created by the CLI, that does not own the CAS
      await attestStep.run(ctx);
      await expect(sessionStep("cas-owner").done(ctx)).rejects.toThrow(
        /session cas-owner.*owner identity used is .*other-owner\/identity\/config\.json.*provisioned with another identity/,
      );
    },
    TIMEOUT,
  );

  test("owner config: --dcap-api, else the LAS's dcapKey, else 32 zeros", async () => {
    const { kube, ports } = cluster();
    const key = async (extra: Record<string, unknown>) => {
      const { text } = await desiredOwnerConfig(context(join(root, "t7"), ports, extra));
      return (Bun.TOML.parse(text) as { dcap: { subscription_key: string } }).dcap.subscription_key;
    };
    expect(await key({})).toBe("d".repeat(32));
    expect(await key({ "dcap-api": undefined })).toBe("0".repeat(32));
    kube.put({
      apiVersion: "base.scone.cloud/v1beta1",
      kind: "LAS",
      metadata: { name: "las" },
      spec: { dcapKey: "c".repeat(32) },
    } as never);
    expect(await key({ "dcap-api": undefined })).toBe("c".repeat(32));
    // The LAS field reaches the owner config only when it is a key; the refusal names the field, not the value.
    kube.put({
      apiVersion: "base.scone.cloud/v1beta1",
      kind: "LAS",
      metadata: { name: "las" },
      spec: { dcapKey: 'k"\n[audit_log]\nsink = "x' },
    } as never);
    const refused = key({ "dcap-api": undefined });
    await expect(refused).rejects.toThrow("invalid value for LAS las spec.dcapKey: expected an API key");
    await expect(refused).rejects.not.toThrow("audit_log");
  });

  test("session content equality ignores the predecessor, the creator CAS sets and formatting, not the content", () => {
    const a = 'name: x\nversion: "0.3.10"\npredecessor:\naccess_policy:\n  read: [ANY]\n';
    const b = `name: x\npredecessor: ${"a".repeat(64)}\ncreator: ${casKeyHash}\nversion: "0.3.10"\naccess_policy:\n  read:\n    - ANY\n`;
    expect(sameSessionContent(a, b)).toBe(true);
    expect(sameSessionContent(a, b.replace("ANY", "CREATOR"))).toBe(false);
  });
});

describe("modes", () => {
  test("flags the driver source makes moot are named as unused, each once", () => {
    const notes = ignoredFlagNotes(
      options(join(root, "t9"), {
        "cas-address": "cas.prov:8081",
        "local-cas-client-port": "18081",
        "set-tolerations": "--accept-configuration-needed",
      }),
    );
    // --set-tolerations does something (the attestation sets, tolerations.test.ts): it is no longer named.
    expect(notes.map((n) => n.split(" ")[0])).toEqual(["--cas-address", "--local-cas-client-port"]);
    expect(ignoredFlagNotes(options(join(root, "t9")))).toEqual([]);
  });

  test(
    "--verify, --is-provisioned and --print-public-keys attest the CAS and read the session 'provisioned'",
    async () => {
      const target = join(root, "target");
      const { kube, ports, warnings } = cluster();
      kube.put({
        apiVersion: "services.scone.cloud/v1beta1",
        kind: "CAS",
        metadata: { name: NAME, namespace: NS },
        spec: { nonce: "ffeeddccbbaa99887766554433221100" },
        // The status is not the signal: the CAS and its session are.
        status: { provisioned: "No" },
      } as never);
      putRunningPod(kube);
      const verify = await runProvision(options(target, { verify: true }), ports);
      expect(verify.output).toEqual([`CAS '${NAME}' in namespace '${NS}' is attestable and provisioned.`]);
      const yes = await runProvision(options(target, { "is-provisioned": true }), ports);
      expect([yes.exitCode, yes.output]).toEqual([0, [`CAS '${NAME}' in namespace '${NS}' is provisioned.`]]);
      const keys = await runProvision(options(target, { "print-public-keys": true }), ports);
      expect(keys.output[0]).toBe(`export CAS_KEY=${casKeyHash}`);
      expect(keys.output[1]).toMatch(/^export CAS_SOFTWARE_KEY=/);
      expect(keys.output[1]?.slice("export CAS_SOFTWARE_KEY=".length)).toMatch(BASE58);
      expect(keys.output.length).toBe(2);
      expect(warnings.join("\n")).toContain("CAS_SESSION_ENCRYPTION_KEY and CAS_CERT are not printed");
    },
    TIMEOUT,
  );

  test(
    "--is-provisioned and --verify of an unprovisioned CAS: exit 1, the CLI's refusal named",
    async () => {
      const other = "othercas";
      const otherConsole = await world.createCas({ namespace: NS, name: other });
      const kube = new FakeKube();
      kube.logs = () => otherConsole;
      kube.put({
        apiVersion: "services.scone.cloud/v1beta1",
        kind: "CAS",
        metadata: { name: other, namespace: NS },
        status: { provisioned: "Yes" },
      } as never);
      putRunningPod(kube, other);
      const ports: ProvisionPorts = { kube, pollMs: 10, casSource: standInSource(world) };
      const opts = (extra: Record<string, unknown>) =>
        provisionOptionsFromFlags({ name: other, namespace: NS, target: join(root, "t8"), ...extra }, { home: root });
      const no = await runProvision(opts({ "is-provisioned": true }), ports);
      expect(no.exitCode).toBe(1);
      expect(no.error).toMatch(
        /^CAS 'othercas' in namespace 'prov' is not provisioned: .*both of upstream's tolerance sets.*is not provisioned/,
      );
      const verify = await runProvision(opts({ verify: true }), ports);
      expect([verify.exitCode, verify.ok]).toEqual([1, false]);
    },
    TIMEOUT,
  );

  test(
    "--postprovision-only finds the sessions in place; --preprovision-only prints the console facts as exports",
    async () => {
      const target = join(root, "target");
      const { kube, ports } = cluster();
      kube.put({
        apiVersion: "services.scone.cloud/v1beta1",
        kind: "CAS",
        metadata: { name: NAME, namespace: NS },
        spec: { image: "registry.scontain.com/scone.cloud/cas:6.0.6" },
      } as never);
      putRunningPod(kube);
      const post = await runProvision(options(target, { "postprovision-only": true }), ports);
      expect(post.error).toBeUndefined();
      expect(post.steps.filter((s) => s.name.startsWith("session-")).map((s) => s.outcome)).toEqual([
        "skipped",
        "skipped",
        "skipped",
      ]);
      expect(post.steps.find((s) => s.name === "enable-features")?.outcome).toBe("done");
      const pre = await runProvision(options(target, { "preprovision-only": true }), ports);
      expect(pre.output).toEqual([`export CAS_KEY_HASH=${casKeyHash}`, `export CAS_PROVISIONING_TOKEN=${token}`]);
      expect(pre.steps.map((s) => s.name)).toEqual(["database-volume", "create-cas", "cas-pod"]);
    },
    TIMEOUT,
  );

  test("--upgrade and --cas-database-recovery point to their own commands", async () => {
    const { ports } = cluster();
    const up = await runProvision(options(join(root, "t6"), { upgrade: "6.0.7" }), ports);
    expect(up.error).toContain("scone cas upgrade mycas -n prov --to-version 6.0.7");
    const rec = await runProvision(options(join(root, "t6"), { "cas-database-recovery": "/x" }), ports);
    expect(rec.error).toContain("scone cas restore");
  });
});
