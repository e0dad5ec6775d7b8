// The SGX device plugin DaemonSet of an SGXPlugin (pure; golden-tested). One plugin pod per selected node,
// with the host's /dev (SGX device files) and the kubelet's device-plugin socket directory, replaced node by node
// (maxUnavailable 1, no surge: two plugin instances on one node would both register the same devices).
import type { V1Container, V1DaemonSet, V1Toleration } from "@kubernetes/client-node";
import { sgxPluginWebhookDefaults } from "../../resources/defaults.ts";
import type { SGXPlugin } from "../../resources/sgx-plugin.ts";
import { canonicalResources } from "../../runtime/quantity.ts";
import { compact, type RenderOptions } from "../kit/render.ts";
import { agentDaemonSet } from "../node-agent/daemonset.ts";

export const SGXPLUGIN_DAEMONSET = "sgxplugin";
export const SGXPLUGIN_APP = "sgxplugin";
export const SGXPLUGIN_CONTAINER = "sgxplugin";

/** The namespace the plugin pods run in (spec.namespace, else the operator's). */
export const sgxPluginNamespace = (plugin: SGXPlugin, opts: RenderOptions): string =>
  plugin.spec?.namespace || opts.operatorNamespace;

export function renderSgxPluginDaemonSet(plugin: SGXPlugin, opts: RenderOptions): V1DaemonSet {
  const { spec = {} } = sgxPluginWebhookDefaults(plugin, opts);
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
  return agentDaemonSet({
    name: SGXPLUGIN_DAEMONSET,
    namespace: sgxPluginNamespace(plugin, opts),
    app: SGXPLUGIN_APP,
    instance: plugin.metadata.name ?? "",
    component: "sgx-device-plugin",
    rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
    podAnnotations: spec.podAnnotations,
    podSpec: {
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
  });
}
