// What `scone version` and `scone cas report` read about the versions in a cluster: the Kubernetes version, the scone
// operator Deployments (found by the labels the installer and upstream's chart give them) and scone's CRDs. Thin
// I/O; the skew decision is skew.ts's.
import type { V1Deployment } from "@kubernetes/client-node";
import { DEFAULT_NAMESPACE, DEPLOYMENT_NAME, OPERATOR_POD_LABELS } from "../../install/names.ts";
import type { KubeClient } from "../../kube/client.ts";
import { ForbiddenError } from "../../kube/errors.ts";
import type { KubeObject } from "../../kube/types.ts";
import { CRD_VERSION_LABEL, crdName } from "../../resources/crds.ts";
import { resourceDefinitions, SCONE_KINDS } from "../../resources/kinds.ts";
import { type CrdVersion, imageTag, type OperatorVersion } from "./skew.ts";

export type VersionsKube = Pick<KubeClient, "list" | "tryGet" | "serverVersion">;

export interface ClusterVersions {
  readonly kubernetes: string;
  readonly operators: readonly OperatorVersion[];
  readonly crds: readonly CrdVersion[];
}

/** The labels every scone operator Deployment carries (ours and upstream's chart). */
export const OPERATOR_SELECTOR = `control-plane=${OPERATOR_POD_LABELS["control-plane"]},app.kubernetes.io/name=${OPERATOR_POD_LABELS["app.kubernetes.io/name"]}`;
const MANAGER_CONTAINER = "manager";

export function operatorVersionOf(d: V1Deployment): OperatorVersion {
  const containers = d.spec?.template?.spec?.containers ?? [];
  const image = (containers.find((c) => c.name === MANAGER_CONTAINER) ?? containers[0])?.image ?? "";
  return {
    namespace: d.metadata?.namespace ?? "",
    name: d.metadata?.name ?? "",
    image,
    version: imageTag(image),
    sconeVersion: d.metadata?.labels?.["app.kubernetes.io/version"],
    replicas: d.spec?.replicas ?? 1,
    ready: d.status?.readyReplicas ?? 0,
  };
}

/**
 * The operator Deployments: across all namespaces when this user may list them, else the one in `namespace`
 * (default scone-system) by its installed name.
 */
export async function findOperators(kube: VersionsKube, namespace?: string): Promise<V1Deployment[]> {
  const type = { apiVersion: "apps/v1", kind: "Deployment" };
  try {
    return (await kube.list<V1Deployment>(type, { labelSelector: OPERATOR_SELECTOR })).items;
  } catch (err) {
    if (!(err instanceof ForbiddenError)) throw err;
    const ns = namespace ?? DEFAULT_NAMESPACE;
    const one = await kube.tryGet<V1Deployment>({ ...type, namespace: ns, name: DEPLOYMENT_NAME });
    return one ? [one] : [];
  }
}

interface CrdObject extends KubeObject {
  spec?: { versions?: { name: string; served?: boolean }[] };
}

export async function readCrdVersions(kube: VersionsKube): Promise<CrdVersion[]> {
  return Promise.all(
    SCONE_KINDS.map(async (kind) => {
      const d = resourceDefinitions[kind];
      const name = crdName(d);
      const crd = await kube.tryGet<CrdObject>({
        apiVersion: "apiextensions.k8s.io/v1",
        kind: "CustomResourceDefinition",
        name,
      });
      return {
        name,
        installed: crd !== undefined,
        served: (crd?.spec?.versions ?? []).filter((v) => v.served !== false).map((v) => v.name),
        installedBy: crd?.metadata?.labels?.[CRD_VERSION_LABEL],
        expected: d.version,
      };
    }),
  );
}

export async function observeClusterVersions(kube: VersionsKube, namespace?: string): Promise<ClusterVersions> {
  const [server, operators, crds] = await Promise.all([
    kube.serverVersion(),
    findOperators(kube, namespace),
    readCrdVersions(kube),
  ]);
  return { kubernetes: server.gitVersion, operators: operators.map(operatorVersionOf), crds };
}
