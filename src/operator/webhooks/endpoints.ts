// The admission webhooks scone serves: upstream's six (kubebuilder names and paths, SCONE-INTERFACE §1), the data
// both the webhook server (routing) and the install manifests (webhook configurations) are made from.
//
// Which kinds get webhooks: CAS, LAS and SGXPlugin, like upstream. SignedPolicy and EncryptedPolicy have none
// upstream, and scone keeps it so: the CRD schema checks their shape, and the policy controller reports CAS-side
// problems in status (a webhook could not check them without calling CAS on every write). Vault is deprecated and
// its CRD gone after 6.0.0; the Scone stack kind is validated by its schema and reconciler. Fewer webhooks also
// means fewer writes blocked while the operator is down (failurePolicy Fail).

export type WebhookKind = "CAS" | "LAS" | "SGXPlugin";

export interface WebhookEndpoint {
  /** Webhook name inside the configuration (kubebuilder style, e.g. mlas.kb.io). */
  readonly name: string;
  readonly type: "mutating" | "validating";
  readonly path: string;
  readonly kind: WebhookKind;
  readonly group: string;
  readonly version: string;
  readonly resource: string;
}

interface KindInfo {
  readonly kind: WebhookKind;
  readonly group: string;
  readonly resource: string;
  readonly short: string;
}

const KINDS: readonly KindInfo[] = [
  { kind: "LAS", group: "base.scone.cloud", resource: "las", short: "las" },
  { kind: "SGXPlugin", group: "base.scone.cloud", resource: "sgxplugins", short: "sgxplugin" },
  { kind: "CAS", group: "services.scone.cloud", resource: "cas", short: "cas" },
];

const VERSION = "v1beta1";

const pathOf = (type: "mutate" | "validate", k: KindInfo): string =>
  `/${type}-${k.group.replaceAll(".", "-")}-${VERSION}-${k.short}`;

/** One endpoint per kind; names and paths as upstream's kubebuilder markers spell them (m…/v…, mutate-/validate-). */
const endpointsOf = (
  type: WebhookEndpoint["type"],
  namePrefix: "m" | "v",
  pathType: "mutate" | "validate",
): readonly WebhookEndpoint[] =>
  KINDS.map((k) => ({
    name: `${namePrefix}${k.short}.kb.io`,
    type,
    path: pathOf(pathType, k),
    kind: k.kind,
    group: k.group,
    version: VERSION,
    resource: k.resource,
  }));

export const MUTATING_ENDPOINTS = endpointsOf("mutating", "m", "mutate");
export const VALIDATING_ENDPOINTS = endpointsOf("validating", "v", "validate");

export const WEBHOOK_ENDPOINTS: readonly WebhookEndpoint[] = [...MUTATING_ENDPOINTS, ...VALIDATING_ENDPOINTS];

export function endpointForPath(path: string): WebhookEndpoint | undefined {
  return WEBHOOK_ENDPOINTS.find((e) => e.path === path);
}
