// Every object a CAS should own for a given plan (pure): the CAS objects, then the backup controller, then the safety
// service — the order they are applied in, which is also upstream's upgrade order for the images.
import type { KubeObject } from "../../kube/types.ts";
import type { CAS } from "../../resources/cas.ts";
import {
  type CasRenderPlan,
  desiredPlan,
  renderCasConfigMap,
  renderCasNetworkPolicy,
  renderCasPodDisruptionBudget,
  renderCasService,
  renderCasStatefulSet,
} from "./render.ts";
import {
  renderBackupControllerDeployment,
  renderBackupControllerRbac,
  renderSafetyServiceDeployment,
  renderSafetyServicePodDisruptionBudget,
} from "./render-companions.ts";
import { casSettings, type RenderOptions } from "./settings.ts";

export interface DesiredCasObjects {
  /** Namespaced objects, owned by the CAS (ownerReferences: garbage-collected with it). */
  owned: KubeObject[];
  /** Cluster-scoped objects (the backup controller's node permissions), removed by the finalizer. */
  readonly cluster: KubeObject[];
}

export function renderCasObjects(cas: CAS, opts: RenderOptions, plan?: CasRenderPlan): DesiredCasObjects {
  const s = casSettings(cas, opts);
  const p = plan ?? desiredPlan(s);
  const owned: KubeObject[] = [renderCasConfigMap(cas, opts), renderCasStatefulSet(cas, opts, p)];
  owned.push(renderCasService(cas, opts), renderCasPodDisruptionBudget(cas, opts));
  const np = renderCasNetworkPolicy(cas, opts);
  if (np) owned.push(np as KubeObject);
  const cluster: KubeObject[] = [];
  if (s.backupController.enabled) {
    const rbac = renderBackupControllerRbac(cas, opts);
    owned.push(...rbac.namespaced, renderBackupControllerDeployment(cas, opts, p));
    cluster.push(...rbac.cluster);
  }
  if (s.safetyService.enabled)
    owned.push(renderSafetyServiceDeployment(cas, opts, p), renderSafetyServicePodDisruptionBudget(cas, opts));
  return { owned, cluster };
}
