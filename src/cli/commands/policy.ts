// `scone policy …`: SignedPolicy / EncryptedPolicy documents, made and checked by the SCONE CLI (src/cli/run/policy.ts).
import { command, group, lazyRun } from "../define.ts";
import { checkFile, DOCKER_ARG } from "../globals.ts";
import type { FlagValues, SconeArgsDef } from "../spec.ts";

const policy = () => import("../run/policy.ts");

const fileArgs = {
  file: {
    type: "positional",
    required: false,
    valueHint: "FILE",
    description: "Policy (session) file",
    check: (value: string) => checkFile("filename")(value)?.replace("--filename", "FILE"),
  },
  filename: {
    type: "string",
    alias: "f",
    valueHint: "FILE",
    description: "Policy (session) file, instead of FILE",
    check: checkFile("filename"),
  },
} satisfies SconeArgsDef;

const output: SconeArgsDef[string] = {
  type: "enum",
  alias: "o",
  options: ["text", "json", "yaml"],
  description: "Manifest format: text and yaml print the YAML manifest (default), json the same object as JSON",
};
const target = {
  type: "string",
  valueHint: "DIR",
  description: "The owner's directory: DIR/identity/config.json is the SCONE CLI config used (default: ~/.cas)",
} as const;
const casAddress = {
  type: "string",
  valueHint: "URL",
  description: "CAS client API the policy is for (spec.casAddress), e.g. https://cas.my-ns:8081",
} as const;
const cas = {
  type: "string",
  valueHint: "NAME",
  description:
    "CAS the policy is for, as https://NAME.NAMESPACE:8081 (with -n); without --scone-cli, the SCONE CLI runs in its sconecli pod",
  complete: "cas",
} as const;
const name = {
  type: "string",
  valueHint: "NAME",
  description: "metadata.name (default: from the session name)",
} as const;
const encryptionKey = {
  type: "string",
  valueHint: "HEX",
  description: "Session encryption key of the target CAS (64 hex, scone cas show-identification)",
  check: (value: string) =>
    /^[0-9a-fA-F]{64}$/.test(value)
      ? undefined
      : `invalid value '${value}' for --encryption-key: expected 64 hexadecimal characters`,
} as const;

// The SCONE CLI runs locally (--scone-cli PATH, --no-docker) or in the sconecli pod of --cas (src/cli/run/policy-driver.ts).
const globals = ["namespace", "log-level", "kubeconfig", "context", "state-dir", "scone-cli"] as const;

function oneFile(values: FlagValues): string | undefined {
  const given = [values.file, values.filename].filter((v) => typeof v === "string" && v !== "");
  if (given.length === 0) return "missing the policy file: give FILE or --filename FILE";
  if (given.length > 1) return "give the policy file once: FILE or --filename FILE, not both";
  return undefined;
}

export const policyCommand = group({
  meta: { name: "policy", description: "Sign, encrypt and verify SCONE policies" },
  subCommands: {
    sign: command({
      meta: { name: "sign", description: "Sign a policy with the SCONE CLI and print a SignedPolicy resource" },
      args: { ...fileArgs, target, "cas-address": casAddress, cas, name, output, docker: DOCKER_ARG },
      globals,
      checks: oneFile,
      notes: [
        "Runs `scone session sign FILE` with the owner's CLI config (--target); spec.policy and spec.signatures are the CLI's `session` and `signatures` (SCONE-CLI §6).",
        "Example: scone policy sign session.yaml --scone-cli /opt/scone/bin/rust-cli --cas-address https://cas.my-ns:8081 | kubectl apply -f -",
      ],
      run: lazyRun(async () => ({ run: (await policy()).sign })),
    }),
    encrypt: command({
      meta: {
        name: "encrypt",
        description: "Encrypt a policy with the SCONE CLI and print an EncryptedPolicy resource",
      },
      args: {
        ...fileArgs,
        "encryption-key": encryptionKey,
        target,
        "cas-address": casAddress,
        cas,
        name,
        output,
        docker: DOCKER_ARG,
      },
      globals,
      checks: oneFile,
      notes: [
        "Runs `scone session encrypt FILE` (which signs an unsigned session first) with the owner's CLI config: `--key HEX` with --encryption-key, else `--cas` the CAS Service in the sconecli pod, else the local CLI config's default CAS. spec.policy and spec.encryptionKey are the CLI's `encrypted_session` and `encryption_key` (SCONE-CLI §6).",
        "Example: scone policy encrypt session.yaml --cas cas -n my-ns | kubectl apply -f -",
      ],
      run: lazyRun(async () => ({ run: (await policy()).encrypt })),
    }),
    verify: command({
      meta: { name: "verify", description: "Check that SignedPolicy / EncryptedPolicy manifests are well-formed" },
      args: {
        ...fileArgs,
        target,
        cas: { ...cas, description: "Run the SCONE CLI in the sconecli pod of this CAS (with -n)" },
        "encryption-key": { ...encryptionKey, description: "Also require an EncryptedPolicy to use this key" },
        output: { type: "enum", alias: "o", options: ["text", "json", "yaml"], description: "Output format" },
        docker: DOCKER_ARG,
      },
      globals,
      checks: oneFile,
      notes: [
        "A format check: a SignedPolicy's signed session goes to `scone session check`; an EncryptedPolicy's fields are checked. Whether signatures are valid and trusted is CAS's decision, made when it creates the session.",
        "Exit status 0 when every policy in FILE is well-formed, 1 otherwise.",
      ],
      run: lazyRun(async () => ({ run: (await policy()).verify })),
    }),
  },
});
