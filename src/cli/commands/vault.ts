// `scone vault provision`: the deprecated SCONE Vault flow (upstream ≤ 6.0.0), kept for the plugin syntax.
import { command, group, lazyRun } from "../define.ts";
import { checkImagePrefix, checkVersion } from "../globals.ts";

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
          description: "CAS client API to upload the sessions to, e.g. a port-forward (default: https://NAME.NS:8081)",
        },
        mrenclave: {
          type: "string",
          valueHint: "HEX[,HEX]",
          description: "MRENCLAVEs of the vault images for the vault sessions",
        },
        "vault-client": { type: "boolean", description: "Upload the client policy" },
        verify: { type: "boolean", description: "Verify the vault" },
        "print-public-keys": { type: "boolean", description: "Print the vault CA" },
        "local-backup": { type: "boolean", description: "Copy the vault data to the local directory" },
        target: { type: "string", valueHint: "DIR", description: "Directory for identities (default: ~/.cas)" },
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
        verbose: { type: "boolean", alias: "v", description: "Verbose output" },
        debug: { type: "boolean", description: "Debug output" },
      },
      notes: [
        "Needs a provisioned, HEALTHY CAS. The vault sessions are reconstructions of upstream's (not public): see src/operator/vault/sessions.ts.",
        "--verify, --local-backup and --vault-client are not implemented yet.",
      ],
      run: lazyRun(() => import("../run/vault.ts")),
    }),
  },
});
