// The registry of every kind scone serves: the upstream SCONE kinds plus the Scone stack kind.

import { type CAS, casDefinition } from "./cas.ts";
import type { ResourceDefinition } from "./definition.ts";
import { type LAS, lasDefinition } from "./las.ts";
import {
  type EncryptedPolicy,
  encryptedPolicyDefinition,
  type SignedPolicy,
  signedPolicyDefinition,
} from "./policies.ts";
import { type Scone, sconeDefinition } from "./scone.ts";
import { type SGXPlugin, sgxPluginDefinition } from "./sgx-plugin.ts";
import { type Vault, vaultDefinition } from "./vault.ts";

export interface SconeResourceByKind {
  CAS: CAS;
  LAS: LAS;
  SGXPlugin: SGXPlugin;
  SignedPolicy: SignedPolicy;
  EncryptedPolicy: EncryptedPolicy;
  Vault: Vault;
  Scone: Scone;
}
export type SconeKind = keyof SconeResourceByKind;

export const resourceDefinitions: { readonly [K in SconeKind]: ResourceDefinition } = {
  CAS: casDefinition,
  LAS: lasDefinition,
  SGXPlugin: sgxPluginDefinition,
  SignedPolicy: signedPolicyDefinition,
  EncryptedPolicy: encryptedPolicyDefinition,
  Vault: vaultDefinition,
  Scone: sconeDefinition,
};

export const SCONE_KINDS = Object.keys(resourceDefinitions) as SconeKind[];

export function isSconeKind(kind: string): kind is SconeKind {
  return Object.hasOwn(resourceDefinitions, kind);
}
