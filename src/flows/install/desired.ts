// The desired state of an install (pure): namespaces, pull secrets, CRDs, the operator's objects from
// src/install, then the SGXPlugin `sgxplugin` and the LAS `las` shaped like upstream's las.yaml/sgxplugin.yaml
// (SCONE-INTERFACE §9), with every image from the same registry, prefix and version.
import { installLabels, renderInstallManifests } from "../../install/manifests.ts";
import { INJECT_PULL_SECRET_ANNOTATIONS, OPERATOR_PULL_SECRET } from "../../install/names.ts";
import { renderNamespace } from "../../install/operator.ts";
import { resolveInstallOptions } from "../../install/options.ts";
import type { KubeObject, ObjectRef } from "../../kube/types.ts";
import { renderCrds } from "../../resources/crds.ts";
import type { InstallFlowOptions } from "./options.ts";
import { PULL_SECRET_NAMES, renderPullSecrets } from "./pull-secrets.ts";

/** Install phases, in the order they are applied (upstream operator_controller steps 5, 7, 8–9, 10, 11). */
export const INSTALL_PHASES = ["namespaces", "pull-secrets", "crds", "operator", "sgxplugin", "las"] as const;
export type InstallPhase = (typeof INSTALL_PHASES)[number];

export interface DesiredItem {
  readonly phase: InstallPhase;
  readonly object: KubeObject;
}

export const LAS_API_VERSION = "base.scone.cloud/v1beta1";
export const LAS_NAME = "las";
export const SGXPLUGIN_NAME = "sgxplugin";
export const LAS_REF: ObjectRef = { apiVersion: LAS_API_VERSION, kind: "LAS", name: LAS_NAME };
export const SGXPLUGIN_TYPE = { apiVersion: LAS_API_VERSION, kind: "SGXPlugin" } as const;

/** What the desired state takes from the cluster (upstream: the DCAP key falls back to the existing LAS's). */
export interface InstallFacts {
  readonly existingDcapKey?: string;
}

export interface DesiredInstall {
  readonly items: DesiredItem[];
  /** Objects that must exist but cannot be rendered (pull secrets without credentials). */
  readonly required: { readonly phase: InstallPhase; readonly ref: ObjectRef; readonly hint: string }[];
  readonly warnings: string[];
}

export function componentImage(o: InstallFlowOptions, name: string): string {
  return `${o.imageRegistry}/${o.imagePrefix}${name}:${o.version}`;
}

/** Fields upstream's manifests share: pull secret, pull policy, pod namespace, injection annotation. */
function nodeAgentSpec(o: InstallFlowOptions, image: string): Record<string, unknown> {
  return {
    autoUpdate: true,
    image,
    imagePullSecrets: [{ name: OPERATOR_PULL_SECRET }],
    imagePullPolicy: "Always",
    namespace: o.namespace,
    podAnnotations: {
      "scone-operator/inject-pull-secret": INJECT_PULL_SECRET_ANNOTATIONS["scone-operator/inject-pull-secret"],
    },
  };
}

export function renderSgxPlugin(o: InstallFlowOptions, labels: Record<string, string>): KubeObject {
  const spec = nodeAgentSpec(o, componentImage(o, "sgx-plugin"));
  if (o.nodeSelector) spec.nodeSelector = { ...o.nodeSelector };
  return { ...SGXPLUGIN_TYPE, metadata: { name: SGXPLUGIN_NAME, labels: { ...labels } }, spec } as KubeObject;
}

export function renderLas(o: InstallFlowOptions, labels: Record<string, string>, dcapKey: string | undefined) {
  const spec = nodeAgentSpec(o, componentImage(o, "las"));
  if (dcapKey) spec.dcapKey = dcapKey;
  return { apiVersion: LAS_API_VERSION, kind: "LAS", metadata: { name: LAS_NAME, labels: { ...labels } }, spec };
}

/** The operator's objects (src/install) for these options: namespace, RBAC, Deployment, webhooks, optional parts. */
export function renderOperatorObjects(o: InstallFlowOptions): KubeObject[] {
  return renderInstallManifests({
    namespace: o.namespace,
    version: o.version,
    imageRegistry: o.imageRegistry,
    imagePrefix: o.imagePrefix,
    ...(o.operatorImage ? { operatorImage: o.operatorImage } : {}),
    ...(o.imageDigests ? { imageDigests: o.imageDigests } : {}),
    ...(o.allowedRegistries ? { allowedRegistries: o.allowedRegistries } : {}),
    ...(o.operatorNodeSelector ? { nodeSelector: o.operatorNodeSelector } : {}),
    ...(o.cliNodeSelector ? { cliNodeSelector: o.cliNodeSelector } : {}),
    webhook: o.localOperator ? { mode: "url", ...o.localOperator } : { mode: "service" },
    backupClaim: o.backupClaim,
    withApi: o.withApi,
    monitoring: o.monitoring,
    metricsSecure: o.metricsSecure,
  });
}

export function desiredInstall(o: InstallFlowOptions, facts: InstallFacts = {}): DesiredInstall {
  const labels = installLabels(o.version);
  const warnings: string[] = [];
  const required: DesiredInstall["required"] = [];
  const items: DesiredItem[] = [];
  const add = (phase: InstallPhase, objects: readonly KubeObject[]) => {
    for (const object of objects) items.push({ phase, object });
  };

  const operatorObjects = renderOperatorObjects(o);
  const isNamespace = (x: KubeObject) => x.kind === "Namespace";
  add("namespaces", operatorObjects.filter(isNamespace));
  if (o.serviceNamespace && o.serviceNamespace !== o.namespace) {
    const resolved = resolveInstallOptions({ namespace: o.serviceNamespace, version: o.version });
    add("namespaces", [renderNamespace(resolved, labels)]);
  }

  // Upstream's image-pull-secret operator copied them into annotated namespaces; scone writes them itself.
  const secretNamespaces = [
    o.namespace,
    ...(o.serviceNamespace && o.serviceNamespace !== o.namespace ? [o.serviceNamespace] : []),
  ];
  for (const namespace of secretNamespaces) {
    if (o.credentials) add("pull-secrets", renderPullSecrets(namespace, o.credentials, labels));
    else {
      for (const name of PULL_SECRET_NAMES)
        required.push({
          phase: "pull-secrets",
          ref: { apiVersion: "v1", kind: "Secret", namespace, name },
          hint: "pass --username, --access-token and --email to create it",
        });
    }
  }

  add("crds", renderCrds() as unknown as KubeObject[]);
  add(
    "operator",
    operatorObjects.filter((x) => !isNamespace(x)),
  );

  if (!o.onlyOperator) {
    if (o.sgxPlugin) add("sgxplugin", [renderSgxPlugin(o, labels)]);
    const dcapKey = o.dcapKey ?? facts.existingDcapKey;
    if (!dcapKey) {
      warnings.push(
        "no DCAP API key (--dcap-api) and none in the existing LAS: the LAS runs without its liveness probe",
      );
    }
    add("las", [renderLas(o, labels, dcapKey)]);
  }
  return { items, required, warnings };
}
