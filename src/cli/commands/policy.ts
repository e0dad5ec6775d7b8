// `scone policy …`: SignedPolicy / EncryptedPolicy documents, prepared locally.
import { command, group, lazyRun } from "../define.ts";
import { checkFile } from "../globals.ts";
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
const identity = {
  type: "string",
  valueHint: "FILE",
  description: "Owner identity, a SCONE CLI config (default: $SCONE_CLI_CONFIG, else ~/.cas/config.json)",
  check: checkFile("identity"),
} as const;
const casAddress = {
  type: "string",
  valueHint: "URL",
  description: "CAS client API the policy is for, e.g. https://cas.my-ns:8081",
} as const;
const cas = {
  type: "string",
  valueHint: "NAME",
  description: "CAS the policy is for, as https://NAME.NAMESPACE:8081 (with -n)",
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

const globals = ["namespace", "log-level"] as const;

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
      meta: { name: "sign", description: "Sign a policy and print a SignedPolicy resource" },
      args: { ...fileArgs, identity, "cas-address": casAddress, cas, name, output },
      globals,
      checks: oneFile,
      notes: [
        "The policy text is signed byte for byte with the identity's session-signing key and kept unchanged in spec.policy.",
        "Example: scone policy sign session.yaml --identity ~/.cas/config.json --cas-address https://cas.my-ns:8081 | kubectl apply -f -",
      ],
      run: lazyRun(async () => ({ run: (await policy()).sign })),
    }),
    encrypt: command({
      meta: { name: "encrypt", description: "Encrypt a policy for a CAS and print an EncryptedPolicy resource" },
      args: {
        ...fileArgs,
        "encryption-key": encryptionKey,
        identity,
        sign: {
          type: "boolean",
          description: "Sign the policy with the identity before encrypting (needed when it names creator.signer)",
        },
        "cas-address": casAddress,
        cas,
        name,
        output,
      },
      globals,
      checks: oneFile,
      notes: [
        "Without --encryption-key, the key is the one the identity recorded when it attested the CAS (cas_db).",
        "Example: scone policy encrypt session.yaml --cas cas -n my-ns --encryption-key <64 hex> | kubectl apply -f -",
      ],
      run: lazyRun(async () => ({ run: (await policy()).encrypt })),
    }),
    verify: command({
      meta: { name: "verify", description: "Check the signature of a SignedPolicy" },
      args: {
        ...fileArgs,
        identity: { ...identity, description: "Also require every signer to be this identity's session-signing key" },
        "encryption-key": { ...encryptionKey, description: "Also require an EncryptedPolicy to use this key" },
        output: { type: "enum", alias: "o", options: ["text", "json", "yaml"], description: "Output format" },
      },
      globals: ["log-level"],
      checks: oneFile,
      notes: ["Exit status 0 when every policy in FILE is valid, 1 otherwise (naming the signer)."],
      run: lazyRun(async () => ({ run: (await policy()).verify })),
    }),
  },
});
