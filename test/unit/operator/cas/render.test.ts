import { describe, expect, test } from "bun:test";
import type { V1StatefulSet } from "@kubernetes/client-node";
import { renderCasObjects } from "../../../../src/operator/cas/desired.ts";
import {
  defaultPodSecurity,
  renderCasNetworkPolicy,
  renderCasService,
  renderCasStatefulSet,
} from "../../../../src/operator/cas/render.ts";
import { backupControllerEnv, renderSafetyServiceDeployment } from "../../../../src/operator/cas/render-companions.ts";
import { casSettings, durationSeconds } from "../../../../src/operator/cas/settings.ts";
import type { CAS } from "../../../../src/resources/cas.ts";
import { opts, upstreamCas } from "../../../harness/cas-fixtures.ts";
import { expectGolden } from "../golden/render-golden.ts";

const podSpec = (sts: V1StatefulSet) => sts.spec?.template.spec;
const withSpec = (cas: CAS, spec: CAS["spec"]): CAS => ({ ...cas, spec: { ...cas.spec, ...spec } });

describe("CAS renderers", () => {
  test("the upstream provisioning and full manifests render to the golden YAML", async () => {
    const provisioning = renderCasObjects(await upstreamCas("cas_provisioning.yaml"), opts);
    await expectGolden("../cas/golden/cas-provisioning.yaml", provisioning.owned);
    const full = renderCasObjects(await upstreamCas("cas.yaml"), opts);
    await expectGolden("../cas/golden/cas-full.yaml", [...full.owned, ...full.cluster]);
  });

  test("pod NAME-0 runs containers cas and audit with the volumes of §3.3", async () => {
    const sts = renderCasStatefulSet(await upstreamCas("cas_provisioning.yaml"), opts);
    expect(sts.metadata?.name).toBe("cas");
    expect(sts.spec?.replicas).toBe(1);
    const pod = podSpec(sts);
    expect(pod?.containers.map((c) => c.name)).toEqual(["cas", "audit"]);
    const mounts = Object.fromEntries((pod?.containers[0]?.volumeMounts ?? []).map((m) => [m.name, m.mountPath]));
    expect(mounts).toEqual({
      config: "/etc/cas/cas.toml",
      database: "/etc/cas/db",
      healthcheck: "/tmp/healthcheck",
      "audit-log": "/var/log/cas/audit",
      "database-snapshots": "/var/mnt/cas-database-snapshots",
    });
    expect(pod?.containers[1]?.command).toEqual(["tail", "-n", "+1", "-F", "/var/log/cas/audit/cas_audit.log"]);
    // PVCs database-cas-0 and database-snapshots-cas-0 come from these templates.
    expect(sts.spec?.volumeClaimTemplates?.map((t) => t.metadata?.name)).toEqual(["database", "database-snapshots"]);
    expect(sts.spec?.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: "Retain", whenScaled: "Retain" });
    expect(pod?.containers[0]?.resources?.limits?.["sgx.intel.com/enclave"]).toEqual(1 as unknown as string);
    expect(pod?.nodeSelector).toEqual({ "las.scontain.com/ok": "true", "las.scontain.com/capable": "true" });
    expect(sts.spec?.template.metadata?.labels).toMatchObject({
      "app.kubernetes.io/name": "cas",
      "app.kubernetes.io/instance": "cas",
    });
  });

  test("without persistence the database and snapshots are emptyDirs and no claim is made", async () => {
    const cas = withSpec(await upstreamCas("cas_provisioning.yaml"), {
      persistence: { enabled: false },
      databaseSnapshots: { enabled: true, persistence: { enabled: false }, targetDirectory: "/snap" },
    });
    const sts = renderCasStatefulSet(cas, opts);
    expect(sts.spec?.volumeClaimTemplates).toBeUndefined();
    const vols = Object.fromEntries((podSpec(sts)?.volumes ?? []).map((v) => [v.name, v]));
    expect(vols.database?.emptyDir).toEqual({});
    expect(vols["database-snapshots"]?.emptyDir).toEqual({});
    expect(podSpec(sts)?.containers[0]?.volumeMounts?.find((m) => m.name === "database-snapshots")?.mountPath).toBe(
      "/snap",
    );
  });

  test("snapshots disabled: no snapshot volume, mount or env", async () => {
    const cas = withSpec(await upstreamCas("cas_provisioning.yaml"), { databaseSnapshots: { enabled: false } });
    const sts = renderCasStatefulSet(cas, opts);
    expect(JSON.stringify(sts)).not.toContain("database-snapshots");
    expect(podSpec(sts)?.containers[0]?.env).toBeUndefined();
  });

  test("probes only when enabled, with the upstream defaults and the given thresholds", async () => {
    const plain = renderCasStatefulSet(await upstreamCas("cas_provisioning.yaml"), opts);
    expect(podSpec(plain)?.containers[0]?.livenessProbe).toBeUndefined();
    expect(podSpec(plain)?.containers[0]?.startupProbe).toBeUndefined();
    const cas = withSpec(await upstreamCas("cas.yaml"), {
      startupProbe: { enabled: true, initialDelaySeconds: 60, failureThreshold: 15, timeoutSeconds: 60 },
    });
    const c = podSpec(renderCasStatefulSet(cas, opts))?.containers[0];
    expect(c?.livenessProbe).toMatchObject({
      failureThreshold: 3,
      initialDelaySeconds: 3,
      periodSeconds: 60,
      timeoutSeconds: 20,
    });
    expect(c?.startupProbe).toMatchObject({ failureThreshold: 15, initialDelaySeconds: 60, timeoutSeconds: 60 });
    // Only what is documented: CAS listens on its client port. No guessed CLI command (upstream's are not public; the
    // testing-only trust-any attest a guess used fails on a production CAS), attested or not.
    for (const attestedCLIProbes of [false, true]) {
      const k = podSpec(renderCasStatefulSet(withSpec(cas, { attestedCLIProbes }), opts))?.containers[0];
      for (const probe of [k?.livenessProbe, k?.startupProbe]) {
        expect(probe?.tcpSocket).toEqual({ port: "client" });
        expect(probe?.exec).toBeUndefined();
      }
      expect(k?.ports?.find((p) => p.name === "client")?.containerPort).toBe(8081);
    }
  });

  test("no invented environment: the cas container has none, whatever snapshots, EDMM mode or metrics say", async () => {
    const cas = withSpec(await upstreamCas("cas.yaml"), {
      edmmMode: "enable",
      enclaveMetrics: { enabled: true, port: 9090 },
      databaseSnapshots: { enabled: true, interval: "5m" },
    });
    const c = podSpec(renderCasStatefulSet(cas, opts))?.containers[0];
    expect(c?.env).toBeUndefined();
    // What the fields still decide: the snapshot volume and the metrics port.
    expect(c?.volumeMounts?.map((m) => m.mountPath)).toContain("/var/mnt/cas-database-snapshots");
    expect(c?.ports?.find((p) => p.name === "metrics")?.containerPort).toBe(9090);
  });

  test("placement pins the pod to the given nodes by name", async () => {
    const cas = await upstreamCas("cas.yaml");
    const sts = renderCasStatefulSet(cas, opts, {
      casImage: "x",
      backupControllerImage: "y",
      safetyServiceImage: "z",
      placement: ["sgx-node-2"],
    });
    expect(podSpec(sts)?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution).toEqual({
      nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: ["sgx-node-2"] }] }],
    });
    expect(podSpec(sts)?.containers.every((c) => c.image === "x")).toBe(true);
  });

  test("5.8 images run as root; newer ones non-root with fsGroup 1000", () => {
    expect(defaultPodSecurity("r/cas:5.8.1").runAsNonRoot).toBe(false);
    expect(defaultPodSecurity("r/cas:6.0.6")).toEqual({
      runAsNonRoot: true,
      fsGroup: 1000,
      seccompProfile: { type: "RuntimeDefault" },
    });
  });

  test("Service: ports client 8081 and enclave 18765, node ports and load balancer IP only where they apply", async () => {
    const base = await upstreamCas("cas_provisioning.yaml");
    const svc = renderCasService(base, opts);
    expect(svc.spec?.type).toBe("NodePort");
    expect(svc.spec?.ports?.map((p) => [p.name, p.port])).toEqual([
      ["client", 8081],
      ["enclave", 18765],
    ]);
    expect(svc.spec?.selector).toEqual({ "app.kubernetes.io/name": "cas", "app.kubernetes.io/instance": "cas" });
    const fixed = renderCasService(
      withSpec(base, {
        service: {
          type: "LoadBalancer",
          clientPort: 9000,
          nodePorts: { clientPort: 30081 },
          loadBalancerIP: "10.0.0.9",
          annotations: { a: "b" },
        },
      }),
      opts,
    );
    expect(fixed.spec?.ports?.[0]).toMatchObject({ port: 9000, nodePort: 30081 });
    expect(fixed.spec?.ports?.[1]?.nodePort).toBeUndefined();
    expect(fixed.spec?.loadBalancerIP).toBe("10.0.0.9");
    expect(fixed.metadata?.annotations).toEqual({ a: "b" });
    const cluster = renderCasService(withSpec(base, { service: { nodePorts: { clientPort: 30081 } } }), opts);
    expect(cluster.spec?.type).toBe("ClusterIP");
    expect(cluster.spec?.ports?.[0]?.nodePort).toBeUndefined();
  });

  test("NetworkPolicy only when enabled; peers from the given namespace and pod labels plus the companions", async () => {
    const base = await upstreamCas("cas_provisioning.yaml");
    expect(renderCasNetworkPolicy(base, opts)).toBeUndefined();
    const np = renderCasNetworkPolicy(
      withSpec(base, {
        networkPolicy: { enabled: true, ingressNSMatchLabels: { team: "a" }, ingressPodMatchLabels: { app: "x" } },
      }),
      opts,
    );
    expect(np?.spec.ingress[0]?.from).toEqual([
      { namespaceSelector: { matchLabels: { team: "a" } }, podSelector: { matchLabels: { app: "x" } } },
      { podSelector: { matchLabels: { "app.kubernetes.io/instance": "cas" } } },
    ]);
    expect(np?.spec.ingress[0]?.ports.map((p) => p.port)).toEqual([8081, 18765]);
  });

  test("backup controller only when enabled, with the upstream env; user env overrides by name", async () => {
    const provisioning = renderCasObjects(await upstreamCas("cas_provisioning.yaml"), opts);
    expect(provisioning.owned.map((o) => `${o.kind}/${o.metadata?.name}`)).toEqual([
      "ConfigMap/cas-config",
      "StatefulSet/cas",
      "Service/cas",
      "PodDisruptionBudget/cas",
    ]);
    expect(provisioning.cluster).toEqual([]);
    const cas = await upstreamCas("cas.yaml");
    const env = Object.fromEntries(backupControllerEnv(cas, opts).map((e) => [e.name, e.value ?? e.valueFrom]));
    expect(env).toMatchObject({
      LAS_SELECTOR_LABEL: "app.kubernetes.io/name=las",
      BACKUP_CAS_IMAGE: "registry.scontain.com/scone.cloud/cas:6.0.6",
      SCONE_LAS_ADDR: { fieldRef: { fieldPath: "status.hostIP" } },
      BACKUP_CAS_CLIENT_PORT: "8081",
      BACKUP_CAS_ENCLAVE_PORT: "18765",
      SELECTOR_LABELS:
        '{"las.scontain.com/capable":"true","las.scontain.com/ok":"true","sgx.intel.com/capable":"true"}',
      CONTROLLER_LOOP_INTERVAL_SECONDS: "60",
      BACKUP_CAS_NAME: "cas",
      NAMESPACE: "scone",
    });
    // Upstream's defaults (§3.1) and §12.5's variables, nothing invented: no session variable (how upstream's operator
    // hands the controller its session is not public), no CAS address, no debug switch.
    expect(Object.keys(env).sort()).toEqual([
      "BACKUP_CAS_CLIENT_PORT",
      "BACKUP_CAS_ENCLAVE_PORT",
      "BACKUP_CAS_IMAGE",
      "BACKUP_CAS_NAME",
      "CONTROLLER_LOOP_INTERVAL_SECONDS",
      "LAS_NAMESPACE",
      "LAS_SELECTOR_LABEL",
      "NAMESPACE",
      "SCONE_LAS_ADDR",
      "SELECTOR_LABELS",
      "SGX_RESOURCE_NAME",
      "SGX_RESOURCE_QUANTITY",
    ]);
    const debug = withSpec(cas, { "backup-controller": { ...cas.spec?.["backup-controller"], debug: true } });
    expect(backupControllerEnv(debug, opts).map((e) => e.name)).toEqual(Object.keys(env));
    const own = withSpec(cas, {
      "backup-controller": { ...cas.spec?.["backup-controller"], env: [{ name: "BACKUP_CAS_NAME", value: "x" }] },
    });
    const merged = backupControllerEnv(own, opts);
    expect(merged.filter((e) => e.name === "BACKUP_CAS_NAME")).toEqual([{ name: "BACKUP_CAS_NAME", value: "x" }]);
  });

  test("safety service: on by default with the backup controller, off when its section says so", async () => {
    const full = await upstreamCas("cas.yaml");
    expect(casSettings(full, opts).safetyService.enabled).toBe(true);
    expect(casSettings(await upstreamCas("cas_provisioning.yaml"), opts).safetyService.enabled).toBe(false);
    const off = withSpec(full, {
      safetyService: { enabled: false, podAntiAffinityTopologyKey: "kubernetes.io/hostname" },
    });
    expect(casSettings(off, opts).safetyService.enabled).toBe(false);
    const zoned = withSpec(full, {
      safetyService: { enabled: true, podAntiAffinityTopologyKey: "topology.kubernetes.io/zone", desiredReplicas: 2 },
    });
    const d = renderSafetyServiceDeployment(zoned, opts);
    expect(d.spec?.replicas).toBe(2);
    expect(
      d.spec?.template.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.[0]
        ?.topologyKey,
    ).toBe("topology.kubernetes.io/zone");
    // Its configuration is not public: no invented environment.
    expect(d.spec?.template.spec?.containers[0]?.env).toBeUndefined();
  });

  test("Go durations", () => {
    expect(durationSeconds("24h0m0s")).toBe(86400);
    expect(durationSeconds("60s")).toBe(60);
    expect(durationSeconds("1h30m")).toBe(5400);
    expect(durationSeconds("500ms")).toBe(0.5);
    expect(durationSeconds("soon")).toBeNaN();
    expect(durationSeconds("10 s")).toBeNaN();
  });
});
