// `scone vault provision NAME -n NS --cas CAS[.NS]`: flags → the vault flow (src/flows/vault/provision.ts) over
// the cluster (the CAS status, the Vault resource), the CAS — only through the CAS driver (src/cas/driver: the SCONE
// CLI in the sconecli pod of the CAS, or --scone-cli PATH), as the owner in `<target>/identity/config.json` (what
// scone cas provision and upstream's plugin leave there, SCONE-INTERFACE §10.3) — and a state file under --target
// (OWNER_ID and the sessions' hashes, 0600).
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { dnsLabel, grammarProblem } from "../../resources/grammar.ts";
import { openKube, textFlag } from "../flags.ts";
import { isData, renderData } from "../output.ts";
import { CliError, EXIT_USAGE, type SconeContext } from "../spec.ts";

const DEFAULT_IMAGE_REPO = "registry.scontain.com/scone.cloud";

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
  /** The owner's directory (`--target`, default ~/.cas): identity/config.json is the owner's CLI config. */
  readonly target: string;
  readonly imageRepo: string;
  readonly imageTag: string;
  readonly manifestFile: string | undefined;
  readonly mrenclaves: string[] | undefined;
  readonly printPublicKeys: boolean;
}

export function vaultFlags(a: Record<string, unknown>): VaultFlags {
  const vaultName = textFlag(a.name);
  if (!vaultName) throw new CliError("missing vault NAME", EXIT_USAGE, "scone vault provision NAME -n NAMESPACE");
  const nameProblem = grammarProblem("vault NAME", vaultName, dnsLabel());
  if (nameProblem) throw new CliError(nameProblem, EXIT_USAGE);
  const namespace = textFlag(a.namespace) ?? "default";
  const target = textFlag(a.target) ?? join(homedir(), ".cas");
  const manifestFile = textFlag(a.filename);
  if (manifestFile && /^https?:\/\//.test(manifestFile))
    throw new CliError(`-f ${manifestFile}: give a local file (manifests are not downloaded)`, EXIT_USAGE);
  const mrenclaves = textFlag(a.mrenclave)
    ?.split(",")
    .map((m) => m.trim());
  for (const m of mrenclaves ?? [])
    if (!/^[0-9a-f]{64}$/.test(m))
      throw new CliError(`invalid value '${m}' for --mrenclave: expected 64 lower-case hex characters`, EXIT_USAGE);
  return {
    vaultName,
    namespace,
    cas: parseCasFlag(textFlag(a.cas), namespace),
    target,
    imageRepo: `${(textFlag(a["image-registry"]) ?? DEFAULT_IMAGE_REPO).replace(/\/+$/, "")}/${textFlag(a["image-prefix"]) ?? ""}vault`,
    imageTag: textFlag(a["set-version"]) ?? "",
    manifestFile,
    mrenclaves,
    printPublicKeys: a["print-public-keys"] === true,
  };
}

export async function run(ctx: SconeContext): Promise<void> {
  const a = ctx.args;
  const flags = vaultFlags(a);
  const [{ openOwnerClient }, { cliCasDriverSource }, provision, sessions, { DEFAULT_SCONE_SERVICE_VERSION }] =
    await Promise.all([
      import("../../flows/provision/flow.ts"),
      import("./cas-driver.ts"),
      import("../../flows/vault/provision.ts"),
      import("../../flows/vault/sessions.ts"),
      import("../../version.ts"),
    ]);
  const statePath = join(flags.target, `vault-${flags.vaultName}.${flags.namespace}.json`);
  const kube = await openKube(a);
  const casLabel = `${flags.cas.namespace}/${flags.cas.name}`;

  const loadState = async () => {
    const file = Bun.file(statePath);
    if (!(await file.exists())) return undefined;
    return (await file.json()) as import("../../flows/vault/provision.ts").ProvisionState;
  };

  // The owner's connection to the CAS through the CAS driver, opened once, on first use (after the CAS's status was
  // checked): attested, and provisioned — the checks of `scone cas provision --postprovision-only`.
  type Owner = Awaited<ReturnType<typeof openOwnerClient>>;
  let owner: Promise<Owner> | undefined;
  const openOwner = (): Promise<Owner> => {
    owner ??= cliCasDriverSource(a, kube).then((casSource) =>
      openOwnerClient(
        kube,
        { name: flags.cas.name, namespace: flags.cas.namespace, target: flags.target },
        { casSource },
      ).catch((e: unknown) => {
        throw new CliError(
          `CAS ${casLabel}: ${e instanceof Error ? e.message : String(e)}`,
          1,
          `The vault sessions are uploaded as the CAS owner: give --target DIR with the identity/config.json that provisioned CAS ${casLabel}.`,
        );
      }),
    );
    return owner;
  };
  const closeOwner = async () => {
    const opened = await owner?.catch(() => undefined);
    await opened?.close();
  };

  try {
    if (flags.printPublicKeys) {
      const state = await loadState();
      if (!state)
        throw new CliError(`vault ${flags.namespace}/${flags.vaultName} was not provisioned from ${flags.target}`);
      const session = sessions.vaultSessionNames(state.ownerId).initAuto;
      const values = await readVaultPublicValues(kube, flags.cas, await openOwner(), session);
      const ca = values.VAULT_CA?.value;
      if (!ca) throw new CliError(`session ${session} on CAS ${casLabel} has no public value VAULT_CA`);
      process.stdout.write(`${ca}\n`);
      return;
    }
    await provisionWithDriver();
  } finally {
    await closeOwner();
  }

  async function provisionWithDriver(): Promise<void> {
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
            >({ apiVersion: "services.scone.cloud/v1beta1", kind: "CAS", namespace, name });
            return found
              ? (found.status as import("../../flows/vault/sessions.ts").CasReadiness | undefined)
              : "absent";
          },
          // session read, then create or update (predecessor from the CLI's hash of the active version): the CLI's
          // documented commands (SCONE-CLI.md §3), through the owner's connection.
          uploadSession: async (name, text) => (await openOwner()).client.uploadSession(name, text),
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
    else {
      const count = (action: string) => result.sessions.filter((s) => s.action === action).length;
      process.stdout.write(
        `vault ${flags.namespace}/${flags.vaultName}: OWNER_ID ${result.ownerId}, ${result.sessions.length} sessions (${count("created")} created, ${count("updated")} updated), Vault applied\n`,
      );
    }
  }
}

/**
 * The public values of `session` (upstream's --print-public-keys: `.values.VAULT_CA.value`, §10.5) over the one
 * documented REST read (src/cas/public-values.ts, SCONE-INTERFACE §12.1 [V]), through a port-forward to the CAS's
 * client port — as upstream does — with TLS pinned to the chain the SCONE CLI recorded when it attested the CAS
 * for this run (the owner's connection).
 */
async function readVaultPublicValues(
  kube: import("../../kube/client.ts").KubeClient,
  cas: { name: string; namespace: string },
  owner: { address: string; configPath: string },
  session: string,
) {
  const [{ pinnedChain, readPublicValues }, { startPortForward }, { CAS_CLIENT_PORT }] = await Promise.all([
    import("../../cas/public-values.ts"),
    import("../../kube/port-forward.ts"),
    import("../../cas/driver/reach.ts"),
  ]);
  const chainPem = pinnedChain(await readFile(owner.configPath, "utf8"), owner.address, owner.configPath);
  const resource = await kube.get<import("../../resources/cas.ts").CAS>({
    apiVersion: "services.scone.cloud/v1beta1",
    kind: "CAS",
    ...cas,
  });
  const forward = await startPortForward(kube.transport.connection, {
    namespace: cas.namespace,
    pod: `${cas.name}-0`,
    port: resource.spec?.service?.clientPort ?? CAS_CLIENT_PORT,
  });
  try {
    // upstream's owner config lists `localhost` among the CAS certificate's names (§10.2 step 9).
    return await readPublicValues({
      baseUrl: `https://127.0.0.1:${forward.localPort}`,
      serverName: "localhost",
      chainPem,
      session,
    });
  } finally {
    await forward.close();
  }
}
