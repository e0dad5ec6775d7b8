// Pull-secret injection on the local cluster: the operator's controller (in this process, as `scone operator` runs
// it) copies the pull secrets of its namespace into namespaces annotated for them, follows a token change, leaves a
// secret it did not create alone, and removes only its own copies when the annotation goes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { renderPullSecrets } from "../../../src/flows/install/pull-secrets.ts";
import { renderInstallManifests } from "../../../src/install/manifests.ts";
import {
  installClusterName,
  NAMESPACE_ROLE_BINDING_NAME,
  NAMESPACE_ROLE_NAME,
  SERVICE_ACCOUNT_NAME,
} from "../../../src/install/names.ts";
import type { KubeClient } from "../../../src/kube/client.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { registerPullSecretController } from "../../../src/operator/pull-secrets/controller.ts";
import { clusterAvailable, sharedCluster } from "../../harness/cluster.ts";
import { adminClient, waitFor } from "../../harness/kube.ts";
import { buildOperatorContext, cleanupSteps, type TestOperator } from "../../harness/operator.ts";

const SUFFIX = Math.random().toString(36).slice(2, 8);
const OPNS = `scone-pull-op-${SUFFIX}`;
const TEAM = `scone-pull-team-${SUFFIX}`;
const OWN = `scone-pull-own-${SUFFIX}`;
const REGISTRY = "registry.scontain.com";

type Secret = KubeObject & { type?: string; data?: Record<string, string> };
const creds = (token: string) => ({
  registry: REGISTRY,
  username: "alice",
  accessToken: token,
  email: "a@example.com",
});

describe.skipIf(!clusterAvailable())("pull-secret injection", () => {
  let op: TestOperator;
  let client: KubeClient;
  const secret = (namespace: string, name: string) =>
    client.tryGet<Secret>({ apiVersion: "v1", kind: "Secret", namespace, name });
  const source = (name: string) => secret(OPNS, name);

  beforeAll(async () => {
    const cluster = await sharedCluster();
    op = await buildOperatorContext({ kubeconfigPath: cluster.kubeconfigPath, operatorNamespace: OPNS });
    client = op.client;
    await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: OPNS } });
    for (const s of renderPullSecrets(OPNS, creds("token-one"), {})) await client.create(s as KubeObject);
    registerPullSecretController(op.ctx);
    await op.start();
  });

  afterAll(async () => {
    await cleanupSteps([
      () => op.stop(),
      ...[OPNS, TEAM, OWN].map((name) => () => client.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name })),
    ]);
  });

  test("an annotated namespace gets its secret, and the copy follows a token change", async () => {
    await client.create({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: TEAM, annotations: { "sconeapps/inject-pull-secret": "true" } },
    });
    const first = await waitFor("sconeapps copied", () => secret(TEAM, "sconeapps"));
    expect(first.type).toBe("kubernetes.io/dockerconfigjson");
    expect(first.data).toEqual((await source("sconeapps"))?.data ?? {});
    // Only the secret the annotation names.
    expect(await secret(TEAM, "scone-operator-pull")).toBeUndefined();

    const [, renewed] = renderPullSecrets(OPNS, creds("token-two"), {});
    await client.replace({
      ...(renewed as KubeObject),
      metadata: { ...renewed?.metadata, resourceVersion: (await source("sconeapps"))?.metadata?.resourceVersion },
    });
    const expected = renewed?.data?.[".dockerconfigjson"];
    await waitFor(
      "the copy to hold the new token",
      async () => (await secret(TEAM, "sconeapps"))?.data?.[".dockerconfigjson"] === expected,
    );
  });

  test("a secret it did not create is left alone; only its own copies are removed", async () => {
    const foreign = {
      apiVersion: "v1",
      kind: "Secret",
      type: "kubernetes.io/dockerconfigjson",
      metadata: { name: "sconeapps", namespace: OWN },
    };
    const ownData = {
      ".dockerconfigjson": Buffer.from('{"auths":{"mirror.example.com":{"auth":"eDp5"}}}').toString("base64"),
    };
    await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: OWN } });
    await client.create({ ...foreign, data: ownData } as KubeObject);
    await client.patch(
      { apiVersion: "v1", kind: "Namespace", name: OWN },
      {
        metadata: {
          annotations: { "sconeapps/inject-pull-secret": "true", "scone-operator/inject-pull-secret": "true" },
        },
      },
    );
    // The reconcile of OWN ran once scone-operator-pull is there; by then sconeapps was judged too.
    await waitFor("scone-operator-pull copied", () => secret(OWN, "scone-operator-pull"));
    expect((await secret(OWN, "sconeapps"))?.data).toEqual(ownData);

    for (const name of [TEAM, OWN])
      await client.patch(
        { apiVersion: "v1", kind: "Namespace", name },
        {
          metadata: {
            annotations: { "sconeapps/inject-pull-secret": null, "scone-operator/inject-pull-secret": null },
          },
        },
      );
    await waitFor(
      "the copies removed",
      async () => !(await secret(TEAM, "sconeapps")) && !(await secret(OWN, "scone-operator-pull")),
    );
    expect((await secret(OWN, "sconeapps"))?.data).toEqual(ownData);
  });
});

// The same controller as the operator's ServiceAccount with the installed RBAC: it may list and watch namespaces,
// and it writes a copy only where its namespace role is bound; elsewhere the namespace gets a Warning Event.
describe.skipIf(!clusterAvailable())("pull-secret injection with the installed RBAC", () => {
  const OPNS2 = `scone-pull-rbac-${SUFFIX}`;
  const BOUND = `scone-pull-bound-${SUFFIX}`;
  const UNBOUND = `scone-pull-unbound-${SUFFIX}`;
  let admin: KubeClient;
  let op: TestOperator;
  const clusterObjects: KubeObject[] = [];

  beforeAll(async () => {
    const cluster = await sharedCluster();
    admin = await adminClient(cluster);
    const rbac = renderInstallManifests({ namespace: OPNS2, version: "6.0.6" }).filter((o) =>
      ["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"].includes(
        o.kind ?? "",
      ),
    );
    for (const o of rbac) {
      await admin.apply(o, { force: true, fieldManager: "scone-test" });
      if (!o.metadata?.namespace) clusterObjects.push(o);
    }
    for (const s of renderPullSecrets(OPNS2, creds("token-one"), {})) await admin.create(s as KubeObject);
    const kubeconfig = await cluster.serviceAccountKubeconfig(OPNS2, SERVICE_ACCOUNT_NAME);
    op = await buildOperatorContext({ kubeconfigPath: kubeconfig, operatorNamespace: OPNS2 });
    registerPullSecretController(op.ctx);
    await op.start();
  });

  afterAll(async () => {
    await cleanupSteps([
      () => op.stop(),
      ...[BOUND, UNBOUND].map((name) => () => admin.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name })),
      ...clusterObjects.map(
        (o) => () =>
          admin.deleteIfExists({ apiVersion: o.apiVersion ?? "", kind: o.kind ?? "", name: o.metadata?.name ?? "" }),
      ),
    ]);
  });

  test("copied where the namespace role is bound; a Warning Event naming the RoleBinding elsewhere", async () => {
    const annotations = { "sconeapps/inject-pull-secret": "true" };
    // The bound namespace asks for the copy only once the grant is in force: the operator re-checks refused rights
    // every 5 min (no event tells it of a new RoleBinding), longer than this test waits.
    await admin.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: BOUND } });
    await admin.create({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: NAMESPACE_ROLE_BINDING_NAME, namespace: BOUND },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: installClusterName(NAMESPACE_ROLE_NAME, OPNS2),
      },
      subjects: [{ kind: "ServiceAccount", name: SERVICE_ACCOUNT_NAME, namespace: OPNS2 }],
    });
    await waitFor("the operator's ServiceAccount may read Secrets in the bound namespace", async () => {
      const review = await admin.create<KubeObject & { status?: { allowed?: boolean } }>({
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: {
          user: `system:serviceaccount:${OPNS2}:${SERVICE_ACCOUNT_NAME}`,
          resourceAttributes: { verb: "get", resource: "secrets", namespace: BOUND },
        },
      } as KubeObject);
      return review.status?.allowed === true;
    });
    await admin.patch({ apiVersion: "v1", kind: "Namespace", name: BOUND }, { metadata: { annotations } });
    await admin.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: UNBOUND, annotations } });
    await waitFor("sconeapps copied into the bound namespace", () =>
      admin.tryGet({ apiVersion: "v1", kind: "Secret", namespace: BOUND, name: "sconeapps" }),
    );
    const event = await waitFor("the Warning Event on the unbound namespace", async () => {
      const events = await admin.list<KubeObject & { reason?: string; message?: string; type?: string }>(
        { apiVersion: "v1", kind: "Event" },
        { namespace: "default", fieldSelector: `involvedObject.name=${UNBOUND},reason=PullSecretNotInjected` },
      );
      return events.items[0];
    });
    expect(event.type).toBe("Warning");
    expect(event.message).toContain(`kubectl create rolebinding ${NAMESPACE_ROLE_BINDING_NAME} -n ${UNBOUND}`);
    expect(
      await admin.tryGet({ apiVersion: "v1", kind: "Secret", namespace: UNBOUND, name: "sconeapps" }),
    ).toBeUndefined();
  });
});
