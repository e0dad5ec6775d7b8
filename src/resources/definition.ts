// The shape of one resource kind's definition: API identity, printer columns and the spec/status schemas
// from which the CRD, the TypeScript types, defaulting and validation are all derived.

import type { V1ObjectMeta } from "@kubernetes/client-node";
import { map, type Schema, str } from "./schema.ts";

export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface ResourceDefinition<Spec = unknown, Status = unknown> {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames?: readonly string[];
  scope: "Namespaced" | "Cluster";
  /** Description of the whole object (openAPIV3Schema.description). */
  description: string;
  spec: Schema<Spec>;
  status: Schema<Status>;
  /** Whether `spec` itself must be present (upstream kinds: no; Scone: yes). */
  specRequired?: boolean;
  printerColumns: readonly PrinterColumn[];
}

/** A custom resource of a definition: the usual envelope around its spec and status. */
export interface CustomResource<Spec, Status, Kind extends string = string> {
  apiVersion: string;
  kind: Kind;
  metadata: V1ObjectMeta;
  spec?: Spec;
  status?: Status;
}

export const apiVersionOf = (d: Pick<ResourceDefinition, "group" | "version">): string => `${d.group}/${d.version}`;

export const ageColumn = (name: string): PrinterColumn => ({
  name,
  type: "date",
  jsonPath: ".metadata.creationTimestamp",
});

/** map[string]string, as used for node selectors, annotations and labels. */
export const stringMap = (description: string) => map(str(), { description });
