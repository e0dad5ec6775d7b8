// A small typed builder for OpenAPI v3 (Kubernetes structural) schemas. One definition yields both the
// TypeScript type (`Infer<typeof x>`) and the CRD schema (`toOpenAPI(x)`), so the two cannot drift apart.
// Validation and defaulting walk the same tree (src/resources/validation.ts).

/** The wire form of apiextensions.k8s.io/v1 JSONSchemaProps, restricted to what our CRDs use. */
export interface JSONSchemaProps {
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  description?: string;
  properties?: Record<string, JSONSchemaProps>;
  required?: string[];
  items?: JSONSchemaProps;
  additionalProperties?: JSONSchemaProps;
  anyOf?: JSONSchemaProps[];
  enum?: (string | number | boolean)[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  format?: string;
  default?: unknown;
  nullable?: boolean;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-map-type"?: "atomic" | "granular";
}

/** Keywords of a node other than its children (children stay typed schema nodes). */
export type SchemaKeywords = Omit<JSONSchemaProps, "properties" | "items" | "additionalProperties">;

/**
 * A schema node. `T` is a phantom: it exists only for the type checker (`Infer`).
 * `hint` completes validation messages with the fix ("32 hexadecimal characters, e.g. …"); it is not rendered.
 */
export interface Schema<T> {
  readonly keywords: Readonly<SchemaKeywords>;
  readonly properties?: Readonly<Record<string, Schema<unknown>>>;
  readonly items?: Schema<unknown>;
  readonly additionalProperties?: Schema<unknown>;
  readonly hint?: string;
  readonly __type?: T;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** Options every builder takes. */
export interface CommonOptions<T> {
  description?: string;
  default?: T;
  nullable?: boolean;
  hint?: string;
}

function node<T>(keywords: SchemaKeywords, opts: CommonOptions<unknown> | undefined): Schema<T> {
  const k: SchemaKeywords = { ...keywords };
  if (opts?.description !== undefined) k.description = opts.description;
  if (opts?.default !== undefined) k.default = opts.default;
  if (opts?.nullable) k.nullable = true;
  return opts?.hint === undefined ? { keywords: k } : { keywords: k, hint: opts.hint };
}

export interface StringOptions<T extends string = string> extends CommonOptions<T> {
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  format?: "date-time" | "date" | "duration" | "byte" | "uri" | "email" | "hostname";
}

export function str(opts?: StringOptions): Schema<string> {
  return node(
    {
      type: "string",
      ...(opts?.format !== undefined && { format: opts.format }),
      ...(opts?.pattern !== undefined && { pattern: opts.pattern }),
      ...(opts?.minLength !== undefined && { minLength: opts.minLength }),
      ...(opts?.maxLength !== undefined && { maxLength: opts.maxLength }),
    },
    opts,
  );
}

/** A string restricted to a fixed set of values; the type is their union. */
export function enumStr<const V extends readonly string[]>(
  values: V,
  opts?: CommonOptions<V[number]>,
): Schema<V[number]> {
  return node({ type: "string", enum: [...values] }, opts);
}

export interface IntegerOptions extends CommonOptions<number> {
  format?: "int32" | "int64";
  minimum?: number;
  maximum?: number;
}

export function int(opts?: IntegerOptions): Schema<number> {
  return node(
    {
      type: "integer",
      ...(opts?.format !== undefined && { format: opts.format }),
      ...(opts?.minimum !== undefined && { minimum: opts.minimum }),
      ...(opts?.maximum !== undefined && { maximum: opts.maximum }),
    },
    opts,
  );
}

export const int32 = (opts?: Omit<IntegerOptions, "format">): Schema<number> => int({ ...opts, format: "int32" });
export const int64 = (opts?: Omit<IntegerOptions, "format">): Schema<number> => int({ ...opts, format: "int64" });

export function bool(opts?: CommonOptions<boolean>): Schema<boolean> {
  return node({ type: "boolean" }, opts);
}

/** x-kubernetes-int-or-string (ports, quantities): an integer or a string; `pattern` applies to strings. */
export function intOrString(opts?: CommonOptions<number | string> & { pattern?: string }): Schema<number | string> {
  return node(
    {
      anyOf: [{ type: "integer" }, { type: "string" }],
      ...(opts?.pattern !== undefined && { pattern: opts.pattern }),
      "x-kubernetes-int-or-string": true,
    },
    opts,
  );
}

export interface ArrayOptions<T> extends CommonOptions<T[]> {
  listType?: "atomic" | "set" | "map";
  listMapKeys?: readonly string[];
  minItems?: number;
  maxItems?: number;
}

export function arr<S extends Schema<unknown>>(items: S, opts?: ArrayOptions<Infer<S>>): Schema<Infer<S>[]> {
  const s = node<Infer<S>[]>(
    {
      type: "array",
      ...(opts?.minItems !== undefined && { minItems: opts.minItems }),
      ...(opts?.maxItems !== undefined && { maxItems: opts.maxItems }),
      ...(opts?.listMapKeys !== undefined && { "x-kubernetes-list-map-keys": [...opts.listMapKeys] }),
      ...(opts?.listType !== undefined && { "x-kubernetes-list-type": opts.listType }),
    },
    opts,
  );
  return { ...s, items };
}

/** An object with arbitrary keys whose values follow `values` (additionalProperties). */
export function map<S extends Schema<unknown>>(
  values: S,
  opts?: CommonOptions<Record<string, Infer<S>>>,
): Schema<Record<string, Infer<S>>> {
  const s = node<Record<string, Infer<S>>>({ type: "object" }, opts);
  return { ...s, additionalProperties: values };
}

type Props = Record<string, Schema<unknown>>;
type ObjectType<P extends Props, R extends keyof P> = Simplify<
  { -readonly [K in R]: Infer<P[K]> } & { -readonly [K in Exclude<keyof P, R>]?: Infer<P[K]> }
>;

export interface ObjectOptions<R extends string> extends CommonOptions<Record<string, unknown>> {
  required?: readonly R[];
  mapType?: "atomic" | "granular";
}

/** An object with named properties; names in `required` become non-optional in the type. */
export function obj<P extends Props, const R extends keyof P & string = never>(
  properties: P,
  opts?: ObjectOptions<R>,
): Schema<ObjectType<P, R>> {
  const s = node<ObjectType<P, R>>(
    {
      type: "object",
      ...(opts?.required !== undefined && opts.required.length > 0 && { required: [...opts.required] }),
      ...(opts?.mapType !== undefined && { "x-kubernetes-map-type": opts.mapType }),
    },
    opts,
  );
  return { ...s, properties };
}

/** An object kept as is (x-kubernetes-preserve-unknown-fields): for free-form content only. */
export function preserveUnknown(opts?: CommonOptions<Record<string, unknown>>): Schema<Record<string, unknown>> {
  return node({ type: "object", "x-kubernetes-preserve-unknown-fields": true }, opts);
}

/** The same schema with another description (shared core types get a field-specific text). */
export function describe<T>(schema: Schema<T>, description: string): Schema<T> {
  return { ...schema, keywords: { ...schema.keywords, description } };
}

/** The same schema with a default value. */
export function withDefault<T>(schema: Schema<T>, value: T): Schema<T> {
  return { ...schema, keywords: { ...schema.keywords, default: value } };
}

/** Renders the wire form: properties sorted by name (stable output, as controller-gen does). */
export function toOpenAPI(schema: Schema<unknown>): JSONSchemaProps {
  const out: JSONSchemaProps = {};
  const { description, ...rest } = schema.keywords;
  if (description !== undefined) out.description = description;
  Object.assign(out, rest);
  if (schema.properties && Object.keys(schema.properties).length > 0) {
    out.properties = {};
    for (const name of Object.keys(schema.properties).sort()) {
      const child = schema.properties[name];
      if (child) out.properties[name] = toOpenAPI(child);
    }
  }
  if (schema.items) out.items = toOpenAPI(schema.items);
  if (schema.additionalProperties) out.additionalProperties = toOpenAPI(schema.additionalProperties);
  return sortKeys(out);
}

function sortKeys(props: JSONSchemaProps): JSONSchemaProps {
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(props).sort()) sorted[key] = (props as Record<string, unknown>)[key];
  return sorted as JSONSchemaProps;
}
