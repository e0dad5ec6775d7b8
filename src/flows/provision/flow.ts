// `scone cas provision`: picks the steps for the mode, runs them with the resumable-steps runner, and says what the
// command prints. The same function serves the CLI and (later) the API's long-running operations.
import type { CasDriverSource } from "../../cas/driver/reach.ts";
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
  ownerConfigStep,
  ownerIdentityFilesStep,
  ownerIdentityStep,
  ProvisionError,
  type ProvisionStep,
  provisionStep,
  sessionStep,
  uploadSessionWithHash,
  waitHealthyStep,
  withPredecessor,
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
      // The owner identity after the pod: the SCONE CLI creates it, and the CLI is reached with the CAS.
      return [
        databaseVolumeStep,
        createCasStep,
        casPodStep,
        ownerIdentityStep,
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
    case "is-provisioned":
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
    return ctx.attested ? "the CAS is provisioned (it attests)" : false;
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
    await loadOwner(ctx.ownerConfigPath);
    return `using ${ctx.ownerConfigPath}`;
  },
};

/**
 * Upstream's closing lines (§10.2 step 11), from what `cas show-identification` gives (CLI §3 `cas_keys`). No
 * CAS_SESSION_ENCRYPTION_KEY line: no documented command combination gives it yet (table.ts session-encryption-key).
 */
function publicKeyLines(keys: CasPublicKeys): string[] {
  return [
    `PUBLIC CAS_KEY=${keys.casKey}`,
    ...(keys.softwareKey ? [`PUBLIC CAS_SOFTWARE_KEY=${keys.softwareKey}`] : []),
    ...(keys.nonce ? [`NONCE=${keys.nonce}`] : []),
  ];
}

export interface RunProvisionOptions {
  readonly progress?: StepsProgress;
  /** Stops between steps (the API's operation cancel); a rerun continues where the world is. */
  readonly signal?: AbortSignal;
}

/** Upstream flags that change nothing in scone, and why (told once per run, on the warning channel). */
export function ignoredFlagNotes(o: ProvisionOptions): string[] {
  const notes: string[] = [];
  // The CAS driver source decides how the CLI reaches the CAS and gives the address (src/cas/driver/reach.ts).
  if (o.casAddress)
    notes.push(
      "--cas-address is not used: the SCONE CLI reaches the CAS by its Service from the CLI pod, or through a port-forward with --scone-cli",
    );
  if (o.localCasClientPort)
    notes.push("--local-cas-client-port is not used: the local SCONE CLI's port-forward takes a free port");
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

  // The CLI runs these as the day-two commands they are (src/cli/run/provision-day-two.ts); the flow does not.
  const dayTwo = {
    upgrade: `scone cas upgrade ${options.name} -n ${options.namespace} --to-version ${options.upgradeTo ?? "VERSION"}`,
    "cas-database-recovery": `scone cas restore ${options.name} -n ${options.namespace} --from BACKUP`,
    "local-backup": `scone cas backup ${options.name} -n ${options.namespace} --to DIR`,
  } as const;
  if (options.mode in dayTwo) {
    const command = dayTwo[options.mode as keyof typeof dayTwo];
    const message = `--${options.mode} is not part of scone cas provision: use ${command}`;
    return { ...base, ok: false, steps: [], output: [], exitCode: 2, error: message };
  }
  for (const note of ignoredFlagNotes(options)) ports.warn?.(note);

  const journal = options.mode === "provision" ? await Journal.open(files.journal, "provision") : undefined;
  try {
    const result = await runSteps(stepsFor(options), ctx, {
      ...(journal ? { journal } : {}),
      ...(run.progress ? { progress: run.progress } : {}),
      ...(run.signal ? { signal: run.signal } : {}),
    });
    const keys = ctx.publicKeys();
    const failed = (error: string, cause?: unknown): ProvisionOutcome => ({
      ...base,
      ok: false,
      steps: result.steps,
      output: [],
      exitCode: 1,
      error,
      ...(cause !== undefined ? { cause } : {}),
    });
    if (!result.ok) {
      const error = result.error instanceof Error ? result.error.message : String(result.error);
      return failed(
        options.mode === "is-provisioned" ? `${casLabel} is not provisioned: ${error}` : error,
        result.error,
      );
    }
    const output: string[] = [];
    if (options.mode === "preprovision-only") {
      output.push(`export CAS_KEY_HASH=${ctx.casKeyHash ?? ""}`);
      if (ctx.provisioningToken) output.push(`export CAS_PROVISIONING_TOKEN=${ctx.provisioningToken}`);
      else output.push(`# no provisioning token: ${casLabel} is already provisioned`);
    } else if (options.mode === "verify" || options.mode === "is-provisioned") {
      if (!(await provisionedSessionReads(ctx))) {
        return failed(`${casLabel} is attestable but not provisioned (the session 'provisioned' cannot be read)`);
      }
      output.push(
        options.mode === "verify" ? `${casLabel} is attestable and provisioned.` : `${casLabel} is provisioned.`,
      );
    } else if (options.mode === "print-public-keys" && keys) {
      output.push(`export CAS_KEY=${keys.casKey}`);
      if (keys.softwareKey) output.push(`export CAS_SOFTWARE_KEY=${keys.softwareKey}`);
      ports.warn?.(
        "CAS_SESSION_ENCRYPTION_KEY and CAS_CERT are not printed: scone reads CAS keys with `scone cas show-identification --cas-key/--cas-software-key` only (no documented way to combine the others with a CAS address)",
      );
    } else if (keys) {
      output.push(...publicKeyLines(keys));
    }
    return { ...base, ok: true, steps: result.steps, output, exitCode: 0, ...(keys ? { publicKeys: keys } : {}) };
  } finally {
    await ctx.close();
  }
}

/**
 * Provisioned = the `provisioned` session reads (issue 13's documented signal; its access policy is `read: ANY`),
 * through the attested CLI.
 */
async function provisionedSessionReads(ctx: ProvisionContext): Promise<boolean> {
  const { driver } = await ctx.connection();
  // CLI §3 `read_session`, exit 2 = not found (table.ts session-read).
  return (await driver.readSession(await ctx.target(), "provisioned")) !== null;
}

/** The owner's session calls on a provisioned CAS (src/flows/upgrade's OwnerSessions has this shape). */
export interface OwnerSessionClient {
  /** The active version and its hash (`session calculate-hash` of the body CAS returned: the CLI computes it). */
  readSession(name: string): Promise<{ session: string; hash: string }>;
  /** `session update` with `predecessor` set in the body; the hash the CLI printed. */
  updateSession(session: string, predecessor: string): Promise<{ hash: string }>;
  /**
   * `session create`, or `session update` with `predecessor` = the active version's hash when the content differs
   * (uploadSession in steps.ts); `hash` names the stored version (for `unchanged`, the CLI's hash of the active one).
   */
  uploadSession(name: string, body: string): Promise<{ action: "created" | "updated" | "unchanged"; hash: string }>;
}

/**
 * The owner's session client of a provisioned CAS (attested through the CAS driver, with the owner identity in
 * `target`, default ~/.cas — also one upstream's plugin wrote), for flows that change owner sessions after
 * provisioning (the upgrade's backup-policy step, from the CLI and the API). Runs the checks of
 * --postprovision-only; `close` releases the connection. `kube` replaces the client for reads (the API's stoppable one).
 */
export async function openOwnerClient(
  client: KubeClient,
  cas: { readonly name: string; readonly namespace: string; readonly target?: string | undefined },
  opts: { readonly env?: OptionEnv; readonly kube?: ProvisionKube; readonly casSource: CasDriverSource },
): Promise<{
  client: OwnerSessionClient;
  /** The address the CLI attested the CAS at (the key of its entry in the owner's CLI config) and that config. */
  address: string;
  configPath: string;
  close(): Promise<void>;
}> {
  const options = provisionOptionsFromFlags({ ...cas, "postprovision-only": true }, opts.env);
  const ports = {
    ...realProvisionPorts(client, options, { casSource: opts.casSource }),
    ...(opts.kube ? { kube: opts.kube } : {}),
  };
  const ctx = new ProvisionContext(options, targetFiles(options.target, options), ports);
  const result = await runSteps(ownerChecks(), ctx, {});
  if (!result.ok) {
    await ctx.close();
    throw result.error instanceof Error ? result.error : new ProvisionError(String(result.error));
  }
  const { driver } = await ctx.connection();
  const target = await ctx.target();
  return {
    client: {
      // The upgrade's backup-policy update: CLI §3 read_session, session_hash, update_session (table.ts session-read,
      // session-hash, session-update); the predecessor's hash is the CLI's.
      async readSession(name) {
        const session = await driver.readSession(target, name);
        if (session === null)
          throw new ProvisionError(`session ${name} does not exist on CAS ${cas.namespace}/${cas.name}`);
        return { session, hash: await driver.sessionHash(session) };
      },
      async updateSession(session, predecessor) {
        return { hash: await driver.updateSession(target, withPredecessor(session, predecessor)) };
      },
      uploadSession: (name, body) => uploadSessionWithHash(driver, target, name, body),
    },
    address: target.address,
    configPath: ctx.ownerConfigPath,
    close: () => ctx.close(),
  };
}
