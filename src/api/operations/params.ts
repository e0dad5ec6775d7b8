// The body of POST /api/v1/operations: one shape per kind, strict (an unknown field is a 400 naming it), with no
// secret values — operations are stored in clear, so secrets are passed as references to Kubernetes Secrets.
import { z } from "@hono/zod-openapi";
import {
  dataKey,
  dnsSubdomain,
  type Grammar,
  imageRegistry,
  sconeVersion as versionGrammar,
} from "../../resources/grammar.ts";
import type { OperationKind } from "../../store/schema.ts";
import { namespaceField } from "../schemas.ts";

/** A string valid by `grammar` (resources/grammar.ts, the same checks as the CLI's flags); the 400 says what is valid. */
const grammatical = (grammar: Grammar) =>
  z.string().superRefine((value, ctx) => {
    const problem = grammar(value);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

/** A CAS name: a DNS label of at most 15 characters (upstream's limit, the name ends up in SGX-bound identifiers). */
const casName = z
  .string()
  .regex(
    /^[a-z]([-a-z0-9]{0,13}[a-z0-9])?$/,
    "a CAS name is a DNS label of at most 15 characters starting with a letter",
  )
  .openapi({ example: "cas" });
const sconeVersion = grammatical(versionGrammar).openapi({ example: "6.0.6" });
const secretKeyRef = z
  .strictObject({ name: grammatical(dnsSubdomain), key: grammatical(dataKey) })
  .openapi({ description: "A key of a Secret in the operation's namespace (never another namespace)" });

export const ProvisionParams = z.strictObject({
  version: sconeVersion.optional().openapi({ description: "SCONE version of the CAS images" }),
  imageRegistry: grammatical(imageRegistry).optional().openapi({
    description: "Registry of the CAS images, HOST[:PORT][/PATH] (default registry.scontain.com/scone.cloud)",
    example: "mirror.example.com:5000/scone",
  }),
  nonce: z
    .string()
    .regex(/^[0-9A-Fa-f]{32}$/, "32 hex characters")
    .optional(),
  backup: z.boolean().default(true).openapi({ description: "Enable the backup controller" }),
  webhook: z
    .url({ protocol: /^https?$/ })
    .optional()
    .openapi({ description: "Send the audit log to this URL" }),
  dcapKeyRef: secretKeyRef.optional().openapi({ description: "Secret key holding the Intel DCAP/PCS API key" }),
});
export const UpgradeParams = z.strictObject({
  to: sconeVersion.openapi({ description: "Target SCONE version" }),
  force: z.boolean().default(false).openapi({ description: "Upgrade even an unhealthy CAS" }),
  backupMrenclave: z
    .string()
    .regex(/^[0-9a-f]{64}$/, "64 lower-case hex digits")
    .optional()
    .openapi({
      description:
        "MRENCLAVE of the SCONE CLI in the new backup-controller image; the backup policy is updated to admit it (needs a CAS provisioned through this API)",
    }),
});
export const BackupParams = z.strictObject({
  target: z
    .string()
    .min(1)
    .max(1024)
    .regex(/^(s3:\/\/|\/)/, "an absolute directory on the API's host or an s3://bucket/prefix URL")
    .optional()
    .openapi({
      description:
        "Absolute directory on the API's host or s3://bucket/prefix (credentials: the API's AWS_* variables); default <state-dir>/backups",
    }),
});
export const RestoreParams = z.strictObject({
  // A catalog id only: a directory or URL would let a caller make the API read any path it can.
  from: z
    .string()
    .regex(/^bk-[0-9a-z-]{1,124}$/, "a backup id (bk-…) from GET /api/v1/backups")
    .openapi({ description: "Backup id from GET /api/v1/backups" }),
});
export const EvictParams = z.strictObject({
  node: grammatical(dnsSubdomain).optional().openapi({ description: "Node to move away from (default: current)" }),
});

const target = <K extends OperationKind>(kind: K, nameDescription: string) => ({
  namespace: namespaceField,
  name: casName.openapi({ description: nameDescription }),
  kind: z.literal(kind),
});

export const NewOperationSchema = z
  .discriminatedUnion("kind", [
    z.strictObject({
      ...target("provision", "CAS to create and provision"),
      params: ProvisionParams.default({ backup: true }),
    }),
    z.strictObject({ ...target("upgrade", "CAS to upgrade"), params: UpgradeParams }),
    z.strictObject({ ...target("backup", "CAS to back up"), params: BackupParams.default({}) }),
    z.strictObject({ ...target("restore", "New CAS created from the backup"), params: RestoreParams }),
    z.strictObject({ ...target("evict", "CAS to move"), params: EvictParams.default({}) }),
  ])
  .openapi("NewOperation");
export type NewOperationBody = z.infer<typeof NewOperationSchema>;
