// The two policy kinds as the one reconciler (reconciler.ts) sees them: their type, their validity condition, the
// operator's checks (plan.ts prepare*), the submission (submit.ts) and the history's words for a registration.
import type { CasTarget } from "../../cas/driver/commands.ts";
import type { CasDriver } from "../../cas/driver/driver.ts";
import type { TypeRef } from "../../kube/types.ts";
import { apiVersionOf } from "../../resources/definition.ts";
import {
  type EncryptedPolicy,
  encryptedPolicyDefinition,
  type SignedPolicy,
  signedPolicyDefinition,
} from "../../resources/policies.ts";
import { POLICY_CONDITION } from "../../resources/policy-conditions.ts";
import { type AnyPolicy, type Prepared, prepareEncrypted, prepareSigned, type SignedHeader } from "./plan.ts";
import type { PolicyOutcome, ValidityCondition } from "./status.ts";
import { submitEncryptedPolicy, submitSignedPolicy } from "./submit.ts";

export const SIGNED_POLICY_TYPE = {
  apiVersion: apiVersionOf(signedPolicyDefinition),
  kind: "SignedPolicy",
} as const satisfies TypeRef;
export const ENCRYPTED_POLICY_TYPE = {
  apiVersion: apiVersionOf(encryptedPolicyDefinition),
  kind: "EncryptedPolicy",
} as const satisfies TypeRef;

type Spec<P extends AnyPolicy> = NonNullable<P["spec"]>;
type Registered = PolicyOutcome & { kind: "synced" };

export interface PolicyKind<P extends AnyPolicy, H> {
  readonly type: TypeRef & { readonly kind: P["kind"] };
  /** The controller's name (metrics, history). */
  readonly controller: string;
  readonly validity: ValidityCondition;
  /** The operator's checks: what to submit, or why not (nothing is sent then). */
  readonly prepare: (spec: Spec<P>) => Prepared<H>;
  /** Through the driver, as the operator; the CAS verifies and decides. */
  readonly submit: (driver: CasDriver, target: CasTarget, spec: Spec<P>, header: H) => Promise<PolicyOutcome>;
  /** What the reconcile did, for the history. */
  readonly registered: (outcome: Registered, header: H) => string;
}

export const SIGNED_POLICY: PolicyKind<SignedPolicy, SignedHeader> = {
  type: SIGNED_POLICY_TYPE,
  controller: "signedpolicy",
  validity: POLICY_CONDITION.SignatureValid,
  prepare: prepareSigned,
  submit: submitSignedPolicy,
  registered: (outcome, header) => `${outcome.action.toLowerCase()} session ${header.sessionName}`,
};

export const ENCRYPTED_POLICY: PolicyKind<EncryptedPolicy, undefined> = {
  type: ENCRYPTED_POLICY_TYPE,
  controller: "encryptedpolicy",
  validity: POLICY_CONDITION.EncryptionKeyValid,
  prepare: prepareEncrypted,
  submit: (driver, target, spec) => submitEncryptedPolicy(driver, target, spec),
  registered: (outcome) => `upload encrypted session ${outcome.hash}`,
};
