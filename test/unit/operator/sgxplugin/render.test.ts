import { describe, expect, test } from "bun:test";
import { renderSgxPluginDaemonSet } from "../../../../src/operator/sgxplugin/render.ts";
import type { SGXPlugin } from "../../../../src/resources/sgx-plugin.ts";
import { expectGolden } from "../golden/render-golden.ts";

const opts = { serviceVersion: "6.0.6", operatorNamespace: "scone-system" };

/** The upstream sample (operator-samples/base_v1beta1_sgxplugin.yaml). */
export const samplePlugin = (): SGXPlugin => ({
  apiVersion: "base.scone.cloud/v1beta1",
  kind: "SGXPlugin",
  metadata: { name: "sgxplugin", uid: "u-1", generation: 1 },
  spec: {
    autoUpdate: true,
    image: "registry.scontain.com/scone.cloud/sgx-plugin",
    imagePullSecrets: [{ name: "scone-operator-pull" }],
    imagePullPolicy: "Always",
    namespace: "scone-system",
    podAnnotations: { "scone-operator/inject-pull-secret": "true" },
  },
});

describe("renderSgxPluginDaemonSet", () => {
  test("the upstream sample and a fully specified plugin match the golden YAML", async () => {
    const full: SGXPlugin = {
      ...samplePlugin(),
      spec: {
        image: "mirror.example/sgx-plugin:7.0.0@sha256:abc",
        imagePullPolicy: "IfNotPresent",
        namespace: "sgx",
        capacitySGXPods: 50,
        nodeSelector: { "feature.node.kubernetes.io/sgx": "true" },
        tolerations: [{ key: "sgx", operator: "Exists", effect: "NoSchedule" }],
        resources: { limits: { memory: "64Mi" }, requests: { cpu: "10m" } },
      },
    };
    await expectGolden("sgxplugin-daemonset.yaml", [
      renderSgxPluginDaemonSet(samplePlugin(), opts),
      renderSgxPluginDaemonSet(full, opts),
    ]);
  });

  test("a tag-less image gets the service version; no image gives the default image", () => {
    const ds = renderSgxPluginDaemonSet(samplePlugin(), opts);
    expect(ds.spec?.template.spec?.containers[0]?.image).toBe("registry.scontain.com/scone.cloud/sgx-plugin:6.0.6");
    const bare = renderSgxPluginDaemonSet({ ...samplePlugin(), spec: {} }, { ...opts, serviceVersion: "6.1.0" });
    expect(bare.spec?.template.spec?.containers[0]?.image).toBe("registry.scontain.com/scone.cloud/sgx-plugin:6.1.0");
  });

  test("runs in spec.namespace, else in the operator's namespace, and is named sgxplugin", () => {
    expect(renderSgxPluginDaemonSet(samplePlugin(), { ...opts, operatorNamespace: "other" }).metadata?.namespace).toBe(
      "scone-system",
    );
    const ds = renderSgxPluginDaemonSet({ ...samplePlugin(), spec: {} }, { ...opts, operatorNamespace: "ops" });
    expect(ds.metadata).toMatchObject({ name: "sgxplugin", namespace: "ops" });
  });

  test("mounts /dev and the kubelet's device-plugin directory and rolls out one node at a time", () => {
    const ds = renderSgxPluginDaemonSet(samplePlugin(), opts);
    const vols = ds.spec?.template.spec?.volumes?.map((v) => v.hostPath?.path);
    expect(vols).toEqual(["/dev", "/var/lib/kubelet/device-plugins"]);
    expect(ds.spec?.updateStrategy).toEqual({
      type: "RollingUpdate",
      rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
    });
  });

  test("selects nodes by spec.nodeSelector, keeps pull secrets, tolerations and pod annotations", () => {
    const p = samplePlugin();
    p.spec = { ...p.spec, nodeSelector: { a: "b" }, tolerations: [{ operator: "Exists" }] };
    const pod = renderSgxPluginDaemonSet(p, opts).spec?.template;
    expect(pod?.spec?.nodeSelector).toEqual({ a: "b" });
    expect(pod?.spec?.tolerations).toEqual([{ operator: "Exists" }]);
    expect(pod?.spec?.imagePullSecrets).toEqual([{ name: "scone-operator-pull" }]);
    expect(pod?.metadata?.annotations).toEqual({ "scone-operator/inject-pull-secret": "true" });
  });

  test("the selector names only the app, so another SGXPlugin can take the DaemonSet over", () => {
    const a = renderSgxPluginDaemonSet(samplePlugin(), opts);
    const b = renderSgxPluginDaemonSet({ ...samplePlugin(), metadata: { name: "other" } }, opts);
    expect(a.spec?.selector).toEqual(b.spec?.selector as NonNullable<typeof a.spec>["selector"]);
    expect(b.spec?.template.metadata?.labels?.["app.kubernetes.io/instance"]).toBe("other");
  });
});
