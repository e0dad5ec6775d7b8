// The steps of `scone cas provision` (upstream `kubectl provision cas`, SCONE-INTERFACE §10.2). Each `done` looks at
// the world — the files under $TARGET, the CAS object, its pod's console, the CAS itself — so a run interrupted at
// any point continues and never repeats an effect. Secrets (token, identity, keys) never appear in a step's detail.

import { isMap, parseDocument, parse as parseYaml, stringify as stringifyYaml } from "yaml";
import {
  CliInputError,
  checkKeyHash,
  MRSIGNER_DB_INJECTION,
  MRSIGNER_STANDARD,
  SconeCliError,
} from "../../cas/driver/commands.ts";
import type { CasDriver } from "../../cas/driver/driver.ts";
import type { KubeObject } from "../../kube/types.ts";
import type { CAS } from "../../resources/cas.ts";
import { DEFAULT_IMAGE_REPO } from "../../resources/defaults.ts";
import { apiKey, grammarProblem, imageReference, shown } from "../../resources/grammar.ts";
import { validate } from "../../resources/validation.ts";
import { statusIsCurrent } from "../status/health.ts";
import { notYet, reached, WaitTimeoutError, waitUntil } from "../status/wait.ts";
import type { Step } from "../steps.ts";
import type { ProvisionContext } from "./context.ts";
import {
  type OwnerCliConfig,
  readIfExists,
  readOwnerConfig,
  securePrivateFile,
  writePrivateFile,
  writePrivateFileIfChanged,
} from "./files.ts";
import { parsePatchFile, patchOf } from "./manifests.ts";
import {
  backupControllerImage,
  casImage,
  casRecoveryImage,
  imageChoice,
  type JsonPatchOp,
  type OwnerSessionName,
  POLICY_NAME,
  PROVISIONED_YAML,
  renderBackupPolicy,
  renderOwnerConfig,
  renderProvisioningManifest,
} from "./templates.ts";

export type ProvisionStep = Step<ProvisionContext>;

/** Field manager of everything the flow writes (so `kubectl get cas --show-managed-fields` names it). */
export const PROVISION_FIELD_MANAGER = "scone-provision";
const ZERO_DCAP_KEY = "00000000000000000000000000000000";

export class ProvisionError extends Error {
  override readonly name = "ProvisionError";
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function randomNonce(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function deadlineLoop<T>(
  ctx: ProvisionContext,
  what: string,
  attempt: () => Promise<T | undefined>,
  lastState: () => string,
): Promise<T> {
  const observe = async () => {
    const value = await attempt();
    return value === undefined ? notYet(lastState()) : reached(value);
  };
  const options = {
    timeoutMs: ctx.options.timeoutSeconds * 1000,
    pollMs: ctx.pollMs,
    sleep: (ms: number) => ctx.sleep(ms),
  };
  try {
    return await waitUntil(what, observe, options);
  } catch (e) {
    throw e instanceof WaitTimeoutError ? new ProvisionError(e.message) : e;
  }
}

/** JSON with object keys sorted: equality of parsed documents whatever their key order. */
function sortedJson(value: unknown): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v && typeof v === "object"
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
          )
        : v;
  return JSON.stringify(sort(value) ?? null);
}

// ---- 1. owner identity ------------------------------------------------------------------------------------------------

/** The owner's CLI config, read with a message naming the file when it is not one. */
async function readOwner(path: string): Promise<OwnerCliConfig | undefined> {
  try {
    return await readOwnerConfig(path);
  } catch (err) {
    throw new ProvisionError(errMessage(err));
  }
}

/**
 * The owner's CLI config (`identity/config.json`, SCONE_CLI_CONFIG): reused when present (a second CAS, or a target
 * upstream's plugin wrote, gets the same owner); otherwise the SCONE CLI creates it at its first use, as in upstream's
 * sconecli container (§10.2 step 10) — scone never writes an identity itself. `self show-key-hash` is that first use
 * [I: the CLI creating its config on first use is what upstream's flow relies on; no source states it as such].
 */
export const ownerIdentityStep: ProvisionStep = {
  name: "owner-identity",
  title: "Owner identity",
  async done(ctx) {
    if (!(await readOwner(ctx.files.cliConfig))) return false;
    await securePrivateFile(ctx.files.cliConfig);
    return `reusing ${ctx.files.cliConfig}`;
  },
  async run(ctx) {
    const { driver } = await ctx.connection();
    const keyHash = await driver.keyHash(); // CLI §3 `key_hash` (table.ts owner-key-hash)
    if (!(await readOwner(ctx.files.cliConfig))) {
      throw new ProvisionError(
        `the SCONE CLI (${ctx.ports.casSource.description}) did not create its config ${ctx.files.cliConfig}`,
      );
    }
    await securePrivateFile(ctx.files.cliConfig);
    return `the SCONE CLI created ${ctx.files.cliConfig} (owner key hash ${keyHash})`;
  },
};

// ---- 2. database volume check -----------------------------------------------------------------------------------------

export const databaseVolumeStep: ProvisionStep = {
  name: "database-volume",
  title: "Check for a leftover CAS database volume",
  async done(ctx) {
    return (await ctx.readCas()) ? "the CAS exists" : false;
  },
  async run(ctx) {
    const namespace = await ctx.kube.tryGet({ apiVersion: "v1", kind: "Namespace", name: ctx.options.namespace });
    if (!namespace) {
      throw new ProvisionError(
        `namespace ${ctx.options.namespace} does not exist: create it (kubectl create namespace ${ctx.options.namespace}) or give another with -n`,
      );
    }
    const pvc = `database-${ctx.options.name}-0`;
    const found = await ctx.kube.tryGet({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      namespace: ctx.options.namespace,
      name: pvc,
    });
    if (found) {
      throw new ProvisionError(
        `PersistentVolumeClaim ${ctx.options.namespace}/${pvc} exists but CAS ${ctx.options.name} does not: it holds ` +
          "the database of an earlier CAS of this name, and a new CAS would not be able to use it. Restore that CAS " +
          `(scone cas restore), or delete the claim if its data is not needed (kubectl delete pvc ${pvc} -n ${ctx.options.namespace}), ` +
          "or choose another CAS name",
      );
    }
    return `no claim ${pvc}`;
  },
};

// ---- 3. unprovisioned CAS ---------------------------------------------------------------------------------------------

function expectedImages(ctx: ProvisionContext): string[] {
  const choice = imageChoice(ctx.options);
  return ctx.options.imageOverwrite ? [ctx.options.imageOverwrite] : [casImage(choice), casRecoveryImage(choice)];
}

/** Upstream refuses a CAS whose image is not the one of `--set-version` (or `--image-overwrite`). */
export function checkCasImage(ctx: ProvisionContext, cas: CAS): void {
  const image = cas.spec?.image;
  const expected = expectedImages(ctx);
  if (image === undefined || image === "" || expected.includes(image)) return;
  throw new ProvisionError(
    `CAS ${ctx.options.namespace}/${ctx.options.name} runs image ${image}, expected ${expected[0]}: ` +
      "give the matching --set-version (or --image-registry), or --image-overwrite IMAGE for a non-standard image",
  );
}

/** The CAS as the CRD's schema sees it: a template from --manifests-dir must still give a valid CAS. */
function refuseInvalidCas(cas: CAS): void {
  const issues = validate("CAS", cas);
  if (issues.length > 0) {
    throw new ProvisionError(
      `the provisioning manifest is not a valid CAS: ${issues.map((i) => `${i.field}: ${i.message}`).join("; ")}`,
    );
  }
}

export const createCasStep: ProvisionStep = {
  name: "create-cas",
  title: "Create the unprovisioned CAS",
  async done(ctx) {
    const cas = ctx.cas ?? (await ctx.readCas());
    if (!cas) return false;
    checkCasImage(ctx, cas);
    return `CAS ${ctx.options.namespace}/${ctx.options.name} exists`;
  },
  async run(ctx) {
    const image = expectedImages(ctx)[0] as string;
    const problem = imageReference(image);
    if (problem) {
      throw new ProvisionError(
        `the CAS image ${shown(image)} (from --image-registry, --set-version or --image-overwrite) is not valid: ${problem}`,
      );
    }
    const manifest = renderProvisioningManifest(
      {
        name: ctx.options.name,
        namespace: ctx.options.namespace,
        image,
        nonce: ctx.options.nonce ?? randomNonce(),
      },
      (await ctx.manifests()).casProvisioning,
    );
    refuseInvalidCas(manifest.object);
    await writePrivateFile(ctx.files.provisioningStep, manifest.text);
    ctx.cas = await ctx.kube.apply<CAS>(manifest.object, { fieldManager: PROVISION_FIELD_MANAGER });
    return `created CAS ${ctx.options.namespace}/${ctx.options.name} (copy: ${ctx.files.provisioningStep})`;
  },
};

// ---- 4. the CAS pod and its console -----------------------------------------------------------------------------------

interface PodLike {
  status?: {
    phase?: string;
    containerStatuses?: { name: string; ready?: boolean; state?: { waiting?: { reason?: string } } }[];
  };
}

const TOKEN = /^[0-9a-fA-F]{32}$/;

/**
 * The console facts of an unprovisioned CAS (SCONE-INTERFACE §10.2 step 7; CLI §4 [docs: CAS_production]): the last
 * whitespace field of the lines holding `CAS key hash` / `CAS provisioning token`; the last such line wins (a restarted
 * CAS prints again). A provisioned CAS prints the key hash only.
 */
export function consoleFacts(log: string): { keyHash: string; token?: string } | undefined {
  let keyHash: string | undefined;
  let token: string | undefined;
  for (const line of log.split("\n")) {
    const last = line.trim().split(/\s+/).at(-1) ?? "";
    if (line.includes("CAS key hash")) {
      try {
        keyHash = checkKeyHash("CAS key hash", last);
      } catch (err) {
        if (!(err instanceof CliInputError)) throw err;
      }
    }
    if (line.includes("CAS provisioning token") && TOKEN.test(last)) token = last;
  }
  if (!keyHash) return undefined;
  return token ? { keyHash, token } : { keyHash };
}

/** Reads the console facts of NAME-0 (container cas); undefined while the pod is not running or has not printed them. */
export async function readConsole(ctx: ProvisionContext): Promise<{ keyHash: string; token?: string } | undefined> {
  const log = await ctx.kube
    .podLogs({ namespace: ctx.options.namespace, name: ctx.pod }, { container: "cas" })
    .catch(() => "");
  return consoleFacts(log);
}

export const casPodStep: ProvisionStep = {
  name: "cas-pod",
  observes: true,
  title: "Wait for the CAS pod and read its key hash",
  async done() {
    return false; // observes only: the console is read on every run
  },
  async run(ctx) {
    let state = `pod ${ctx.pod} does not exist yet`;
    const facts = await deadlineLoop(
      ctx,
      `pod ${ctx.options.namespace}/${ctx.pod} to print its CAS key hash`,
      async () => {
        const pod = await ctx.kube.tryGet<KubeObject & PodLike>({
          apiVersion: "v1",
          kind: "Pod",
          namespace: ctx.options.namespace,
          name: ctx.pod,
        });
        if (!pod) return undefined;
        const waiting = pod.status?.containerStatuses?.find((c) => c.state?.waiting?.reason)?.state?.waiting?.reason;
        state = `pod ${ctx.pod} is ${pod.status?.phase ?? "Pending"}${waiting ? ` (${waiting})` : ""}`;
        if (pod.status?.phase !== "Running") return undefined;
        state = `pod ${ctx.pod} is Running but its console shows no "CAS key hash" line yet`;
        return readConsole(ctx);
      },
      () => state,
    );
    ctx.casKeyHash = facts.keyHash;
    ctx.provisioningToken = facts.token;
    await ctx.readCas();
    return `CAS key hash ${facts.keyHash}${facts.token ? ", provisioning token present" : ""}`;
  },
};

// ---- 5. attest, owner config, provision -------------------------------------------------------------------------------

const TOLERANCE_SETS =
  `both of upstream's tolerance sets (SGX_TOLERATIONS: signer ${MRSIGNER_DB_INJECTION.slice(0, 12)}…, ` +
  `SGX_STD_TOLERATIONS: signer ${MRSIGNER_STANDARD.slice(0, 12)}…)`;

/** A refusal after the driver's fallback: the message says both tolerance sets were tried, then the CLI's words. */
function refusedWithBoth(what: string, ctx: ProvisionContext, err: unknown): unknown {
  if (!(err instanceof SconeCliError)) return err;
  return new ProvisionError(
    `the SCONE CLI refused to ${what} CAS ${ctx.options.namespace}/${ctx.options.name} with ${TOLERANCE_SETS}; ` +
      `the last answer: ${err.message}`,
  );
}

/** The CAS key hash from this run's console reading, or read now (a resumed run, the observing modes). */
async function consoleKeyHash(ctx: ProvisionContext): Promise<string> {
  if (!ctx.casKeyHash) {
    const facts = await readConsole(ctx);
    if (!facts) throw new ProvisionError(`no "CAS key hash" line in the console of ${ctx.pod} (container cas)`);
    ctx.casKeyHash = facts.keyHash;
    ctx.provisioningToken = facts.token;
  }
  return ctx.casKeyHash;
}

/**
 * `cas attest` with the key hash the console printed (upstream's tolerations, then the standard signer: the driver's
 * fallback), then set-default and the CAS keys. Only a provisioned CAS attests; while provisioning, a refusal with a
 * provisioning token on the console means "not provisioned yet" and the provision step attests as it provisions.
 */
export const attestStep: ProvisionStep = {
  name: "attest",
  observes: true,
  title: "Attest the CAS",
  async done() {
    return false; // observes only
  },
  async run(ctx) {
    const casKeyHash = await consoleKeyHash(ctx);
    const { driver, address } = await ctx.connection();
    try {
      // CLI §3/§4 `cas_attest`, SCONE-INTERFACE §10.1 tolerations (table.ts attest).
      ctx.attested = await driver.attest({ address, casKeyHash }, ctx.options.verifiers);
    } catch (err) {
      if (ctx.options.mode === "provision" && ctx.provisioningToken && err instanceof SconeCliError) {
        return "not attestable yet: the console shows a provisioning token (the CAS is not provisioned)";
      }
      throw refusedWithBoth("attest", ctx, err);
    } finally {
      await securePrivateFile(ctx.ownerConfigPath);
    }
    return `attested ${address} (CAS key ${ctx.attested.casKey})`;
  },
};

async function dcapKeyOf(ctx: ProvisionContext): Promise<string> {
  if (ctx.options.dcapKey) return ctx.options.dcapKey;
  const las = await ctx.kube
    .tryGet<KubeObject & { spec?: { dcapKey?: string } }>({
      apiVersion: "base.scone.cloud/v1beta1",
      kind: "LAS",
      name: "las",
    })
    .catch(() => undefined);
  const key = las?.spec?.dcapKey;
  if (typeof key !== "string" || key === "") return ZERO_DCAP_KEY;
  const problem = grammarProblem("LAS las spec.dcapKey", key, apiKey, { secret: true });
  if (problem) throw new ProvisionError(`${problem}; fix the LAS, or give --dcap-api`);
  return key;
}

/** The owner config to provision with: `--owner-config FILE`, else upstream's template. */
export async function desiredOwnerConfig(ctx: ProvisionContext): Promise<{ text: string; source: string }> {
  if (ctx.options.ownerConfigFile) {
    const text = await readIfExists(ctx.options.ownerConfigFile);
    if (text === undefined) {
      throw new ProvisionError(`--owner-config ${ctx.options.ownerConfigFile}: no such file`);
    }
    return { text, source: ctx.options.ownerConfigFile };
  }
  const service = await ctx.kube
    .tryGet<KubeObject & { spec?: { clusterIP?: string } }>({
      apiVersion: "v1",
      kind: "Service",
      namespace: ctx.options.namespace,
      name: ctx.options.name,
    })
    .catch(() => undefined);
  const clusterIp = service?.spec?.clusterIP;
  const text = renderOwnerConfig({
    serviceName: ctx.options.name,
    pod: ctx.pod,
    namespace: ctx.options.namespace,
    clusterIp: clusterIp && clusterIp !== "None" ? clusterIp : "",
    dcapKey: await dcapKeyOf(ctx),
    ...(ctx.options.webhook ? { webhook: ctx.options.webhook } : {}),
  });
  return { text, source: ctx.files.ownerConfig };
}

export const ownerConfigStep: ProvisionStep = {
  name: "owner-config",
  title: "Owner config",
  async done(ctx) {
    if (ctx.options.ownerConfigFile) return `using --owner-config ${ctx.options.ownerConfigFile}`;
    if (ctx.attested) return "the CAS is provisioned (the owner config is in the CAS)";
    const { text } = await desiredOwnerConfig(ctx);
    return (await readIfExists(ctx.files.ownerConfig)) === text ? `${ctx.files.ownerConfig} is up to date` : false;
  },
  async run(ctx) {
    const { text } = await desiredOwnerConfig(ctx);
    await writePrivateFile(ctx.files.ownerConfig, text);
    return `wrote ${ctx.files.ownerConfig}`;
  },
};

export const provisionStep: ProvisionStep = {
  name: "provision",
  title: "Provision the CAS (the owner identity becomes its owner)",
  async done(ctx) {
    // The CAS attesting is the signal; status.provisioned is the operator's view and may be stale.
    return ctx.attested ? "the CAS is already provisioned (it attests)" : false;
  },
  async run(ctx) {
    const casKeyHash = await consoleKeyHash(ctx);
    const token = ctx.provisioningToken ?? (await readConsole(ctx))?.token;
    if (!token) {
      throw new ProvisionError(
        `the CAS is not provisioned, but the console of ${ctx.pod} shows no "CAS provisioning token" line ` +
          "(was the pod restarted? the token is printed once per start of an unprovisioned CAS)",
      );
    }
    const owner = await desiredOwnerConfig(ctx);
    const { driver, address } = await ctx.connection();
    try {
      // CLI §4 `cas provision … with-attestation` (SCONE-INTERFACE §10.2 step 10); the CLI records the CAS in the
      // owner's config.json (cas_db), scone does not touch that file.
      ctx.attested = await driver.provision(
        { address, casKeyHash, token, ownerConfigToml: owner.text },
        ctx.options.verifiers,
      );
    } catch (err) {
      throw refusedWithBoth("provision", ctx, err);
    } finally {
      await securePrivateFile(ctx.ownerConfigPath);
    }
    ctx.provisionedNow = true;
    return `provisioned with owner config ${owner.source}`;
  },
};

// ---- 6. owner identity files and sessions -----------------------------------------------------------------------------

/**
 * The owner identity as upstream derives it from config.json (§10.2 step 11): identity, signing seed, and this CAS's
 * attestation entry — the CLI's own, kept opaque — under the CAS's cluster address, where the backup controller
 * reaches it (upstream rewrites the key `host.docker.internal:PORT` the same way).
 */
export function ownerIdentityDocument(
  owner: OwnerCliConfig,
  cas?: { readonly address: string; readonly entry: unknown },
): Record<string, unknown> {
  return {
    identity: owner.identity,
    cas_db: cas ? { [cas.address]: cas.entry } : {},
    ...(owner.seed !== undefined ? { session_signing_keypair_ed25519_seed: owner.seed } : {}),
  };
}

/** The owner config the CLI used, with its entry for the attested address. */
async function ownerWithEntry(ctx: ProvisionContext): Promise<{ owner: OwnerCliConfig; entry: unknown }> {
  const owner = await readOwner(ctx.ownerConfigPath);
  if (!owner) throw new ProvisionError(`${ctx.ownerConfigPath} is missing (step owner-identity)`);
  const { address } = await ctx.connection();
  const entry = owner.casDb[address];
  if (entry === undefined) {
    throw new ProvisionError(
      `the SCONE CLI recorded no attestation of ${address} in ${ctx.ownerConfigPath} (cas_db): attest the CAS first`,
    );
  }
  return { owner, entry };
}

export const ownerIdentityFilesStep: ProvisionStep = {
  name: "owner-identity-files",
  title: "Owner identity for the backup controller",
  async done(ctx) {
    if (ctx.provisionedNow) return false;
    const text = await readIfExists(ctx.files.ownerIdentity);
    const base = await readIfExists(ctx.files.baseOwnerIdentity);
    if (text === undefined || base === undefined) return false;
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return false;
    }
    const owner = await readOwner(ctx.ownerConfigPath);
    const casDb = doc.cas_db as Record<string, unknown> | undefined;
    if (!owner || doc.identity !== owner.identity || casDb?.[ctx.clusterAddress] === undefined) return false;
    await securePrivateFile(ctx.files.ownerIdentity);
    ctx.ownerIdentityJson = text;
    return `${ctx.files.ownerIdentity} names this CAS`;
  },
  async run(ctx) {
    const { owner, entry } = await ownerWithEntry(ctx);
    const text = `${JSON.stringify(ownerIdentityDocument(owner, { address: ctx.clusterAddress, entry }), null, 2)}\n`;
    if ((await readIfExists(ctx.files.baseOwnerIdentity)) === undefined) {
      await writePrivateFile(ctx.files.baseOwnerIdentity, `${JSON.stringify(ownerIdentityDocument(owner), null, 2)}\n`);
    }
    await writePrivateFile(ctx.files.ownerIdentity, text);
    ctx.ownerIdentityJson = text;
    return `wrote ${ctx.files.ownerIdentity}`;
  },
};

/** The session text scone uploads for `name`. */
export async function desiredSession(ctx: ProvisionContext, name: OwnerSessionName): Promise<string> {
  const manifests = await ctx.manifests();
  if (name === "cas-owner") return manifests.casOwner;
  if (name === "provisioned") return PROVISIONED_YAML;
  ctx.ownerIdentityJson ??= await readIfExists(ctx.files.ownerIdentity);
  if (!ctx.ownerIdentityJson)
    throw new ProvisionError(`${ctx.files.ownerIdentity} is missing (step owner-identity-files)`);
  return renderBackupPolicy(ctx.ownerIdentityJson, manifests.backupPolicy);
}

function sessionFile(ctx: ProvisionContext, name: OwnerSessionName): string {
  if (name === "cas-owner") return ctx.files.casOwnerSession;
  if (name === "provisioned") return ctx.files.provisionedSession;
  return ctx.files.backupControllerSession;
}

/**
 * Session content equality as CAS keeps it: the parsed documents without `predecessor` (it changes per version) and
 * `creator` (CAS sets it on upload, CLI §5), so a session read back equals the body scone uploaded.
 */
export function sameSessionContent(a: string, b: string): boolean {
  const strip = (text: string) => {
    const doc = parseYaml(text) as Record<string, unknown> | null;
    if (doc && typeof doc === "object") {
      delete doc.predecessor;
      delete doc.creator;
    }
    return sortedJson(doc);
  };
  try {
    return strip(a) === strip(b);
  } catch {
    return false;
  }
}

/** `body` with `predecessor: hash` (set as a value of the parsed document, serialized once). */
export function withPredecessor(body: string, hash: string): string {
  const doc = parseDocument(body);
  if (doc.errors.length > 0 || !isMap(doc.contents))
    throw new ProvisionError("the session to update is not a YAML mapping");
  doc.set("predecessor", hash);
  return doc.toString({ lineWidth: 0 });
}

/**
 * Creates `body` as a new session, or updates the existing one with `predecessor` = the active version's hash, which
 * the CLI computes from the body CAS returned (`session calculate-hash`, CLI §6: the hash is never scone's).
 * Returns what happened and the hash the CLI printed for the stored version.
 */
export async function uploadSession(
  driver: CasDriver,
  target: { address: string; casKey: string },
  name: string,
  body: string,
): Promise<{ action: "created" | "updated" | "unchanged"; hash?: string; predecessor?: string }> {
  const current = await driver.readSession(target, name);
  if (current === null) return { action: "created", hash: await driver.createSession(target, body) };
  if (sameSessionContent(current, body)) return { action: "unchanged" };
  const predecessor = await driver.sessionHash(current);
  const hash = await driver.updateSession(target, withPredecessor(body, predecessor));
  return { action: "updated", hash, predecessor };
}

/**
 * uploadSession, with a hash for every outcome: for an unchanged session, the CLI's hash of the active version (read
 * again: one more `session read` than uploadSession, only when nothing changed).
 */
export async function uploadSessionWithHash(
  driver: CasDriver,
  target: { address: string; casKey: string },
  name: string,
  body: string,
): Promise<{ action: "created" | "updated" | "unchanged"; hash: string }> {
  const r = await uploadSession(driver, target, name, body);
  if (r.hash !== undefined) return { action: r.action, hash: r.hash };
  const active = await driver.readSession(target, name);
  if (active === null) throw new ProvisionError(`session ${name} vanished from CAS ${target.address} while being read`);
  return { action: r.action, hash: await driver.sessionHash(active) };
}

/** A refused session call may mean another identity owns the CAS: say which identity was used and what to do. */
function notOwner(ctx: ProvisionContext, err: unknown): unknown {
  if (!(err instanceof SconeCliError)) return err;
  return new ProvisionError(
    `${err.message} — the owner identity used is ${ctx.ownerConfigPath}; if the CAS was provisioned with another ` +
      "identity, use that one (--target DIR, or --postprovision-owner-identity FILE with --postprovision-only)",
  );
}

export function sessionStep(name: OwnerSessionName): ProvisionStep {
  const step: ProvisionStep = {
    name: `session-${name.replaceAll("/", "-")}`,
    title: `Session ${name}`,
    async done(ctx) {
      const { driver } = await ctx.connection();
      // CLI §3 `read_session` (table.ts session-read).
      const current = await driver.readSession(await ctx.target(), name);
      return current !== null && sameSessionContent(current, await desiredSession(ctx, name))
        ? `session ${name} exists with the same content`
        : false;
    },
    async run(ctx) {
      const text = await desiredSession(ctx, name);
      await writePrivateFileIfChanged(sessionFile(ctx, name), text);
      const { driver } = await ctx.connection();
      const r = await uploadSession(driver, await ctx.target(), name, text);
      if (r.action === "created") return `created session ${name} (${r.hash?.slice(0, 12)}…)`;
      if (r.action === "unchanged") return `session ${name} exists with the same content`;
      return `updated session ${name} (${r.hash?.slice(0, 12)}…, predecessor ${r.predecessor?.slice(0, 12)}…)`;
    },
  };
  return {
    ...step,
    done: (ctx) => step.done(ctx).catch((err) => Promise.reject(notOwner(ctx, err))),
    run: (ctx) => step.run(ctx).catch((err) => Promise.reject(notOwner(ctx, err))),
  };
}

// ---- 7. post-provisioning features ------------------------------------------------------------------------------------

function pointer(path: string): string[] {
  return path
    .split("/")
    .slice(1)
    .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
}

function valueAt(doc: unknown, path: string): unknown {
  let at: unknown = doc;
  for (const key of pointer(path)) {
    if (typeof at !== "object" || at === null) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

/** The upstream JSON patch (--filename's, or --manifests-dir's file, or the embedded operations). */
export async function desiredPatch(ctx: ProvisionContext): Promise<JsonPatchOp[]> {
  const choice = imageChoice(ctx.options);
  const imageRepo = ctx.options.imageRepo ?? DEFAULT_IMAGE_REPO;
  try {
    if (ctx.options.patchFile) {
      const text = await readIfExists(ctx.options.patchFile);
      if (text === undefined) throw new ProvisionError(`--filename ${ctx.options.patchFile}: no such file`);
      return parsePatchFile(text, `--filename ${ctx.options.patchFile}`, {
        POLICY_NAME,
        IMAGE_REPO: imageRepo,
        IMAGE_PREFIX: ctx.options.imagePrefix ?? "",
      });
    }
    return patchOf(await ctx.manifests(), {
      backup: ctx.options.backup,
      imageRepo,
      imagePrefix: ctx.options.imagePrefix ?? "",
      backupControllerImage: backupControllerImage(choice),
    });
  } catch (err) {
    if (err instanceof ProvisionError) throw err;
    throw new ProvisionError(errMessage(err));
  }
}

/**
 * The operations to send: a `replace` whose target is missing becomes an `add`, after `add`s of missing parents
 * (upstream relies on the webhook's defaults being present; scone's CAS may not carry them).
 */
export function applicablePatch(cas: unknown, ops: readonly JsonPatchOp[]): JsonPatchOp[] {
  const out: JsonPatchOp[] = [];
  const created = new Set<string>();
  for (const op of ops) {
    const keys = pointer(op.path);
    for (let i = 1; i < keys.length; i++) {
      const parent = `/${keys
        .slice(0, i)
        .map((k) => k.replaceAll("~", "~0").replaceAll("/", "~1"))
        .join("/")}`;
      const value = valueAt(cas, parent);
      if (!created.has(parent) && (value === undefined || value === null)) {
        out.push({ op: "add", path: parent, value: {} });
        created.add(parent);
      }
    }
    out.push({ op: valueAt(cas, op.path) === undefined ? "add" : op.op, path: op.path, value: op.value });
  }
  return out;
}

export function patchApplied(cas: unknown, ops: readonly JsonPatchOp[]): boolean {
  return ops.every((op) => sortedJson(valueAt(cas, op.path) ?? null) === sortedJson(op.value));
}

function manifestOf(cas: CAS): string {
  const { metadata, status: _status, ...rest } = cas as CAS & { status?: unknown };
  const {
    managedFields: _m,
    resourceVersion: _r,
    uid: _u,
    generation: _g,
    creationTimestamp: _c,
    ...meta
  } = metadata as Record<string, unknown>;
  return stringifyYaml({ ...rest, metadata: meta });
}

export const enableFeaturesStep: ProvisionStep = {
  name: "enable-features",
  title: "Enable probes and the backup controller",
  async done(ctx) {
    const cas = await ctx.readCas();
    if (!cas) throw new ProvisionError(`CAS ${ctx.options.namespace}/${ctx.options.name} does not exist`);
    return patchApplied(cas, await desiredPatch(ctx)) ? "the CAS spec carries them" : false;
  },
  async run(ctx) {
    const ops = applicablePatch(ctx.cas, await desiredPatch(ctx));
    await writePrivateFile(ctx.files.patch, `${JSON.stringify(ops, null, 2)}\n`);
    const patched = await ctx.kube.patch<CAS>(ctx.casRef, ops, "json", { fieldManager: PROVISION_FIELD_MANAGER });
    ctx.cas = patched;
    await writePrivateFile(ctx.files.manifest, manifestOf(patched));
    return ctx.options.backup
      ? `backup controller session ${ctx.cas.spec?.["backup-controller"]?.session ?? "?"}, probes on (manifest: ${ctx.files.manifest})`
      : `probes on, no backup controller (manifest: ${ctx.files.manifest})`;
  },
};

// ---- 8. HEALTHY -------------------------------------------------------------------------------------------------------

export const waitHealthyStep: ProvisionStep = {
  name: "wait-healthy",
  observes: true,
  title: "Wait until the CAS is HEALTHY",
  async done(ctx) {
    const cas = await ctx.readCas();
    // Only a status computed for the current spec counts: right after enable-features the CAS may still report the
    // HEALTHY it had before the backup controller was switched on.
    return cas && statusIsCurrent(cas) && cas.status?.phase === "HEALTHY" ? "phase HEALTHY" : false;
  },
  async run(ctx) {
    let state = "no status yet";
    await deadlineLoop(
      ctx,
      `CAS ${ctx.options.namespace}/${ctx.options.name} to be HEALTHY`,
      async () => {
        const cas = await ctx.readCas();
        const s = cas?.status;
        const notReady = s?.conditions?.find((c) => c.type === "Ready" && c.status !== "True");
        state = `phase ${s?.phase ?? "-"}, provisioned ${s?.provisioned ?? "-"}, attestable ${s?.attestable ?? "-"}, migration ${s?.migrationNodeRatio ?? "-"}${notReady?.message ? ` (${notReady.message})` : ""}`;
        return cas && statusIsCurrent(cas) && s?.phase === "HEALTHY" ? true : undefined;
      },
      () => state,
    );
    return "phase HEALTHY";
  },
};

/** The owner's CLI config at `path`; an error naming the file when there is none. */
export async function loadOwner(path: string): Promise<OwnerCliConfig> {
  const owner = await readOwner(path);
  if (!owner)
    throw new ProvisionError(`owner identity ${path} does not exist (provision the CAS first, or give --target DIR)`);
  return owner;
}
