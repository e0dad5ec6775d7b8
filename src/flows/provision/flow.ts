// `scone cas provision`: picks the steps for the mode, runs them with the resumable-steps runner, and says what the
// command prints. The same function serves the CLI and (later) the API's long-running operations.
import type { CasClient } from "../../cas/client.ts";
import type { KubeClient } from "../../kube/client.ts";
import { Journal, runSteps, type StepRecord, type StepsProgress } from "../steps.ts";
import { type CasPublicKeys, ProvisionContext, type ProvisionKube, type ProvisionPorts } from "./context.ts";
import { targetFiles } from "./files.ts";
import { type OptionEnv, type ProvisionOptions, provisionOptionsFromFlags } from "./options.ts";
import { realProvisionPorts } from "./ports.ts";
import {
  attestStep,
  casPodStep,
  createCasStep,
  databaseVolumeStep,
  enableFeaturesStep,
  loadOwner,
  ownerCasClient,
  ownerConfigStep,
  ownerIdentityFilesStep,
  ownerIdentityStep,
  ProvisionError,
  type ProvisionStep,
  provisionStep,
  sessionStep,
  waitHealthyStep,
} from "./steps.ts";
import { SESSION_NAMES } from "./templates.ts";

export interface ProvisionOutcome {
  readonly ok: boolean;
  readonly name: string;
  readonly namespace: string;
  readonly mode: ProvisionOptions["mode"];
  readonly steps: readonly StepRecord[];
  /** Lines for stdout (exports, the verify sentence, public keys). May hold a secret only in --preprovision-only. */
  readonly output: readonly string[];
  readonly publicKeys?: CasPublicKeys;
  /** Exit code the command should end with (0 ok, 1 failure or "no" for --is-provisioned). */
  readonly exitCode: number;
  readonly error?: string;
  /** The failed step's error itself, for the CLI's --verbose cause chain (not part of -o json). */
  readonly cause?: unknown;
}

const postProvisionSteps = (o: ProvisionOptions): ProvisionStep[] => [
  ownerIdentityFilesStep,
  ...SESSION_NAMES.map((name) => sessionStep(name)),
  enableFeaturesStep,
  ...(o.wait ? [waitHealthyStep] : []),
];

/** The steps of a mode, in order. */
export function stepsFor(o: ProvisionOptions): ProvisionStep[] {
  switch (o.mode) {
    case "provision":
      return [
        ownerIdentityStep,
        databaseVolumeStep,
        createCasStep,
        casPodStep,
        attestStep,
        ownerConfigStep,
        provisionStep,
        ...postProvisionSteps(o),
      ];
    case "preprovision-only":
      return [databaseVolumeStep, createCasStep, casPodStep];
    case "postprovision-only":
      return [...ownerChecks(), ...postProvisionSteps(o)];
    case "verify":
    case "print-public-keys":
      return [requireCasStep, casPodStep, attestStep];
    default:
      return [];
  }
}

/** The owner identity, the CAS, its pod, attested and provisioned: what acting as the owner of a CAS needs. */
function ownerChecks(): ProvisionStep[] {
  return [loadPostprovisionOwner, requireCasStep, casPodStep, attestStep, requireProvisionedStep];
}

const requireCasStep: ProvisionStep = {
  name: "cas-exists",
  observes: true,
  title: "Find the CAS",
  async done() {
    return false;
  },
  async run(ctx) {
    const cas = await ctx.readCas();
    if (!cas) {
      throw new ProvisionError(
        `CAS ${ctx.options.namespace}/${ctx.options.name} does not exist (create it with scone cas provision ${ctx.options.name} -n ${ctx.options.namespace})`,
      );
    }
    return `CAS ${ctx.options.namespace}/${ctx.options.name} found`;
  },
};

const requireProvisionedStep: ProvisionStep = {
  name: "provisioned-check",
  observes: true,
  title: "Check that the CAS is provisioned",
  async done(ctx) {
    return ctx.attested?.report.provisioned ? "the CAS is provisioned" : false;
  },
  async run(ctx) {
    throw new ProvisionError(
      `CAS ${ctx.options.namespace}/${ctx.options.name} is not provisioned: run scone cas provision ${ctx.options.name} -n ${ctx.options.namespace} without --postprovision-only`,
    );
  },
};

const loadPostprovisionOwner: ProvisionStep = {
  name: "owner-identity",
  observes: true,
  title: "Owner identity",
  async done() {
    return false;
  },
  async run(ctx) {
    const path = ctx.options.postprovisionOwnerIdentity ?? ctx.files.cliConfig;
    ctx.owner = await loadOwner(path);
    return `using ${path}`;
  },
};

function publicKeyLines(keys: CasPublicKeys): string[] {
  return [
    `PUBLIC CAS_KEY=${keys.casKey}`,
    `PUBLIC CAS_SOFTWARE_KEY=${keys.softwareKey}`,
    `PUBLIC CAS_SESSION_ENCRYPTION_KEY=${keys.sessionEncryptionKey}`,
    `NONCE=${keys.nonce}`,
  ];
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

export interface RunProvisionOptions {
  readonly progress?: StepsProgress;
  /** Stops between steps (the API's operation cancel); a rerun continues where the world is. */
  readonly signal?: AbortSignal;
}

/** Upstream flags that change nothing in scone, and why (told once per run, on the warning channel). */
export function ignoredFlagNotes(o: ProvisionOptions): string[] {
  const notes: string[] = [];
  if (o.setTolerations)
    notes.push("--set-tolerations is not used: scone attests the CAS against the key hash its console printed");
  if (o.verifyImageSignatures)
    notes.push(
      "--verify-image-signatures is not used: scone runs no cosign; enforce image signatures with an admission policy",
    );
  return notes;
}

/** Runs the flow for `options.mode`. Never throws for a failed step: the outcome says what failed. */
export async function runProvision(
  options: ProvisionOptions,
  ports: ProvisionPorts,
  run: RunProvisionOptions = {},
): Promise<ProvisionOutcome> {
  const files = targetFiles(options.target, options);
  const ctx = new ProvisionContext(options, files, ports);
  const base = { name: options.name, namespace: options.namespace, mode: options.mode };
  const casLabel = `CAS '${options.name}' in namespace '${options.namespace}'`;

  if (options.mode === "is-provisioned") {
    const cas = await ctx.readCas();
    const yes = cas?.status?.provisioned === "Yes";
    return {
      ...base,
      ok: yes,
      steps: [],
      output: yes ? [`${casLabel} is provisioned.`] : [],
      exitCode: yes ? 0 : 1,
      ...(yes ? {} : { error: `${casLabel} is ${cas ? "not provisioned" : "missing"}.` }),
    };
  }
  if (options.mode === "upgrade" || options.mode === "cas-database-recovery") {
    const command =
      options.mode === "upgrade"
        ? `scone cas upgrade ${options.name} -n ${options.namespace} --to-version ${options.upgradeTo ?? "VERSION"}`
        : `scone cas restore ${options.name} -n ${options.namespace} --from BACKUP`;
    const message = `--${options.mode} is not part of scone cas provision: use ${command}`;
    return { ...base, ok: false, steps: [], output: [], exitCode: 2, error: message };
  }
  if (options.mode === "local-backup") return localBackup(ctx, base);
  for (const note of ignoredFlagNotes(options)) ports.warn?.(note);

  const journal = options.mode === "provision" ? await Journal.open(files.journal, "provision") : undefined;
  try {
    const result = await runSteps(stepsFor(options), ctx, {
      ...(journal ? { journal } : {}),
      ...(run.progress ? { progress: run.progress } : {}),
      ...(run.signal ? { signal: run.signal } : {}),
    });
    const keys = ctx.publicKeys();
    if (!result.ok) {
      const error = result.error instanceof Error ? result.error.message : String(result.error);
      return { ...base, ok: false, steps: result.steps, output: [], exitCode: 1, error, cause: result.error };
    }
    const output: string[] = [];
    if (options.mode === "preprovision-only") {
      output.push(`export CAS_KEY_HASH=${ctx.casKeyHash ?? ""}`);
      if (ctx.provisioningToken) output.push(`export CAS_PROVISIONING_TOKEN=${ctx.provisioningToken}`);
      else output.push(`# no provisioning token: ${casLabel} is already provisioned`);
    } else if (options.mode === "verify") {
      const provisioned = await verifyProvisioned(ctx);
      if (!provisioned) {
        return {
          ...base,
          ok: false,
          steps: result.steps,
          output: [],
          exitCode: 1,
          error: `${casLabel} is attestable but not provisioned (the session 'provisioned' cannot be read)`,
        };
      }
      output.push(`${casLabel} is attestable and provisioned.`);
    } else if (options.mode === "print-public-keys" && keys) {
      output.push(
        `export CAS_KEY=${keys.casKey}`,
        `export CAS_SOFTWARE_KEY=${keys.softwareKey}`,
        `export CAS_SESSION_ENCRYPTION_KEY=${keys.sessionEncryptionKey}`,
        `export CAS_CERT=${shellQuote(keys.caCertificate.trim())}`,
      );
    } else if (keys) {
      output.push(...publicKeyLines(keys));
    }
    return { ...base, ok: true, steps: result.steps, output, exitCode: 0, ...(keys ? { publicKeys: keys } : {}) };
  } finally {
    await ctx.close();
  }
}

/** `provisioned` is readable by ANY (its access policy): no identity needed, only the attested channel. */
async function verifyProvisioned(ctx: ProvisionContext): Promise<boolean> {
  const { CasClient } = await import("../../cas/client.ts");
  const { CasNotFoundError } = await import("../../cas/errors.ts");
  const endpoint = await ctx.casEndpoint();
  if (!ctx.attested) return false;
  const client = new CasClient({
    url: endpoint.url,
    caCertPem: ctx.attested.caCertPem,
    ...(endpoint.serverName ? { serverName: endpoint.serverName } : {}),
  });
  try {
    await client.readSession("provisioned");
    return true;
  } catch (err) {
    if (err instanceof CasNotFoundError) return false;
    throw err;
  }
}

async function localBackup(
  ctx: ProvisionContext,
  base: Pick<ProvisionOutcome, "name" | "namespace" | "mode">,
): Promise<ProvisionOutcome> {
  const cas = await ctx.readCas();
  if (cas?.status?.provisioned !== "Yes") {
    return {
      ...base,
      ok: false,
      steps: [],
      output: [],
      exitCode: 1,
      error: `CAS '${ctx.options.name}' in namespace '${ctx.options.namespace}' is not provisioned: nothing to back up`,
    };
  }
  if (!ctx.ports.copySnapshot) {
    return { ...base, ok: false, steps: [], output: [], exitCode: 1, error: "--local-backup: no pod exec available" };
  }
  const into = `cas-database-snapshots/${ctx.options.name}-${ctx.options.namespace}-last-snapshot-db`;
  const files = await ctx.ports.copySnapshot({ namespace: ctx.options.namespace, name: ctx.options.name, into });
  return {
    ...base,
    ok: true,
    steps: [],
    output: [`copied the last completed snapshot (${files.join(", ")}) to ./${into}`],
    exitCode: 0,
  };
}

/**
 * The owner's client of a provisioned CAS (attested, with the owner identity in `target`, default ~/.cas), reached
 * through a port-forward of `client`, for flows that change owner sessions after provisioning (the upgrade's
 * backup-policy step, from the CLI and the API). Runs the checks of --postprovision-only; `close` ends the
 * port-forward. `kube` replaces the client for reads (the API's stoppable one).
 */
export async function openOwnerClient(
  client: KubeClient,
  cas: { readonly name: string; readonly namespace: string; readonly target?: string | undefined },
  opts: { readonly env?: OptionEnv; readonly kube?: ProvisionKube } = {},
): Promise<{ client: CasClient; close(): Promise<void> }> {
  const options = provisionOptionsFromFlags({ ...cas, "postprovision-only": true }, opts.env);
  const ports = { ...realProvisionPorts(client, options), ...(opts.kube ? { kube: opts.kube } : {}) };
  const ctx = new ProvisionContext(options, targetFiles(options.target, options), ports);
  const result = await runSteps(ownerChecks(), ctx, {});
  if (!result.ok) {
    await ctx.close();
    throw result.error instanceof Error ? result.error : new ProvisionError(String(result.error));
  }
  return { client: await ownerCasClient(ctx), close: () => ctx.close() };
}
