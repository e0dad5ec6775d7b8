// --monitoring needs prometheus-operator's CRDs: checked before the install changes anything, so a cluster without
// them gets a clear refusal naming the flag instead of an install that stops halfway at "no matches for kind".

import { MONITORING_CRDS } from "../../install/monitoring.ts";
import type { KubeClient } from "../../kube/client.ts";
import { InstallOptionError } from "./options.ts";

export async function requireMonitoringCrds(client: KubeClient): Promise<void> {
  const ref = (name: string) => ({ apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", name });
  const found = await Promise.all(MONITORING_CRDS.map((name) => client.tryGet(ref(name))));
  const missing = MONITORING_CRDS.filter((_, i) => !found[i]);
  if (missing.length > 0)
    throw new InstallOptionError(
      `--monitoring installs a ServiceMonitor and a PrometheusRule, but this cluster has no ${missing.join(", ")}: install prometheus-operator (its monitoring.coreos.com CRDs) first, or leave --monitoring out`,
    );
}
