// Generates charts/scone-operator from the desired state `scone manifests all` prints (src/flows/install), so the
// chart and scone cannot drift: scone's objects are rendered once with sentinel values in place of everything a
// chart value decides, then each sentinel becomes a template expression. Nothing else is hand-written.
//   bun run hack/chart/generate.ts   → rewrites charts/scone-operator (make chart)
// test/unit/hack/chart.test.ts checks the committed chart equals this output; test/integration/helm.test.ts
// checks `helm template` equals `scone manifests` for the same settings.
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { stringify } from "yaml";
import pkg from "../../package.json" with { type: "json" };
import { manifestSet } from "../../src/flows/install/manifests.ts";
import { installOptionsFromFlags } from "../../src/flows/install/options.ts";
import { resolveBackupClaim, STORAGE_SIZE_PATTERN } from "../../src/install/backup-claim.ts";
import { operatorImage } from "../../src/install/images.ts";
import { METRICS_READER_ROLE } from "../../src/install/monitoring.ts";
import {
  API_DEPLOYMENT_NAME,
  API_REVIEW_ROLE_BINDING_NAME,
  API_REVIEW_ROLE_NAME,
  API_SERVICE_NAME,
  DEFAULT_NAMESPACE,
  DEPLOYMENT_NAME,
  OPERATOR_PULL_SECRET,
} from "../../src/install/names.ts";
import type { KubeObject } from "../../src/kube/types.ts";

export const CHART_DIR = join(import.meta.dir, "../../charts/scone-operator");
export const CHART_NAME = "scone-operator";

/**
 * What the generator renders in place of each value: each valid by the grammar scone checks the flag with
 * (src/resources/grammar.ts), and all sharing the "helmsentinel" stem the leftover check looks for.
 */
const SENTINEL = {
  namespace: "helmsentinelnamespace",
  version: "0.0.0-helmsentinelversion",
  registry: "helmsentinelregistry",
  prefix: "helmsentinelprefix",
  operatorImage: "helmsentineloperatorimage",
  dcapKey: "HELMSENTINELDCAPKEY",
  selectorKey: "helmsentinelselector",
  backupClaim: "helmsentinelbackupclaim",
  backupClass: "helmsentinelbackupclass",
  // A quantity (the flag's grammar), not one a chart's user would pick, and left as is by canonicalQuantity.
  backupSize: "987654321Mi",
} as const;

/** The template expression of each sentinel inside a string (`$` is the root context, valid in every scope). */
const EXPRESSION: Readonly<Record<string, string>> = {
  [SENTINEL.namespace]: "$.Release.Namespace",
  [SENTINEL.version]: "$.Values.sconeVersion",
  [SENTINEL.registry]: '(include "scone-operator.registry" $)',
  [SENTINEL.prefix]: "$.Values.image.prefix",
  [SENTINEL.operatorImage]: '(include "scone-operator.operatorImage" $)',
  [SENTINEL.backupClaim]: "$.Values.backups.claimName",
  [SENTINEL.backupSize]: "$.Values.backups.size",
};
const SENTINELS = Object.keys(EXPRESSION)
  .map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
  .join("|");
const hasSentinel = (text: string) => new RegExp(SENTINELS).test(text);

/** The flags `scone manifests all` is rendered with; each sentinel is later replaced by its template. */
const SENTINEL_FLAGS = {
  namespace: SENTINEL.namespace,
  "set-version": SENTINEL.version,
  "image-registry": SENTINEL.registry,
  "image-prefix": SENTINEL.prefix,
  "operator-image": SENTINEL.operatorImage,
  "dcap-api": SENTINEL.dcapKey,
  "node-selector": `${SENTINEL.selectorKey}=x`,
  "backup-claim": SENTINEL.backupClaim,
  "backup-storage-size": SENTINEL.backupSize,
  "backup-storage-class": SENTINEL.backupClass,
  // Rendered always; the chart's monitoring.enabled, api.enabled and metrics.secure decide (conditionOf).
  monitoring: true,
  "with-api": true,
  "metrics-secure": true,
};

/** The operator's argument --metrics-secure adds; the chart's metrics.secure decides it. */
const METRICS_SECURE_ARG = "--metrics-secure";

/** A Go string literal (JSON's escapes are a subset of Go's for the text scone renders). */
const goString = (s: string) => JSON.stringify(s);

/** `{{ … }}` producing `text` with each sentinel replaced by its value, as a JSON (hence YAML) string. */
export function expressionOf(text: string): string {
  const parts: string[] = [];
  let last = 0;
  for (const m of text.matchAll(new RegExp(SENTINELS, "g"))) {
    if (m.index > last) parts.push(goString(text.slice(last, m.index)));
    parts.push(EXPRESSION[m[0]] as string);
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push(goString(text.slice(last)));
  // `print` puts no space between string operands.
  return parts.length === 1 ? (parts[0] as string) : `print ${parts.join(" ")}`;
}

type Marker =
  /** The line's marker becomes `{{ expr }}`. */
  | { readonly kind: "inline"; readonly expr: string }
  /** `key: MARK` becomes `key:` and the value's YAML, only when the value is non-empty. */
  | { readonly kind: "block"; readonly value: string }
  /** `key: MARK` becomes `key: "<value>"`, only when the value is non-empty. */
  | { readonly kind: "optional-scalar"; readonly value: string }
  /** `- MARK` becomes the list item `item`, only when `condition` holds. */
  | { readonly kind: "optional-item"; readonly condition: string; readonly item: unknown };

class Markers {
  readonly byToken = new Map<string, Marker>();
  add(m: Marker): string {
    const token = `HELMMARKER${String(this.byToken.size).padStart(4, "0")}`;
    this.byToken.set(token, m);
    return token;
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The default pull secrets scone renders; wherever they appear, the `imagePullSecrets` value decides instead. */
const DEFAULT_PULL_SECRETS = [{ name: OPERATOR_PULL_SECRET }];

/** Replaces every sentinel and values-driven field of `node` by markers (a copy; scone's objects stay as they are). */
function templatise(node: unknown, markers: Markers, key?: string): unknown {
  if (typeof node === "string") {
    if (node === SENTINEL.dcapKey) return markers.add({ kind: "optional-scalar", value: "$.Values.las.dcapKey" });
    if (node.includes(SENTINEL.dcapKey)) throw new Error(`the DCAP key sentinel inside "${node}": not templatable`);
    // No class: the cluster's default StorageClass (scone leaves storageClassName out).
    if (node === SENTINEL.backupClass)
      return markers.add({ kind: "optional-scalar", value: "$.Values.backups.storageClass" });
    if (node.includes(SENTINEL.backupClass)) throw new Error(`the class sentinel inside "${node}": not templatable`);
    // Prometheus' own templates (alert annotations) pass through helm as literals.
    if (node.includes("{{") && !hasSentinel(node))
      return markers.add({ kind: "inline", expr: `${goString(node)} | toJson` });
    return hasSentinel(node) ? markers.add({ kind: "inline", expr: `${expressionOf(node)} | toJson` }) : node;
  }
  if (Array.isArray(node)) {
    if (key === "imagePullSecrets" && same(node, DEFAULT_PULL_SECRETS))
      return markers.add({ kind: "block", value: "$.Values.imagePullSecrets" });
    return node.map((item) => {
      // An item carrying only the prefix (SCONE_IMAGE_PREFIX): scone leaves it out when the prefix is empty.
      if (isRecord(item) && Object.values(item).includes(SENTINEL.prefix))
        return markers.add({
          kind: "optional-item",
          condition: "$.Values.image.prefix",
          item: templatise(item, markers),
        });
      return templatise(item, markers);
    });
  }
  if (isRecord(node)) {
    if (key === "nodeSelector" && same(node, { [SENTINEL.selectorKey]: "x" }))
      return markers.add({ kind: "block", value: "$.Values.sgxplugin.nodeSelector" });
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) {
      if (hasSentinel(k) || k.includes(SENTINEL.selectorKey)) throw new Error(`a sentinel in key "${k}"`);
      out[k] = templatise(v, markers, k);
    }
    return out;
  }
  return node;
}

interface PodSpecLike {
  containers: { resources?: unknown; args?: unknown[] }[];
  [field: string]: unknown;
}

/** The operator Deployment's scheduling fields, which no scone flag sets: the chart's values decide them. */
function templatiseDeployment(d: Record<string, unknown>, markers: Markers): void {
  const spec = d.spec as { replicas: unknown; template: { spec: PodSpecLike } };
  spec.replicas = markers.add({ kind: "inline", expr: "$.Values.replicas | int" });
  const pod = spec.template.spec;
  for (const c of pod.containers) c.resources = markers.add({ kind: "block", value: "$.Values.resources" });
  // Where the operator creates the CASes' sconecli pods: cliNodeSelector, else the operator's nodeSelector (as
  // `scone operator install --cli-node-selector` defaults to --operator-node-selector).
  pod.containers[0]?.args?.push(
    markers.add({
      kind: "optional-item",
      condition: "(default $.Values.nodeSelector $.Values.cliNodeSelector)",
      item: markers.add({
        kind: "inline",
        expr: 'include "scone-operator.cliNodeSelector" $ | printf "--cli-node-selector=%s" | toJson',
      }),
    }),
  );
  const args = pod.containers[0]?.args;
  const secure = args?.indexOf(METRICS_SECURE_ARG) ?? -1;
  if (!args || secure === -1) throw new Error(`the operator Deployment has no ${METRICS_SECURE_ARG} to template`);
  args[secure] = markers.add({ kind: "optional-item", condition: "$.Values.metrics.secure", item: METRICS_SECURE_ARG });
  pod.nodeSelector = markers.add({ kind: "block", value: "$.Values.nodeSelector" });
  pod.tolerations = markers.add({ kind: "block", value: "$.Values.tolerations" });
  pod.affinity = markers.add({ kind: "block", value: "$.Values.affinity" });
}

/**
 * scone names some objects differently in its default namespace (the ClusterRole keeps upstream's name there).
 * `other` is the same object rendered in that namespace: where a string differs by more than the namespace, the
 * chart chooses between the two with `eq $.Release.Namespace "<default>"`. Anything else that differs in shape is
 * a branch the generator does not know: it stops rather than emit a chart that renders something else.
 */
function namespaceBranches(node: unknown, other: unknown, markers: Markers, path: string): unknown {
  if (typeof node === "string" && typeof other === "string") {
    if (node.replaceAll(SENTINEL.namespace, DEFAULT_NAMESPACE) === other) return node;
    const cond = `(eq $.Release.Namespace ${goString(DEFAULT_NAMESPACE)})`;
    return markers.add({
      kind: "inline",
      expr: `ternary (${expressionOf(other)}) (${expressionOf(node)}) ${cond} | toJson`,
    });
  }
  if (Array.isArray(node) && Array.isArray(other) && node.length === other.length)
    return node.map((item, i) => namespaceBranches(item, other[i], markers, `${path}[${i}]`));
  if (isRecord(node) && isRecord(other) && same(Object.keys(node), Object.keys(other)))
    return Object.fromEntries(
      Object.entries(node).map(([k, v]) => [k, namespaceBranches(v, other[k], markers, `${path}.${k}`)]),
    );
  if (same(node, other)) return node;
  throw new Error(`${path} differs in shape in the namespace ${DEFAULT_NAMESPACE}: the generator has no rule for it`);
}

const MARKER_LINE = /^(\s*)(- )?(?:([^:\s][^:]*): )?(HELMMARKER\d{4})$/;

/** YAML with every marker line replaced by its template. */
function renderTemplate(object: unknown, markers: Markers): string {
  const yaml = stringify(object, { lineWidth: 0 });
  const out: string[] = [];
  for (const line of yaml.trimEnd().split("\n")) {
    const m = MARKER_LINE.exec(line);
    const marker = m ? markers.byToken.get(m[4] as string) : undefined;
    if (!m || !marker) {
      if (line.includes("HELMMARKER")) throw new Error(`a marker the generator cannot place: ${line}`);
      out.push(line);
      continue;
    }
    const [, indent = "", dash = "", key] = m;
    const head = `${indent}${dash}${key === undefined ? "" : `${key}: `}`;
    const inner = indent.length + dash.length;
    switch (marker.kind) {
      case "inline":
        out.push(`${head}{{ ${marker.expr} }}`);
        break;
      case "block":
        if (key === undefined || dash) throw new Error(`block marker outside a mapping: ${line}`);
        out.push(
          `{{- with ${marker.value} }}`,
          `${indent}${key}:`,
          `{{- toYaml . | nindent ${inner + 2} }}`,
          "{{- end }}",
        );
        break;
      case "optional-scalar":
        if (key === undefined || dash) throw new Error(`scalar marker outside a mapping: ${line}`);
        out.push(`{{- with ${marker.value} }}`, `${indent}${key}: {{ . | toJson }}`, "{{- end }}");
        break;
      case "optional-item": {
        if (!dash || key !== undefined) throw new Error(`item marker outside a list: ${line}`);
        const item = renderTemplate([marker.item], markers)
          .split("\n")
          .map((l) => (l.startsWith("{{") ? l : `${indent}${l}`));
        out.push(`{{- if ${marker.condition} }}`, ...item, "{{- end }}");
        break;
      }
    }
  }
  return out.join("\n");
}

const HEADER = "# Generated by hack/chart/generate.ts from scone's desired state (`scone manifests`): do not edit.\n";

/** Templates by file, each wrapped in the condition (if any) that turns it on. */
const TEMPLATE_OF_KIND: Readonly<Record<string, { file: string; condition?: string }>> = {
  Namespace: { file: "namespace.yaml", condition: ".Values.namespace.create" },
  SGXPlugin: { file: "sgxplugin.yaml", condition: ".Values.sgxplugin.enabled" },
  LAS: { file: "las.yaml", condition: ".Values.las.enabled" },
  // prometheus-operator's kinds: opt-in, as --monitoring (docs/monitoring.md).
  ServiceMonitor: { file: "monitoring.yaml", condition: ".Values.monitoring.enabled" },
  PrometheusRule: { file: "monitoring.yaml", condition: ".Values.monitoring.enabled" },
};

/** Objects a value turns on, by kind/name as rendered in the default namespace (--with-api, --metrics-secure). */
const CONDITION_OF_OBJECT: Readonly<Record<string, string>> = {
  [`Service/${API_SERVICE_NAME}`]: ".Values.api.enabled",
  [`Deployment/${API_DEPLOYMENT_NAME}`]: ".Values.api.enabled",
  [`ClusterRole/${METRICS_READER_ROLE}`]: ".Values.metrics.secure",
  // Token reviews for a server that takes bearer tokens: the API or the secure /metrics.
  [`ClusterRole/${API_REVIEW_ROLE_NAME}`]: "or .Values.api.enabled .Values.metrics.secure",
  [`ClusterRoleBinding/${API_REVIEW_ROLE_BINDING_NAME}`]: "or .Values.api.enabled .Values.metrics.secure",
};

/** Both conditions of a template: the file's (its kind's) and the object's own. */
function conditionOf(kind: string, defaultName: string): string | undefined {
  const all = [TEMPLATE_OF_KIND[kind]?.condition, CONDITION_OF_OBJECT[`${kind}/${defaultName}`]].filter(
    (c): c is string => c !== undefined,
  );
  return all.length === 0 ? undefined : all.length === 1 ? all[0] : `and ${all.map((c) => `(${c})`).join(" ")}`;
}

const kebab = (kind: string) => kind.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();

/** The chart's values, defaults from scone's own defaults, so `helm template` with no values is `scone manifests`. */
function defaultValues(deployment: KubeObject): Record<string, unknown> {
  const defaults = installOptionsFromFlags({});
  const claim = resolveBackupClaim(defaults.backupClaim);
  const spec = (deployment as unknown as { spec: { replicas: number; template: { spec: PodSpecLike } } }).spec;
  return {
    sconeVersion: defaults.version,
    image: { registry: defaults.imageRegistry, prefix: defaults.imagePrefix, operator: "" },
    imagePullSecrets: DEFAULT_PULL_SECRETS,
    replicas: spec.replicas,
    resources: spec.template.spec.containers[0]?.resources ?? {},
    nodeSelector: {},
    cliNodeSelector: {},
    tolerations: [],
    affinity: {},
    namespace: { create: false },
    sgxplugin: { enabled: false, nodeSelector: {} },
    las: { enabled: false, dcapKey: "" },
    backups: { claimName: claim.name, size: claim.size, storageClass: "" },
    monitoring: { enabled: false },
    metrics: { secure: false },
    api: { enabled: false },
  };
}

const VALUES_COMMENTS = `# Values of the scone operator chart. Each value matches a 'scone manifests' / 'scone operator install' flag
# where one exists, so 'helm template' and 'scone manifests' render the same objects (docs/helm.md):
#   sconeVersion           --set-version     SCONE version: tag of the SCONE service images, GLOBAL_SCONE_VERSION
#   image.registry         --image-registry  registry and path of every image (a mirror in air-gapped clusters)
#   image.prefix           --image-prefix    prefix of every image name in the registry
#   image.operator         --operator-image  full operator image reference (default: scone:<appVersion> there)
#   sgxplugin.enabled      (--no-sgxplugin)  the SGXPlugin 'sgxplugin'; off by default, see docs/helm.md
#   sgxplugin.nodeSelector --node-selector   node selector of the SGX plugin
#   las.enabled                              the LAS 'las'; off by default, see docs/helm.md
#   las.dcapKey            --dcap-api        Intel DCAP/PCS API key of the LAS
#   backups.claimName      --backup-claim    PersistentVolumeClaim of the operator's backups (kept by helm uninstall)
#   backups.size           --backup-storage-size   size it requests
#   backups.storageClass   --backup-storage-class  its StorageClass (empty: the cluster's default class)
#   cliNodeSelector        --cli-node-selector  nodes of the CASes' sconecli pods (default: nodeSelector)
#   monitoring.enabled     --monitoring      a ServiceMonitor and a PrometheusRule (needs prometheus-operator's CRDs)
#   metrics.secure         --metrics-secure  /metrics over HTTPS to authorized tokens (and the metrics-reader role)
#   api.enabled            --with-api        the REST API (scone api --kube-auth) beside the operator, its Service
#   (release namespace)    -n                namespace of the operator
# Only in the chart: replicas, resources, nodeSelector, tolerations, affinity (of the operator pod),
# imagePullSecrets (of every pod; the secret must exist: scone operator install --username … creates it),
# namespace.create (render the Namespace, e.g. when not installing with --create-namespace).
`;

/** JSON schema of the values: helm refuses unknown keys and wrong types, naming the value. */
function valuesSchema(): Record<string, unknown> {
  const str = { type: "string" };
  const strMap = { type: "object", additionalProperties: { type: "string" } };
  const obj = (properties: Record<string, unknown>) => ({ type: "object", additionalProperties: false, properties });
  return {
    $schema: "https://json-schema.org/draft-07/schema#",
    ...obj({
      sconeVersion: { type: "string", minLength: 1 },
      image: obj({ registry: { type: "string", minLength: 1 }, prefix: str, operator: str }),
      imagePullSecrets: {
        type: "array",
        items: { type: "object", required: ["name"], properties: { name: { type: "string", minLength: 1 } } },
      },
      replicas: { type: "integer", minimum: 0 },
      resources: {
        type: "object",
        additionalProperties: false,
        properties: { limits: { type: "object" }, requests: { type: "object" }, claims: { type: "array" } },
      },
      nodeSelector: strMap,
      cliNodeSelector: strMap,
      tolerations: { type: "array", items: { type: "object" } },
      affinity: { type: "object" },
      namespace: obj({ create: { type: "boolean" } }),
      sgxplugin: obj({ enabled: { type: "boolean" }, nodeSelector: strMap }),
      las: obj({ enabled: { type: "boolean" }, dcapKey: str }),
      backups: obj({
        claimName: { type: "string", minLength: 1 },
        size: { type: "string", pattern: STORAGE_SIZE_PATTERN },
        storageClass: str,
      }),
      monitoring: obj({ enabled: { type: "boolean" } }),
      metrics: obj({ secure: { type: "boolean" } }),
      api: obj({ enabled: { type: "boolean" } }),
    }),
  };
}

function helpers(): string {
  // The operator image as scone computes it (src/install/images.ts), with the registry and prefix templated.
  // Inside a named template `$` is the context `include` passes: the root, as everywhere else.
  const defaultImage = expressionOf(operatorImage(SENTINEL.registry, SENTINEL.prefix));
  return `{{/* ${HEADER.slice(2, -1)} */}}
{{/* Registry and path of every image, without trailing slashes (as scone trims them); empty means the default. */}}
{{- define "scone-operator.registry" -}}
{{- regexReplaceAll "/+$" (.Values.image.registry | default ${goString(installOptionsFromFlags({}).imageRegistry)}) "" -}}
{{- end -}}

{{/* cliNodeSelector (else nodeSelector) as --cli-node-selector reads it: KEY=VALUE,… with the keys sorted. */}}
{{- define "scone-operator.cliNodeSelector" -}}
{{- $pairs := list -}}
{{- range $k, $v := (default .Values.nodeSelector .Values.cliNodeSelector) }}{{ $pairs = append $pairs (printf "%s=%s" $k $v) }}{{ end -}}
{{- join "," $pairs -}}
{{- end -}}

{{/* The operator image: image.operator, else scone's own image under the registry and prefix. */}}
{{- define "scone-operator.operatorImage" -}}
{{- .Values.image.operator | default (${defaultImage}) -}}
{{- end -}}
`;
}

/** Every file of the chart, by path relative to the chart directory. Pure. */
export function chartFiles(): Map<string, string> {
  const rendered = manifestSet("all", installOptionsFromFlags(SENTINEL_FLAGS));
  const inDefault = manifestSet("all", installOptionsFromFlags({ ...SENTINEL_FLAGS, namespace: DEFAULT_NAMESPACE }));
  // Without --metrics-secure: objects that differ only by it (the ServiceMonitor's endpoint) get both branches.
  const plainFlags = { ...SENTINEL_FLAGS, "metrics-secure": false };
  const plain = manifestSet("all", installOptionsFromFlags(plainFlags));
  const plainInDefault = manifestSet("all", installOptionsFromFlags({ ...plainFlags, namespace: DEFAULT_NAMESPACE }));
  const plainAt = (o: KubeObject) =>
    plain.objects.findIndex((p) => p.kind === o.kind && p.metadata?.name === o.metadata?.name);
  const markers = new Markers();
  const files = new Map<string, string>();
  const templates = new Map<string, string[]>();
  let deployment: KubeObject | undefined;

  for (const [i, object] of rendered.objects.entries()) {
    const name = object.metadata?.name ?? "";
    if (object.kind === "CustomResourceDefinition") {
      const text = JSON.stringify(object);
      if (/helmsentinel/i.test(text) || text.includes(SENTINEL.namespace))
        throw new Error(`CRD ${name} depends on a value: it cannot live in crds/ (helm does not template it)`);
      files.set(`crds/${name}.yaml`, HEADER + stringify(object, { lineWidth: 0 }));
      continue;
    }
    const copy = namespaceBranches(
      structuredClone(object),
      inDefault.objects[i],
      markers,
      `${object.kind}/${name}`,
    ) as Record<string, unknown>;
    if (object.kind === "Deployment" && name === DEPLOYMENT_NAME) {
      deployment = structuredClone(object);
      templatiseDeployment(copy, markers);
    }
    const kind = object.kind ?? "";
    const target = TEMPLATE_OF_KIND[kind] ?? { file: `${kebab(kind)}.yaml` };
    let body = renderTemplate(templatise(copy, markers), markers);
    // The operator Deployment's --metrics-secure is an optional item (templatiseDeployment).
    const at = kind === "Deployment" && name === DEPLOYMENT_NAME ? -1 : plainAt(object);
    const without = plain.objects[at];
    if (without && !same(without, object)) {
      const other = namespaceBranches(structuredClone(without), plainInDefault.objects[at], markers, `${kind}/${name}`);
      const plainBody = renderTemplate(templatise(other, markers), markers);
      body = `{{- if $.Values.metrics.secure }}\n${body}\n{{- else }}\n${plainBody}\n{{- end }}`;
    }
    const condition = conditionOf(kind, inDefault.objects[i]?.metadata?.name ?? name);
    const doc = condition ? `{{- if ${condition} }}\n${body}\n{{- end }}` : body;
    templates.set(target.file, [...(templates.get(target.file) ?? []), doc]);
  }
  if (!deployment) throw new Error("scone manifests rendered no operator Deployment");

  for (const [file, docs] of templates)
    files.set(`templates/${file}`, `${HEADER}${docs.map((d) => `---\n${d}`).join("\n")}\n`);
  files.set("templates/_helpers.tpl", helpers());
  files.set(
    "Chart.yaml",
    HEADER +
      stringify(
        {
          apiVersion: "v2",
          name: CHART_NAME,
          description:
            "scone's SCONE operator: the same objects as 'scone manifests' (CRDs, RBAC, Deployment, Services, webhook configurations, optionally the LAS and SGXPlugin)",
          type: "application",
          version: pkg.version,
          appVersion: pkg.version,
          home: "https://sconedocs.github.io",
        },
        { lineWidth: 0 },
      ),
  );
  files.set("values.yaml", `${HEADER}${VALUES_COMMENTS}${stringify(defaultValues(deployment), { lineWidth: 0 })}`);
  files.set("values.schema.json", `${JSON.stringify(valuesSchema(), null, 2)}\n`);
  files.set(".helmignore", `${HEADER}*.orig\n*.tmp\n`);
  return files;
}

/** Writes the chart, removing files of an earlier generation that are no longer produced. */
export async function writeChart(dir = CHART_DIR): Promise<string[]> {
  const files = chartFiles();
  const existing = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const e of existing) {
    if (!e.isFile()) continue;
    const rel = join(e.parentPath, e.name).slice(dir.length + 1);
    if (!files.has(rel)) await rm(join(dir, rel));
  }
  for (const [rel, text] of files) {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), text);
  }
  return [...files.keys()].sort();
}

if (import.meta.main) {
  const written = await writeChart();
  console.log(`charts/${CHART_NAME}: ${written.length} files`);
}
