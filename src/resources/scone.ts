// Scone (confidential.security.osc.t-systems.com/v1alpha1, cluster-scoped): one resource that keeps the whole
// SCONE stack (operator, LAS, SGX plugin, an unprovisioned CAS, CAS database backups) installed — the managed
// service's "service operator" interface, folded into scone's operator.

import { conditions } from "./core-types.ts";
import { ageColumn, type CustomResource, type ResourceDefinition, stringMap } from "./definition.ts";
import { SERVICE_VERSION_PATTERN } from "./grammar.ts";
import { bool, enumStr, type Infer, int32, int64, obj, str } from "./schema.ts";

// A SCONE release (6.0.6, 5.9.0-rc.9, 7.0.0-alpha.2): the pattern lives with the other grammars.
export { SERVICE_VERSION_PATTERN };

export const SCONE_PHASES = ["Empty", "Creating", "Running", "Updating", "Error", "Repairing"] as const;
export type SconePhase = (typeof SCONE_PHASES)[number];

/** Reconcile attempts in phase Error before the operator stops and waits for a person. */
export const SCONE_MAX_RETRIES = 5;

export const sconeSpec = obj(
  {
    backup: obj(
      {
        interval: int64({
          default: 14400,
          minimum: 60,
          hint: "a number of seconds, at least 60 (14400 = every 4 hours)",
          description: "Seconds between two CAS database backups.",
        }),
        retention: int32({
          default: 10,
          minimum: 1,
          hint: "a number of days, at least 1",
          description: "Days a backup is kept.",
        }),
        s3Creds: obj(
          {
            namespace: str({ description: "Namespace of the secret." }),
            secret: str({ description: "Name of the secret holding the S3 bucket's credentials." }),
          },
          {
            required: ["namespace", "secret"],
            description:
              "Credentials of an existing S3 bucket, copied into the services namespace. When absent, a bucket is created.",
          },
        ),
      },
      { default: {}, description: "Backups of the CAS database." },
    ),
    managementState: enumStr(["Managed", "Unmanaged"], {
      default: "Managed",
      description:
        "Managed: the operator keeps the stack as specified. Unmanaged: hands off (e.g. during a manual CAS recovery).",
    }),
    operatorNodeSelector: stringMap("Node labels the operator pod must match."),
    serviceNodeSelector: stringMap("Node labels the CAS, LAS, SGX plugin and backup pods must match."),
    serviceVersion: str({
      pattern: SERVICE_VERSION_PATTERN,
      hint: "a SCONE release such as 6.0.6 or 5.9.0-rc.9",
      description: "SCONE version of the services to run.",
    }),
    skipCas: bool({ default: false, description: "No CAS; setting it later removes an installed CAS." }),
  },
  { required: ["serviceVersion"], description: "Desired state of the SCONE stack." },
);
export type SconeSpec = Infer<typeof sconeSpec>;

const phase = (description: string) => enumStr(SCONE_PHASES, { description });

export const sconeStatus = obj(
  {
    conditions: conditions("Conditions describing the state of the stack."),
    deployedSpec: str({ description: "Hash over the spec that was last deployed." }),
    deployedVersion: str({ description: "SCONE version last deployed (differs from spec after an error)." }),
    lastSuccessPhase: phase("The previous phase other than Error."),
    lastUpdate: str({ format: "date-time", description: "Time of the last reconcile." }),
    observedGeneration: int64({ minimum: 0, description: "The metadata.generation last reconciled." }),
    phase: phase(
      "Empty (just created) → Creating → Running; a spec change → Updating → Running; a failure → Error; a change while in Error → Repairing.",
    ),
    retryCount: int32({
      minimum: 0,
      description: `Failed attempts in a row; after ${SCONE_MAX_RETRIES} the operator waits for a change.`,
    }),
  },
  { description: "Observed state of the SCONE stack." },
);
export type SconeStatus = Infer<typeof sconeStatus>;

export type Scone = CustomResource<SconeSpec, SconeStatus, "Scone">;

export const sconeDefinition: ResourceDefinition<SconeSpec, SconeStatus> = {
  group: "confidential.security.osc.t-systems.com",
  version: "v1alpha1",
  kind: "Scone",
  listKind: "SconeList",
  plural: "scones",
  singular: "scone",
  scope: "Cluster",
  description: "Scone is the whole SCONE stack of a cluster: operator, LAS, SGX plugin, CAS and its backups.",
  spec: sconeSpec,
  status: sconeStatus,
  specRequired: true,
  printerColumns: [
    { name: "PHASE", type: "string", jsonPath: ".status.phase", description: "Current phase of the stack" },
    { name: "VERSION", type: "string", jsonPath: ".status.deployedVersion", description: "Deployed SCONE version" },
    { name: "MANAGED", type: "string", jsonPath: ".spec.managementState", description: "Managed or Unmanaged" },
    ageColumn("AGE"),
    {
      name: "DESIRED",
      type: "string",
      jsonPath: ".spec.serviceVersion",
      description: "SCONE version asked for",
      priority: 1,
    },
  ],
};
