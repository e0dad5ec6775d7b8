// The SGX device plugin DaemonSet of an SGXPlugin (pure; golden-tested). One plugin pod per selected node,
// with the host's /dev (SGX device files) and the kubelet's device-plugin socket directory, replaced node by node
// (maxUnavailable 1, no surge: two plugin instances on one node would both register the same devices).
import type { V1Container, V1DaemonSet, V1Toleration } from "@kubernetes/client-node";
import { sgxPluginWebhookDefaults } from "../../resources/defaults.ts";
import type { SGXPlugin } from "../../resources/sgx-plugin.ts";
import { canonicalResources } from "../../runtime/quantity.ts";
import { APP_INSTANCE_LABEL, APP_NAME_LABEL } from "../kit/labels.ts";
import { compact, type RenderOptions } from "../kit/render.ts";

export const SGXPLUGIN_DAEMONSET = "sgxplugin";
export const SGXPLUGIN_APP = "sgxplugin";
export const SGXPLUGIN_CONTAINER = "sgxplugin";

/** The namespace the plugin pods run in (spec.namespace, else the operator's). */
export const sgxPluginNamespace = (plugin: SGXPlugin, opts: RenderOptions): string =>
  plugin.spec?.namespace || opts.operatorNamespace;

export function renderSgxPluginDaemonSet(plugin: SGXPlugin, opts: RenderOptions): V1DaemonSet {
  const { spec = {} } = sgxPluginWebhookDefaults(plugin, opts);
  const name = plugin.metadata.name ?? "";
  // The selector is immutable: it names the app only, so another SGXPlugin can take the DaemonSet over.
  const selector = { [APP_NAME_LABEL]: SGXPLUGIN_APP };
  const labels = {
    ...selector,
    [APP_INSTANCE_LABEL]: name,
    "app.kubernetes.io/component": "sgx-device-plugin",
    "app.kubernetes.io/part-of": "scone",
  };
  const container: V1Container = {
    name: SGXPLUGIN_CONTAINER,
    image: spec.image ?? "",
    imagePullPolicy: spec.imagePullPolicy ?? "Always",
    ...compact({
      env:
        spec.capacitySGXPods === undefined
          ? undefined
          : [{ name: "SGX_PLUGIN_CAPACITY_SGX_PODS", value: String(spec.capacitySGXPods) }],
      resources: spec.resources && (canonicalResources(spec.resources) as V1Container["resources"]),
    }),
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    },
    volumeMounts: [
      { name: "dev", mountPath: "/dev" },
      { name: "device-plugins", mountPath: "/var/lib/kubelet/device-plugins" },
    ],
  };
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: SGXPLUGIN_DAEMONSET, namespace: sgxPluginNamespace(plugin, opts), labels },
    spec: {
      selector: { matchLabels: selector },
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      template: {
        metadata: { labels, ...compact({ annotations: spec.podAnnotations }) },
        spec: {
          ...compact({
            nodeSelector: spec.nodeSelector,
            tolerations: spec.tolerations as V1Toleration[] | undefined,
            imagePullSecrets: spec.imagePullSecrets,
          }),
          // Pods on a node lose SGX when the plugin is evicted: schedule it like other node agents.
          priorityClassName: "system-node-critical",
          containers: [container],
          volumes: [
            { name: "dev", hostPath: { path: "/dev", type: "Directory" } },
            { name: "device-plugins", hostPath: { path: "/var/lib/kubelet/device-plugins", type: "Directory" } },
          ],
        },
      },
    },
  };
}
