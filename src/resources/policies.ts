// SignedPolicy and EncryptedPolicy (cas.scone.cloud/v1beta1): CAS sessions registered by creating the resource.

import { conditions } from "./core-types.ts";
import { ageColumn, type CustomResource, type ResourceDefinition } from "./definition.ts";
import { arr, type Infer, int64, obj, str } from "./schema.ts";

const casAddress = str({ description: "URL of the CAS client API, e.g. https://cas.my-namespace:8081." });

export const signedPolicySpec = obj(
  {
    casAddress,
    policy: str({ description: "The session (policy) YAML exactly as it was signed." }),
    signatures: arr(
      obj(
        {
          signature: str({ description: "Signature over the policy (hex)." }),
          signer: str({ description: "The signer's session signing key (scone self show-session-signing-key)." }),
        },
        { required: ["signature", "signer"] },
      ),
      { description: "Signatures of the policy." },
    ),
  },
  { required: ["casAddress", "policy", "signatures"], description: "A signed CAS session (scone session sign)." },
);
export type SignedPolicySpec = Infer<typeof signedPolicySpec>;

export const encryptedPolicySpec = obj(
  {
    casAddress,
    encryptionKey: str({ description: "Session encryption key of the target CAS (scone cas show-identification)." }),
    policy: str({ description: "The encrypted session, base64 (scone session encrypt)." }),
  },
  {
    required: ["casAddress", "encryptionKey", "policy"],
    description: "An encrypted CAS session (scone session encrypt).",
  },
);
export type EncryptedPolicySpec = Infer<typeof encryptedPolicySpec>;

export const policyStatus = obj(
  {
    conditions: conditions("Conditions describing the registration of the policy."),
    hash: str({ description: "Hash of the session version registered in CAS." }),
    observedGeneration: int64({ minimum: 0, description: "The metadata.generation this status describes." }),
    predecessor: str({ description: "Hash of the session version this one replaced." }),
    revision: str({ description: "Revision of the registered session." }),
    state: str({ description: "State of the registration." }),
  },
  { required: ["hash", "state"], description: "Observed state of a SCONE policy." },
);
export type PolicyStatus = Infer<typeof policyStatus>;

export type SignedPolicy = CustomResource<SignedPolicySpec, PolicyStatus, "SignedPolicy">;
export type EncryptedPolicy = CustomResource<EncryptedPolicySpec, PolicyStatus, "EncryptedPolicy">;

export const signedPolicyDefinition: ResourceDefinition<SignedPolicySpec, PolicyStatus> = {
  group: "cas.scone.cloud",
  version: "v1beta1",
  kind: "SignedPolicy",
  listKind: "SignedPolicyList",
  plural: "signedpolicies",
  singular: "signedpolicy",
  shortNames: ["spol"],
  scope: "Namespaced",
  description: "SignedPolicy registers a signed session in a CAS.",
  spec: signedPolicySpec,
  status: policyStatus,
  printerColumns: [
    { name: "STATE", type: "string", jsonPath: ".status.state" },
    { name: "HASH", type: "string", jsonPath: ".status.hash" },
    ageColumn("AGE"),
  ],
};

export const encryptedPolicyDefinition: ResourceDefinition<EncryptedPolicySpec, PolicyStatus> = {
  group: "cas.scone.cloud",
  version: "v1beta1",
  kind: "EncryptedPolicy",
  listKind: "EncryptedPolicyList",
  plural: "encryptedpolicies",
  singular: "encryptedpolicy",
  shortNames: ["epol"],
  scope: "Namespaced",
  description: "EncryptedPolicy registers an encrypted session in a CAS.",
  spec: encryptedPolicySpec,
  status: policyStatus,
  printerColumns: [{ name: "STATE", type: "string", jsonPath: ".status.state" }, ageColumn("AGE")],
};
