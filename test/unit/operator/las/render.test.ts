import { describe, expect, test } from "bun:test";
import { renderLasDaemonSet, renderLasDcapSecret } from "../../../../src/operator/las/render.ts";
import type { LAS } from "../../../../src/resources/las.ts";
import { expectGolden } from "../golden/render-golden.ts";

const opts = { serviceVersion: "6.0.6", operatorNamespace: "scone-system" };

/** The upstream sample (operator-samples/base_v1beta1_las.yaml). */
export const sampleLas = (): LAS => ({
  apiVersion: "base.scone.cloud/v1beta1",
  kind: "LAS",
  metadata: { name: "las", uid: "u-las", generation: 1 },
  spec: {
    autoUpdate: true,
    image: "registry.scontain.com/scone.cloud/las:no-epid-production",
    imagePullSecrets: [{ name: "scone-operator-pull" }],
    imagePullPolicy: "Always",
    namespace: "scone-system",
    podAnnotations: { "scone-operator/inject-pull-secret": "true" },
  },
});

const withKey = (): LAS => ({
  ...sampleLas(),
  spec: { ...sampleLas().spec, dcapKey: "0123456789abcdef0123456789abcdef" },
});

describe("renderLasDaemonSet", () => {
  test("the upstream sample and a LAS with a DCAP key match the golden YAML", async () => {
    const custom: LAS = {
      ...withKey(),
      spec: {
        ...withKey().spec,
        hostPort: 20000,
        nodeSelector: { zone: "a" },
        resources: { limits: { memory: "128Mi" } },
        podSecurityContext: { runAsNonRoot: false },
      },
    };
    await expectGolden("las-daemonset.yaml", [
      renderLasDaemonSet(sampleLas(), opts),
      renderLasDaemonSet(custom, opts),
      renderLasDcapSecret(custom, opts),
    ]);
  });

  test("runs on SGX nodes: sgx.intel.com/capable=true is injected unless the key is given", () => {
    expect(renderLasDaemonSet(sampleLas(), opts).spec?.template.spec?.nodeSelector).toEqual({
      "sgx.intel.com/capable": "true",
    });
    const own = sampleLas();
    own.spec = { ...own.spec, nodeSelector: { "sgx.intel.com/capable": "yes", x: "y" } };
    expect(renderLasDaemonSet(own, opts).spec?.template.spec?.nodeSelector).toEqual({
      "sgx.intel.com/capable": "yes",
      x: "y",
    });
  });

  test("two containers (las + probe), hostPort 18766 by default, the enclave limit always set", () => {
    const pod = renderLasDaemonSet(sampleLas(), opts).spec?.template;
    expect(pod?.metadata?.labels?.["app.kubernetes.io/name"]).toBe("las");
    expect(pod?.spec?.containers.map((c) => c.name)).toEqual(["las", "probe"]);
    const las = pod?.spec?.containers[0];
    expect(las?.ports?.[0]).toMatchObject({ containerPort: 18766, hostPort: 18766, protocol: "TCP" });
    expect(String(las?.resources?.limits?.["sgx.intel.com/enclave"])).toBe("1");
    const zero = sampleLas();
    zero.spec = { ...zero.spec, hostPort: 1234, resources: { limits: { "sgx.intel.com/enclave": 0 } } };
    const c = renderLasDaemonSet(zero, opts).spec?.template.spec?.containers[0];
    expect(String(c?.resources?.limits?.["sgx.intel.com/enclave"])).toBe("1");
    expect(c?.ports?.[0]?.hostPort).toBe(1234);
  });

  test("default security contexts: non-root pod, no privilege escalation, all capabilities dropped", () => {
    const pod = renderLasDaemonSet(sampleLas(), opts).spec?.template.spec;
    expect(pod?.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
    for (const c of pod?.containers ?? [])
      expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
  });

  test("the DCAP key travels in a Secret, never inline in the DaemonSet", () => {
    const las = withKey();
    const ds = renderLasDaemonSet(las, opts);
    expect(JSON.stringify(ds)).not.toContain("0123456789abcdef0123456789abcdef");
    const env = ds.spec?.template.spec?.containers[1]?.env?.find((e) => e.name === "SCONE_DCAP_API_KEY");
    expect(env?.valueFrom?.secretKeyRef).toEqual({ name: "las-dcap-key", key: "dcapKey" });
    const secret = renderLasDcapSecret(las, opts);
    expect(Buffer.from(secret?.data?.dcapKey ?? "", "base64").toString()).toBe("0123456789abcdef0123456789abcdef");
    expect(secret?.metadata?.namespace).toBe("scone-system");
    expect(renderLasDcapSecret(sampleLas(), opts)).toBeUndefined();
    // A changed key restarts the pods (they read the key at start).
    const other = { ...las, spec: { ...las.spec, dcapKey: "ffff" } };
    const hash = (l: LAS) =>
      renderLasDaemonSet(l, opts).spec?.template.metadata?.annotations?.["base.scone.cloud/dcap-key-hash"];
    expect(hash(other)).not.toBe(hash(las));
  });

  test("rolls out one node at a time; namespace defaults to the operator's", () => {
    const las = sampleLas();
    las.spec = { ...las.spec, namespace: undefined };
    const ds = renderLasDaemonSet(las, { ...opts, operatorNamespace: "ops" });
    expect(ds.metadata).toMatchObject({ name: "las", namespace: "ops" });
    expect(ds.spec?.updateStrategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } });
    expect(ds.spec?.template.spec?.containers[0]?.image).toBe(
      "registry.scontain.com/scone.cloud/las:no-epid-production",
    );
  });
});
