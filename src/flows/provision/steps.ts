// The steps of `scone cas provision` (upstream `kubectl provision cas`, SCONE-INTERFACE §10.2). Each `done` looks at
// the world — the files under $TARGET, the CAS object, its pod's console, the CAS itself — so a run interrupted at
// any point continues and never repeats an effect. Secrets (token, identity, keys) never appear in a step's detail.

import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { attestCas, CasClient } from "../../cas/client.ts";
import { canonicalJson } from "../../cas/crypto.ts";
import { CasAuthError, CasConflictError, CasNotFoundError, CasUnavailableError } from "../../cas/errors.ts";
import {
  type CasDbEntry,
  type CliConfig,
  generateCliConfig,
  identityPem,
  parseCliConfig,
  readCliConfig,
  withCas,
  writeCliConfig,
} from "../../cas/identity.ts";
import type { KubeObject } from "../../kube/types.ts";
import { consoleField } from "../../operator/cas/console.ts";
import type { CAS } from "../../resources/cas.ts";
import { DEFAULT_IMAGE_REPO } from "../../resources/defaults.ts";
import { apiKey, grammarProblem, imageReference, shown } from "../../resources/grammar.ts";
import { validate } from "../../resources/validation.ts";
import { statusIsCurrent } from "../status/health.ts";
import type { Step } from "../steps.ts";
import type { ProvisionContext } from "./context.ts";
import { readIfExists, writePrivateFile, writePrivateFileIfChanged } from "./files.ts";
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
  const deadline = Date.now() + ctx.options.timeoutSeconds * 1000;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) {
      throw new ProvisionError(`timed out after ${ctx.options.timeoutSeconds} s waiting for ${what}: ${lastState()}`);
    }
    await ctx.sleep(ctx.pollMs);
  }
}

// ---- 1. owner identity ------------------------------------------------------------------------------------------------

/** The owner's CLI config: reused when present (a second CAS gets the same owner), generated otherwise. */
export const ownerIdentityStep: ProvisionStep = {
  name: "owner-identity",
  title: "Owner identity",
  async done(ctx) {
    const text = await readIfExists(ctx.files.cliConfig);
    if (text === undefined) return false;
    ctx.owner = parseCliConfig(JSON.parse(text), `owner identity ${ctx.files.cliConfig}`);
    return `reusing ${ctx.files.cliConfig}`;
  },
  async run(ctx) {
    const config = await generateCliConfig("scone-cas-owner");
    await writePrivateFile(ctx.files.cliConfig, `${JSON.stringify(config, null, 2)}\n`);
    ctx.owner = config;
    return `created ${ctx.files.cliConfig}`;
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

/** Reads the console facts of NAME-0 (container cas); undefined while the pod is not running or has not printed them. */
export async function readConsole(ctx: ProvisionContext): Promise<{ keyHash: string; token?: string } | undefined> {
  const log = await ctx.kube
    .podLogs({ namespace: ctx.options.namespace, name: ctx.pod }, { container: "cas" })
    .catch(() => "");
  const keyHash = consoleField(log, "CAS key hash");
  if (!keyHash) return undefined;
  const token = consoleField(log, "CAS provisioning token");
  return token ? { keyHash, token } : { keyHash };
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

export const attestStep: ProvisionStep = {
  name: "attest",
  observes: true,
  title: "Attest the CAS",
  async done() {
    return false; // observes only
  },
  async run(ctx) {
    if (!ctx.casKeyHash) {
      const facts = await readConsole(ctx);
      if (!facts) throw new ProvisionError(`no "CAS key hash" line in the console of ${ctx.pod} (container cas)`);
      ctx.casKeyHash = facts.keyHash;
      ctx.provisioningToken = facts.token;
    }
    const cas = ctx.cas ?? (await ctx.readCas());
    const nonce = cas?.spec?.nonce ?? randomNonce();
    const endpoint = await ctx.casEndpoint();
    let lastError = "";
    ctx.attested = await deadlineLoop(
      ctx,
      `the CAS to answer at ${endpoint.description}`,
      async () => {
        try {
          return await attestCas(endpoint.url, { casKeyHash: ctx.casKeyHash as string, nonce, timeoutMs: 20_000 });
        } catch (err) {
          if (err instanceof CasUnavailableError) {
            lastError = err.message;
            return undefined;
          }
          throw err;
        }
      },
      () => lastError,
    );
    ctx.attestNonce = nonce;
    const report = ctx.attested.report;
    return `attested (version ${report.version}, ${report.provisioned ? "provisioned" : "unprovisioned"})`;
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
    if (ctx.attested?.report.provisioned) return "the CAS is provisioned (the owner config is in the CAS)";
    const { text } = await desiredOwnerConfig(ctx);
    return (await readIfExists(ctx.files.ownerConfig)) === text ? `${ctx.files.ownerConfig} is up to date` : false;
  },
  async run(ctx) {
    const { text } = await desiredOwnerConfig(ctx);
    await writePrivateFile(ctx.files.ownerConfig, text);
    return `wrote ${ctx.files.ownerConfig}`;
  },
};

/** The owner identity: as loaded by an earlier step of this run, else read from its file (a resumed run). */
async function ownerOf(ctx: ProvisionContext): Promise<CliConfig> {
  ctx.owner ??= await loadOwner(ctx.options.postprovisionOwnerIdentity ?? ctx.files.cliConfig);
  return ctx.owner;
}

export async function ownerCasClient(ctx: ProvisionContext): Promise<CasClient> {
  if (!ctx.attested) throw new ProvisionError("internal: the CAS was not attested (step attest)");
  const endpoint = await ctx.casEndpoint();
  return new CasClient({
    url: endpoint.url,
    caCertPem: ctx.attested.caCertPem,
    identity: identityPem(await ownerOf(ctx)),
    ...(endpoint.serverName ? { serverName: endpoint.serverName } : {}),
  });
}

function casDbEntry(ctx: ProvisionContext): CasDbEntry {
  const attested = ctx.attested;
  if (!attested) throw new ProvisionError("internal: the CAS was not attested (step attest)");
  const r = attested.report;
  return {
    url: `https://${ctx.clusterAddress}`,
    chain: attested.caCertPem,
    cas_key_hash: r.cas_key_hash,
    software_key_hash: r.software_key_hash,
    session_encryption_key: r.session_encryption_key,
    version: r.version,
    attested_at: r.timestamp,
  };
}

export const provisionStep: ProvisionStep = {
  name: "provision",
  title: "Provision the CAS (the owner identity becomes its owner)",
  async done(ctx) {
    if (ctx.attested?.report.provisioned) return "the CAS is already provisioned";
    if (ctx.cas?.status?.provisioned === "Yes") return "status.provisioned is Yes";
    return false;
  },
  async run(ctx) {
    const token = ctx.provisioningToken ?? (await readConsole(ctx))?.token;
    if (!token) {
      throw new ProvisionError(
        `the CAS is not provisioned, but the console of ${ctx.pod} shows no "CAS provisioning token" line ` +
          "(was the pod restarted? the token is printed once per start of an unprovisioned CAS)",
      );
    }
    const owner = await desiredOwnerConfig(ctx);
    const client = await ownerCasClient(ctx);
    try {
      await client.provision({ token, casKeyHash: ctx.casKeyHash as string, ownerConfig: owner.text });
    } catch (err) {
      // A conflict means someone provisioned it meanwhile: the sessions step finds out whether it was us.
      if (!(err instanceof CasConflictError)) throw err;
      ctx.ports.warn?.(`the CAS answered that it is already provisioned: ${err.message}`);
    }
    const config = withCas(await ownerOf(ctx), ctx.clusterAddress, casDbEntry(ctx));
    await writeCliConfig(ctx.files.cliConfig, config);
    ctx.owner = config;
    return `provisioned with owner config ${owner.source}`;
  },
};

// ---- 6. owner identity files and sessions -----------------------------------------------------------------------------

/** The owner identity as upstream derives it from config.json: identity, seed, and this CAS under its cluster address. */
export function ownerIdentityDocument(
  owner: CliConfig,
  address: string | undefined,
  entry: CasDbEntry | undefined,
): Record<string, unknown> {
  return {
    identity: owner.identity,
    cas_db: address && entry ? { [address]: entry } : {},
    session_signing_keypair_ed25519_seed: owner.session_signing_keypair_ed25519_seed,
  };
}

export const ownerIdentityFilesStep: ProvisionStep = {
  name: "owner-identity-files",
  title: "Owner identity for the backup controller",
  async done(ctx) {
    const text = await readIfExists(ctx.files.ownerIdentity);
    const base = await readIfExists(ctx.files.baseOwnerIdentity);
    if (text === undefined || base === undefined) return false;
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return false;
    }
    const entry = (doc.cas_db as Record<string, CasDbEntry> | undefined)?.[ctx.clusterAddress];
    if (doc.identity !== (await ownerOf(ctx)).identity || entry?.cas_key_hash !== ctx.attested?.report.cas_key_hash)
      return false;
    ctx.ownerIdentityJson = text;
    return `${ctx.files.ownerIdentity} names this CAS`;
  },
  async run(ctx) {
    const owner = await ownerOf(ctx);
    const text = `${JSON.stringify(ownerIdentityDocument(owner, ctx.clusterAddress, casDbEntry(ctx)), null, 2)}\n`;
    if ((await readIfExists(ctx.files.baseOwnerIdentity)) === undefined) {
      await writePrivateFile(
        ctx.files.baseOwnerIdentity,
        `${JSON.stringify(ownerIdentityDocument(owner, undefined, undefined), null, 2)}\n`,
      );
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

/** Session content equality as CAS sees it: the parsed document without `predecessor` (which changes per version). */
export function sameSessionContent(a: string, b: string): boolean {
  const strip = (text: string) => {
    const doc = parseYaml(text) as Record<string, unknown> | null;
    if (doc && typeof doc === "object") delete doc.predecessor;
    return canonicalJson(doc);
  };
  try {
    return strip(a) === strip(b);
  } catch {
    return false;
  }
}

/** A refusal of the owner's request means this identity does not own the CAS: say which identity and what to do. */
function notOwner(ctx: ProvisionContext, err: unknown): unknown {
  if (!(err instanceof CasAuthError)) return err;
  const identity = ctx.options.postprovisionOwnerIdentity ?? ctx.files.cliConfig;
  return new ProvisionError(
    `the CAS refused the owner identity ${identity} (${err.message}): it was provisioned with another identity; ` +
      "use that one (--target DIR, or --postprovision-owner-identity FILE with --postprovision-only)",
  );
}

export function sessionStep(name: OwnerSessionName): ProvisionStep {
  const step: ProvisionStep = {
    name: `session-${name.replaceAll("/", "-")}`,
    title: `Session ${name}`,
    async done(ctx) {
      const client = await ownerCasClient(ctx);
      try {
        const current = await client.readSession(name);
        return sameSessionContent(current.session, await desiredSession(ctx, name))
          ? `session ${name} exists with the same content`
          : false;
      } catch (err) {
        if (err instanceof CasNotFoundError) return false;
        throw err;
      }
    },
    async run(ctx) {
      const text = await desiredSession(ctx, name);
      await writePrivateFileIfChanged(sessionFile(ctx, name), text);
      const client = await ownerCasClient(ctx);
      let current: string | undefined;
      try {
        current = (await client.readSession(name)).hash;
      } catch (err) {
        if (!(err instanceof CasNotFoundError)) throw err;
      }
      if (current === undefined) {
        const { hash } = await client.createSession(text);
        return `created session ${name} (${hash.slice(0, 12)}…)`;
      }
      const { hash } = await client.updateSession(text, current);
      return `updated session ${name} (${hash.slice(0, 12)}…, predecessor ${current.slice(0, 12)}…)`;
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
  return ops.every((op) => canonicalJson(valueAt(cas, op.path) ?? null) === canonicalJson(op.value));
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

export async function loadOwner(path: string): Promise<CliConfig> {
  try {
    return await readCliConfig(path);
  } catch (err) {
    throw new ProvisionError(errMessage(err));
  }
}
