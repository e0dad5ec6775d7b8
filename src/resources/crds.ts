// CustomResourceDefinitions of every scone kind, generated from the typed definitions.
//
// Conversion strategy None, unlike the upstream chart's `strategy: Webhook`: each kind has one version, so the
// API server never has anything to convert, yet a webhook stanza ties the CRD to cert-manager CA injection and a
// webhook Service that must exist — and should a second version ever be served, every read would then depend on
// the operator being up. The strategy is written out (not left to the default) to state it in every apply.

import pkg from "../../package.json" with { type: "json" };
import { apiVersionOf, type PrinterColumn, type ResourceDefinition } from "./definition.ts";
import { resourceDefinitions, SCONE_KINDS, type SconeKind } from "./kinds.ts";
import type { JSONSchemaProps } from "./schema.ts";
import { obj, str, toOpenAPI } from "./schema.ts";

export interface CustomResourceDefinition {
  apiVersion: "apiextensions.k8s.io/v1";
  kind: "CustomResourceDefinition";
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    group: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames?: string[] };
    scope: "Namespaced" | "Cluster";
    conversion: { strategy: "None" };
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      additionalPrinterColumns: PrinterColumn[];
      schema: { openAPIV3Schema: JSONSchemaProps };
      subresources: { status: Record<string, never> };
    }[];
  };
}

/**
 * JSON merge patch for a CRD installed by the upstream chart, to apply before server-side applying ours: SSA
 * cannot drop fields another manager owns, and the API server refuses strategy None next to the leftover
 * conversion webhook settings. Also drops cert-manager's CA injection, which would target the removed webhook.
 */
export const UPSTREAM_CRD_TAKEOVER_PATCH = {
  metadata: { annotations: { "cert-manager.io/inject-ca-from": null } },
  spec: { conversion: { strategy: "None", webhook: null } },
} as const;

/** Label on every CRD scone owns, so the installer and `scone manifests` can find them. */
export const CRD_PART_OF_LABEL = { "app.kubernetes.io/part-of": "scone" } as const;
/**
 * Label naming the scone release whose schemas a CRD holds (package.json's version, as the operator image tag), so
 * `scone version` can tell CRDs older than the client from current ones.
 */
export const CRD_VERSION_LABEL = "app.kubernetes.io/version";

const apiVersionField = str({
  description:
    "APIVersion defines the versioned schema of this representation of an object. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources",
});
const kindField = str({
  description:
    "Kind is a string value representing the REST resource this object represents. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
});

export function crdName(d: Pick<ResourceDefinition, "plural" | "group">): string {
  return `${d.plural}.${d.group}`;
}

/** The whole object's schema: apiVersion, kind, metadata, spec, status. */
export function openAPISchemaOf(d: ResourceDefinition): JSONSchemaProps {
  const root = obj(
    { apiVersion: apiVersionField, kind: kindField, metadata: obj({}), spec: d.spec, status: d.status },
    { description: d.description, ...(d.specRequired && { required: ["spec"] as const }) },
  );
  return toOpenAPI(root);
}

export function crdOf(d: ResourceDefinition): CustomResourceDefinition {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: crdName(d), labels: { ...CRD_PART_OF_LABEL, [CRD_VERSION_LABEL]: pkg.version } },
    spec: {
      group: d.group,
      names: {
        kind: d.kind,
        listKind: d.listKind,
        plural: d.plural,
        singular: d.singular,
        ...(d.shortNames && { shortNames: [...d.shortNames] }),
      },
      scope: d.scope,
      conversion: { strategy: "None" },
      versions: [
        {
          name: d.version,
          served: true,
          storage: true,
          additionalPrinterColumns: d.printerColumns.map((c) => ({ ...c })),
          schema: { openAPIV3Schema: openAPISchemaOf(d) },
          subresources: { status: {} },
        },
      ],
    },
  };
}

/**
 * The CRDs of `kinds` (all by default). Installers may leave Vault out: upstream removed its CRD after 6.0.0 and
 * the upstream 6.x installer refuses to run while vaults.services.scone.cloud exists.
 */
export function renderCrds(kinds: readonly SconeKind[] = SCONE_KINDS): CustomResourceDefinition[] {
  return kinds.map((kind) => crdOf(resourceDefinitions[kind]));
}

/** The CRDs as multi-document YAML (`scone manifests crds`). */
export function renderCrdManifests(kinds: readonly SconeKind[] = SCONE_KINDS): string {
  // Loaded here, not at module top: the CLI's fast paths must not pay for the YAML library.
  const { stringify } = require("yaml") as typeof import("yaml");
  return renderCrds(kinds)
    .map((crd) => `---\n${stringify(crd, { lineWidth: 0, singleQuote: false })}`)
    .join("");
}

export interface SconeResourceType {
  apiVersion: string;
  kind: SconeKind;
  plural: string;
  namespaced: boolean;
}

/** What the kube layer registers: one entry per kind. */
export const sconeResourceTypes: readonly SconeResourceType[] = SCONE_KINDS.map((kind) => {
  const d = resourceDefinitions[kind];
  return { apiVersion: apiVersionOf(d), kind, plural: d.plural, namespaced: d.scope === "Namespaced" };
});
