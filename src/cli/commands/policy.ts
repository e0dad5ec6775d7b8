// `scone policy …`: SignedPolicy / EncryptedPolicy documents, prepared locally.
import { command, group } from "../define.ts";
import { checkFile } from "../globals.ts";
import { TRACKING_ISSUE } from "../issues.ts";
import { notImplemented } from "../spec.ts";

const file = {
  type: "string",
  alias: "f",
  required: true,
  valueHint: "FILE",
  description: "Policy (session) file",
  check: checkFile("filename"),
} as const;
const globals = ["kubeconfig", "context", "namespace", "state-dir", "log-level", "output"] as const;

export const policyCommand = group({
  meta: { name: "policy", description: "Sign, encrypt and verify SCONE policies" },
  subCommands: {
    sign: command({
      meta: { name: "sign", description: "Sign a policy and print a SignedPolicy resource" },
      args: {
        filename: file,
        cas: { type: "string", valueHint: "NAME", description: "CAS the policy is for (default: cas)" },
        identity: {
          type: "string",
          valueHint: "FILE",
          description: "Signing identity (default: the owner identity in --state-dir)",
        },
      },
      globals,
      run: notImplemented(TRACKING_ISSUE.policies),
    }),
    encrypt: command({
      meta: { name: "encrypt", description: "Encrypt a policy for a CAS and print an EncryptedPolicy resource" },
      args: {
        filename: file,
        cas: {
          type: "string",
          valueHint: "NAME",
          description: "CAS whose session encryption key is used (default: cas)",
        },
      },
      globals,
      run: notImplemented(TRACKING_ISSUE.policies),
    }),
    verify: command({
      meta: { name: "verify", description: "Check the signature of a SignedPolicy" },
      args: { filename: file },
      globals,
      run: notImplemented(TRACKING_ISSUE.policies),
    }),
  },
});
