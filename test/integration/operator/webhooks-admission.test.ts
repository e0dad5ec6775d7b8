// The admission policy on a real API server (issue 11 item 3): a tenant CAS asking for a privileged container, a
// toleration of every taint and an image from a foreign registry is refused by kubectl naming each field; the
// same rights are admitted in a namespace a cluster admin labelled; and a CAS or Vault that no webhook saw (here:
// created without the label the suite's webhook configurations select on, as if the operator had been down) is
// not rendered: its status names the fields and no StatefulSet exists, while an allowed CAS next to it is rendered.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { V1StatefulSet } from "@kubernetes/client-node";
import { KubeClient } from "../../../src/kube/client.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { createLogger } from "../../../src/log.ts";
import { ALLOW_PRIVILEGED_LABEL, ALLOW_TOLERATE_ALL_LABEL } from "../../../src/operator/admission/policy.ts";
import { registerCasController } from "../../../src/operator/cas/controller.ts";
import type { CasProbe, CasProbeResult } from "../../../src/operator/cas/probe.ts";
import { registerVaultController } from "../../../src/operator/vault/controller.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../../harness/cluster.ts";
import { freshNamespace, waitFor } from "../../harness/kube.ts";
import { buildOperatorContext, cleanupSteps, installCrds, type TestOperator } from "../../harness/operator.ts";
import { CAS_API, type SuiteWebhooks, startSuiteWebhooks } from "../../harness/suite-webhooks.ts";

const SUITE = `scone-adm-${Math.random().toString(36).slice(2, 8)}`;
const LABEL_KEY = "scone-test/admission";
const LABELS = { [LABEL_KEY]: SUITE };
const FIELD_MANAGER = "scone-admission-test";

/** A spec with every kind of right the policy guards, and an image from a registry nobody allowed. */
const RISKY_SPEC = {
  image: "evil.example/cas:6.0.6",
  containerSecurityContextCAS: { privileged: true },
  tolerations: [{ operator: "Exists" }],
};
/** The same rights from the SCONE registry: what a labelled namespace may run. */
const PRIVILEGED_SPEC = { ...RISKY_SPEC, image: "registry.scontain.com/scone.cloud/cas:6.0.6" };

const jsonOf = (o: unknown): string => JSON.stringify(o); // kubectl reads JSON as YAML

/** Never reachable: these CAS are never provisioned; what matters is what the controller renders. */
const unreachable: CasProbe = { probe: async (): Promise<CasProbeResult> => ({ reachable: false, error: "test" }) };

type Conditioned = KubeObject & {
  status?: { conditions?: { type: string; status: string; reason: string; message: string }[] };
};

describe.skipIf(!clusterAvailable())("admission policy on a real API server", () => {
  let cluster: LocalCluster;
  let admin: KubeClient;
  let suite: SuiteWebhooks | undefined;
  let op: TestOperator | undefined;
  let tenant = "";
  let allowed = "";
  const log = createLogger({ level: "warn", sink: process.stderr, component: "admission-test" });

  const cas = (namespace: string, name: string, spec: object, labels: Record<string, string> = LABELS) => ({
    apiVersion: CAS_API,
    kind: "CAS",
    metadata: { name, namespace, labels },
    spec,
  });
  const statefulSet = (namespace: string, name: string) =>
    admin.tryGet<V1StatefulSet>({ apiVersion: "apps/v1", kind: "StatefulSet", namespace, name });

  beforeAll(async () => {
    cluster = await sharedCluster();
    admin = await KubeClient.load({ kubeconfig: cluster.kubeconfigPath, fieldManager: FIELD_MANAGER });
    await installCrds(admin);
    await admin.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: SUITE } });
    tenant = await freshNamespace(admin, `${SUITE}-t`);
    allowed = await freshNamespace(admin, `${SUITE}-ok`);
    // What the cluster admin does for a namespace whose CAS may run privileged and everywhere.
    await admin.patch(
      { apiVersion: "v1", kind: "Namespace", name: allowed },
      { metadata: { labels: { [ALLOW_PRIVILEGED_LABEL]: "true", [ALLOW_TOLERATE_ALL_LABEL]: "true" } } },
      "merge",
    );
    suite = await startSuiteWebhooks(admin, SUITE, LABEL_KEY, { log });
  }, 300_000);

  afterAll(async () => {
    await cleanupSteps([
      () => op?.stop(),
      // The CAS finalizer has no operator any more: drop it so the namespaces can go.
      async () => {
        for (const ns of [tenant, allowed].filter(Boolean)) {
          const list = await admin.list({ apiVersion: CAS_API, kind: "CAS" }, { namespace: ns });
          for (const c of list.items)
            await admin.patch(
              { apiVersion: CAS_API, kind: "CAS", namespace: ns, name: c.metadata?.name ?? "" },
              { metadata: { finalizers: null } },
              "merge",
            );
        }
      },
      () => suite?.stop(),
      ...[SUITE, tenant, allowed]
        .filter(Boolean)
        .map((name) => () => admin?.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name })),
    ]);
  }, 120_000);

  test("a tenant CAS with a privileged container, a toleration of every taint and a foreign image is refused, naming each field", async () => {
    const r = await cluster.kubectl(["create", "-f", "-"], { stdin: jsonOf(cas(tenant, "risky", RISKY_SPEC)) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('admission webhook "vcas.kb.io" denied the request');
    expect(r.stderr).toContain('spec.image: image "evil.example/cas:6.0.6" is from evil.example');
    expect(r.stderr).toContain(
      `spec.containerSecurityContextCAS.privileged: a privileged container is not allowed in namespace ${tenant}`,
    );
    expect(r.stderr).toContain(`kubectl label namespace ${tenant} ${ALLOW_PRIVILEGED_LABEL}=true`);
    expect(r.stderr).toContain(
      `spec.tolerations[0]: a toleration of every taint is not allowed in namespace ${tenant}`,
    );
    expect(await admin.tryGet({ apiVersion: CAS_API, kind: "CAS", namespace: tenant, name: "risky" })).toBeUndefined();
  });

  test("a host path cannot even be written into a CAS: the schema has no such field", async () => {
    const spec = { volumes: [{ name: "root", hostPath: { path: "/" } }] };
    const r = await cluster.kubectl(["create", "-f", "-"], { stdin: jsonOf(cas(tenant, "hostpath", spec)) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('unknown field "spec.volumes"');
  });

  test("the same rights are admitted in a namespace the cluster admin labelled; a foreign image still is not", async () => {
    const ok = await cluster.kubectl(["create", "-f", "-"], {
      stdin: jsonOf(cas(allowed, "privileged", PRIVILEGED_SPEC)),
    });
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    const foreign = await cluster.kubectl(["create", "-f", "-"], {
      stdin: jsonOf(cas(allowed, "foreign", RISKY_SPEC)),
    });
    expect(foreign.code).not.toBe(0);
    expect(foreign.stderr).toContain("spec.image:");
    expect(foreign.stderr).not.toContain("spec.tolerations[0]");
  });

  test("a CAS and a Vault no webhook saw are not rendered: status names the fields, no StatefulSet", async () => {
    // No suite label: the suite's webhook configurations do not select them, as when the operator was down.
    await admin.create(cas(tenant, "unseen", RISKY_SPEC, {}));
    await admin.create(cas(tenant, "plain", {}, {}));
    await admin.create({
      apiVersion: CAS_API,
      kind: "Vault",
      metadata: { name: "unseen-vault", namespace: tenant },
      spec: {
        global: {},
        injector: { enabled: false },
        server: { image: { repository: "evil.example/vault", tag: "1" } },
      },
    });
    op = await buildOperatorContext({ kubeconfigPath: cluster.kubeconfigPath, operatorNamespace: SUITE });
    registerCasController(op.ctx, unreachable, { healthyRecheckMs: 1_000, unhealthyRecheckMs: 500 });
    registerVaultController(op.ctx, { recheckMs: 500 });
    await op.start();

    // The allowed CAS next to it is rendered: the controller runs, and it is the policy that holds the other back.
    await waitFor("the StatefulSet of the allowed CAS", () => statefulSet(tenant, "plain"));
    const specApplied = await waitFor("status of the refused CAS", async () => {
      const c = await admin.get<Conditioned>({ apiVersion: CAS_API, kind: "CAS", namespace: tenant, name: "unseen" });
      return c.status?.conditions?.find((x) => x.type === "SpecApplied" && x.reason === "NotAllowed");
    });
    expect(specApplied.status).toBe("False");
    expect(specApplied.message).toContain('spec.image: image "evil.example/cas:6.0.6" is from evil.example');
    expect(specApplied.message).toContain("spec.containerSecurityContextCAS.privileged: a privileged container");
    expect(specApplied.message).toContain("spec.tolerations[0]: a toleration of every taint");
    // The status is written after the apply step of the same reconcile: had anything been applied, it would be here.
    expect(await statefulSet(tenant, "unseen")).toBeUndefined();

    const vaultCondition = await waitFor("status of the refused Vault", async () => {
      const v = await admin.get<Conditioned>({
        apiVersion: CAS_API,
        kind: "Vault",
        namespace: tenant,
        name: "unseen-vault",
      });
      return v.status?.conditions?.find((x) => x.reason === "NotAllowed");
    });
    expect(vaultCondition.message).toContain(
      'spec.server.image.repository: image "evil.example/vault" is from evil.example',
    );
    expect(await statefulSet(tenant, "unseen-vault")).toBeUndefined();
  }, 120_000);

  test("the controller renders the admitted privileged CAS in the labelled namespace with the rights it was allowed", async () => {
    const sts = await waitFor("the StatefulSet of the allowed privileged CAS", () =>
      statefulSet(allowed, "privileged"),
    );
    const pod = sts.spec?.template.spec;
    expect(pod?.containers.find((c) => c.name === "cas")?.securityContext?.privileged).toBe(true);
    expect(pod?.tolerations).toEqual([{ operator: "Exists" }]);
  }, 60_000);
});
