// `scone vault provision NAME -n NS --cas CAS[.NS]`: flags → the vault flow (src/operator/vault/provision.ts) over
// the cluster (the CAS status, the Vault resource), the CAS (sessions, with the identity of the CLI config, as
// `scone session create` does upstream) and a state file under --target (OWNER_ID and uploaded sessions, 0600).
import { homedir } from "node:os";
import { join } from "node:path";
import { dnsLabel, grammarProblem } from "../../resources/grammar.ts";
import { isData, renderData } from "../output.ts";
import { CliError, EXIT_USAGE, type SconeContext } from "../spec.ts";

const CAS_CLIENT_PORT = 8081;
const DEFAULT_IMAGE_REPO = "registry.scontain.com/scone.cloud";

function str(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** `NAME[.NS]` of --cas; the namespace defaults to the vault's (upstream plugin convention [I]). */
export function parseCasFlag(value: string | undefined, namespace: string): { name: string; namespace: string } {
  const v = value ?? "cas";
  const dot = v.indexOf(".");
  const name = dot < 0 ? v : v.slice(0, dot);
  const ns = dot < 0 ? namespace : v.slice(dot + 1);
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns))
    throw new CliError(`invalid value '${v}' for --cas: expected NAME or NAME.NAMESPACE (DNS labels)`, EXIT_USAGE);
  return { name, namespace: ns };
}

export interface VaultFlags {
  readonly vaultName: string;
  readonly namespace: string;
  readonly cas: { name: string; namespace: string };
  readonly casAddress: string | undefined;
  readonly target: string;
  readonly configPath: string;
  readonly imageRepo: string;
  readonly imageTag: string;
  readonly manifestFile: string | undefined;
  readonly mrenclaves: string[] | undefined;
  readonly printPublicKeys: boolean;
}

export function vaultFlags(
  a: Record<string, unknown>,
  env: Record<string, string | undefined> = process.env,
): VaultFlags {
  const vaultName = str(a.name);
  if (!vaultName) throw new CliError("missing vault NAME", EXIT_USAGE, "scone vault provision NAME -n NAMESPACE");
  const nameProblem = grammarProblem("vault NAME", vaultName, dnsLabel());
  if (nameProblem) throw new CliError(nameProblem, EXIT_USAGE);
  const namespace = str(a.namespace) ?? "default";
  const target = str(a.target) ?? join(homedir(), ".cas");
  const manifestFile = str(a.filename);
  if (manifestFile && /^https?:\/\//.test(manifestFile))
    throw new CliError(`-f ${manifestFile}: give a local file (manifests are not downloaded)`, EXIT_USAGE);
  const mrenclaves = str(a.mrenclave)
    ?.split(",")
    .map((m) => m.trim());
  for (const m of mrenclaves ?? [])
    if (!/^[0-9a-f]{64}$/.test(m))
      throw new CliError(`invalid value '${m}' for --mrenclave: expected 64 lower-case hex characters`, EXIT_USAGE);
  return {
    vaultName,
    namespace,
    cas: parseCasFlag(str(a.cas), namespace),
    casAddress: str(a["cas-address"])?.replace(/\/+$/, ""),
    target,
    configPath: env.SCONE_CLI_CONFIG ?? join(target, "config.json"),
    imageRepo: `${(str(a["image-registry"]) ?? DEFAULT_IMAGE_REPO).replace(/\/+$/, "")}/${str(a["image-prefix"]) ?? ""}vault`,
    imageTag: str(a["set-version"]) ?? "",
    manifestFile,
    mrenclaves,
    printPublicKeys: a["print-public-keys"] === true,
  };
}

export async function run(ctx: SconeContext): Promise<void> {
  const a = ctx.args;
  const flags = vaultFlags(a);
  const [{ KubeClient }, { readCliConfig, identityPem }, { CasClient }, { CasConflictError }, provision, sessions] =
    await Promise.all([
      import("../../kube/client.ts"),
      import("../../cas/identity.ts"),
      import("../../cas/client.ts"),
      import("../../cas/errors.ts"),
      import("../../operator/vault/provision.ts"),
      import("../../operator/vault/sessions.ts"),
    ]);
  const { DEFAULT_SCONE_SERVICE_VERSION } = await import("../../version.ts");

  let config: Awaited<ReturnType<typeof readCliConfig>>;
  try {
    config = await readCliConfig(flags.configPath);
  } catch (e) {
    throw new CliError(
      e instanceof Error ? e.message : String(e),
      1,
      "Give --target DIR (or SCONE_CLI_CONFIG) with the CLI config of the identity that uploads the vault sessions.",
    );
  }
  const inCluster = `https://${flags.cas.name}.${flags.cas.namespace}:${CAS_CLIENT_PORT}`;
  const address = flags.casAddress ?? inCluster;
  const entry = config.cas_db[address] ?? config.cas_db[inCluster];
  if (!entry)
    throw new CliError(
      `CAS ${address} is not attested in ${flags.configPath}`,
      1,
      "Provision or attest the CAS with this identity first (its CA is pinned from the CLI config); give --cas-address for a port-forward.",
    );
  const cas = new CasClient({ url: address, caCertPem: entry.chain, identity: identityPem(config) });
  const statePath = join(flags.target, `vault-${flags.vaultName}.${flags.namespace}.json`);
  const kube = await KubeClient.load({ kubeconfig: str(a.kubeconfig), context: str(a.context) });

  const loadState = async () => {
    const file = Bun.file(statePath);
    if (!(await file.exists())) return undefined;
    return (await file.json()) as import("../../operator/vault/provision.ts").ProvisionState;
  };

  if (flags.printPublicKeys) {
    const state = await loadState();
    if (!state)
      throw new CliError(`vault ${flags.namespace}/${flags.vaultName} was not provisioned from ${flags.target}`);
    const values = await cas.values(sessions.vaultSessionNames(state.ownerId).initAuto);
    process.stdout.write(`${values.VAULT_CA?.value ?? ""}\n`);
    return;
  }

  let manifestText: string | undefined;
  if (flags.manifestFile) manifestText = await Bun.file(flags.manifestFile).text();
  const vars = (ownerId: string): Record<string, string> => ({
    VAULT_NAME: flags.vaultName,
    NAMESPACE: flags.namespace,
    VAULT_IMAGE_REPO: flags.imageRepo,
    VAULT_IMAGE_TAG: flags.imageTag || DEFAULT_SCONE_SERVICE_VERSION,
    SCONE_CAS_ADDR: `${flags.cas.name}.${flags.cas.namespace}`,
    OWNER_ID: ownerId,
  });
  const result = await provision
    .provisionVault(
      {
        vaultName: flags.vaultName,
        namespace: flags.namespace,
        casName: flags.cas.name,
        casNamespace: flags.cas.namespace,
        mrenclaves: flags.mrenclaves ?? [...sessions.DEFAULT_VAULT_MRENCLAVES],
        manifest: (ownerId) => {
          const v = vars(ownerId);
          if (manifestText) return sessions.manifestWithVariables(manifestText, v);
          return sessions.vaultManifest({
            vaultName: v.VAULT_NAME as string,
            namespace: v.NAMESPACE as string,
            imageRepo: v.VAULT_IMAGE_REPO as string,
            imageTag: v.VAULT_IMAGE_TAG as string,
            casAddress: v.SCONE_CAS_ADDR as string,
            ownerId,
          });
        },
      },
      {
        casStatus: async (namespace, name) => {
          const found = await kube.tryGet<
            { status?: Record<string, unknown> } & import("../../kube/types.ts").KubeObject
          >({
            apiVersion: "services.scone.cloud/v1beta1",
            kind: "CAS",
            namespace,
            name,
          });
          return found
            ? (found.status as import("../../operator/vault/sessions.ts").CasReadiness | undefined)
            : "absent";
        },
        createSession: async (text) => {
          try {
            return await cas.createSession(text);
          } catch (e) {
            if (e instanceof CasConflictError) throw new provision.SessionExistsError(e.message);
            throw e;
          }
        },
        sessionHash: async (name) => (await cas.readSession(name)).hash,
        applyVault: async (manifest) => {
          await kube.apply(manifest as import("../../kube/types.ts").KubeObject, {
            fieldManager: "scone",
            force: true,
          });
        },
        loadState,
        saveState: async (state) => {
          const { writePrivateFile } = await import("../../runtime/private-file.ts");
          await writePrivateFile(statePath, `${JSON.stringify(state, null, 2)}\n`);
        },
      },
      (line) => {
        if (!isData(a.output)) process.stderr.write(`${line}\n`);
      },
    )
    .catch((e: unknown) => {
      if (e instanceof provision.VaultProvisionError) throw new CliError(e.message);
      throw e;
    });
  if (isData(a.output))
    process.stdout.write(renderData(a.output, { vault: flags.vaultName, namespace: flags.namespace, ...result }));
  else
    process.stdout.write(
      `vault ${flags.namespace}/${flags.vaultName}: OWNER_ID ${result.ownerId}, ${result.sessions.length} sessions (${result.sessions.filter((s) => s.created).length} created), Vault applied\n`,
    );
}
