// `scone vault provision`: the deprecated SCONE Vault flow (upstream ≤ 6.0.0), kept for the plugin syntax.
import { command, group, lazyRun } from "../define.ts";
import { ALL_GLOBALS, checkImagePrefix, checkVersion, DOCKER_ARG } from "../globals.ts";
import type { FlagValues } from "../spec.ts";

/**
 * Upstream's vault modes whose behaviour its documentation does not give (SCONE-INTERFACE §10.5): each is refused
 * before anything runs, saying what is unknown and what the user can do instead. scone does not guess a policy, a
 * verifier or a file layout that a vault's security depends on.
 */
export const UNDOCUMENTED_VAULT_MODES: Readonly<Record<"verify" | "local-backup" | "vault-client", string>> = {
  verify:
    "--verify is refused: upstream runs a pod vault-verifier-<vault>-<namespace> that decrypts the Vault's .status.initStatement, but does not document that pod's image, command, or the key it decrypts with, so scone cannot do the same check; read the statement with kubectl get vault NAME -n NS -o jsonpath='{.status.initStatement}' and decrypt it with the owner's key",
  "local-backup":
    "--local-backup is refused: upstream copies /mnt/vault/data from pod <vault>-0 (container vault), but does not document where the copy goes locally or in which form, so scone cannot produce the same backup; copy it with kubectl cp NS/NAME-0:/mnt/vault/data ./vault-data -c vault",
  "vault-client":
    "--vault-client is refused: upstream uploads a vault client policy (session) to CAS, but that policy's content is not published, so scone cannot upload the same one; create your client session with scone session create (or your own policy file)",
};

/**
 * Flags that would do nothing in scone: the CAS driver source gives the address the SCONE CLI uses (the CAS Service
 * from the sconecli pod, or a port-forward with --scone-cli), so a CAS URL has nowhere to go.
 */
export const MOOT_VAULT_FLAGS: Readonly<Record<"cas-address", string>> = {
  "cas-address":
    "--cas-address is refused: scone reaches the CAS through the SCONE CLI, by the CAS Service from the sconecli pod of the CAS, or through a port-forward with --scone-cli PATH; leave it out",
};

/** The refusal for the first undocumented vault mode or moot flag given, or undefined. */
export function vaultModeChecks(values: FlagValues): string | undefined {
  for (const [flag, message] of Object.entries(UNDOCUMENTED_VAULT_MODES)) if (values[flag] === true) return message;
  for (const [flag, message] of Object.entries(MOOT_VAULT_FLAGS)) if (values[flag] !== undefined) return message;
  return undefined;
}

export const vaultCommand = group({
  meta: { name: "vault", description: "Provision a SCONE Vault (deprecated upstream after 6.0.0)" },
  subCommands: {
    provision: command({
      meta: { name: "provision", description: "Provision a Vault on a provisioned CAS" },
      args: {
        name: { type: "positional", valueHint: "NAME", description: "Vault name" },
        cas: {
          type: "string",
          valueHint: "NAME[.NS]",
          description: "CAS used by the vault (default: cas in the vault's namespace)",
        },
        "cas-address": {
          type: "string",
          valueHint: "URL",
          description:
            "Refused: the SCONE CLI reaches the CAS by its Service (sconecli pod) or a port-forward (--scone-cli)",
        },
        mrenclave: {
          type: "string",
          valueHint: "HEX[,HEX]",
          description: "MRENCLAVEs of the vault images for the vault sessions",
        },
        "vault-client": {
          type: "boolean",
          description: "Upstream: upload the client policy (refused: not documented)",
        },
        verify: {
          type: "boolean",
          description: "Upstream: verify the vault's init statement (refused: not documented)",
        },
        "print-public-keys": {
          type: "boolean",
          description: "Print the vault CA (the public value VAULT_CA of session vault-init-auto-OWNER_ID)",
        },
        "local-backup": {
          type: "boolean",
          description: "Upstream: copy the vault data to a local directory (refused: not documented)",
        },
        target: {
          type: "string",
          valueHint: "DIR",
          description: "The owner's directory: identity/config.json as scone cas provision wrote it (default: ~/.cas)",
        },
        "set-version": {
          type: "string",
          valueHint: "VERSION",
          description: "SCONE version (vault image tag)",
          check: checkVersion("set-version"),
        },
        "image-registry": { type: "string", valueHint: "URL", description: "Image repository" },
        "image-prefix": {
          type: "string",
          valueHint: "PREFIX",
          description: "Prefix of the image name in the registry, e.g. 'osc-' (the image is REGISTRY/PREFIXvault)",
          check: checkImagePrefix("image-prefix"),
        },
        "manifests-dir": {
          type: "string",
          valueHint: "DIR|URL",
          description: "Base location of the default manifests",
          upstream: { note: "scone has the vault manifest and sessions built in; -f FILE replaces the manifest" },
        },
        filename: {
          type: "string",
          alias: "f",
          valueHint: "FILE",
          description: "Replace the vault manifest ($VAULT_NAME, $NAMESPACE, $OWNER_ID … are filled in)",
        },
        docker: DOCKER_ARG,
        verbose: { type: "boolean", alias: "v", description: "Verbose output" },
        debug: { type: "boolean", description: "Debug output" },
      },
      // The CAS is reached through the CAS driver: the sconecli pod, or a local SCONE CLI (src/cli/run/cas-driver.ts).
      globals: [...ALL_GLOBALS, "scone-cli"],
      notes: [
        "Needs a provisioned, HEALTHY CAS and its owner's identity (--target, as scone cas provision left it). The vault sessions are reconstructions of upstream's (not public): see src/flows/vault/sessions.ts.",
        "The sessions go to CAS through the SCONE CLI (the sconecli pod of the CAS, or --scone-cli PATH / --no-docker); a rerun creates or changes nothing that is in place.",
        "--verify, --local-backup and --vault-client are refused (exit 2): upstream does not document what they do in enough detail to do the same.",
      ],
      checks: vaultModeChecks,
      run: lazyRun(() => import("../run/vault.ts")),
    }),
  },
});
