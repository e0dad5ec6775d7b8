// Helpers of takeover.test.ts (scone's image comes from test/harness/real-node-operator.ts): minimal cert-manager CRDs
// (the local cluster has none), and what an upstream (helm chart) install leaves in its namespace: the controller
// Deployment running another image on the real node, cert-manager's Issuer and Certificate, the serving Secret, the
// controller-runtime ConfigMap and a validating webhook configuration with cert-manager's CA-injection annotation.
import { renderInstallManifests } from "../../../src/install/manifests.ts";
import { mutatingWebhookConfigurationName, validatingWebhookConfigurationName } from "../../../src/install/names.ts";
import type { KubeClient } from "../../../src/kube/client.ts";
import type { KubeObject, ObjectRef } from "../../../src/kube/types.ts";
import { waitFor } from "../../harness/kube.ts";

const CRD_API = "apiextensions.k8s.io/v1";
const ADMISSION = "admissionregistration.k8s.io/v1";
export const CERT_MANAGER_API = "cert-manager.io/v1";

const CERT_MANAGER_KINDS = [
  { kind: "Certificate", plural: "certificates" },
  { kind: "Issuer", plural: "issuers" },
] as const;

export const certManagerCrdNames = CERT_MANAGER_KINDS.map((k) => `${k.plural}.cert-manager.io`);

/** Certificate and Issuer as schemaless namespaced kinds: enough for objects to exist and be deleted. */
export async function installCertManagerCrds(admin: KubeClient): Promise<void> {
  for (const { kind, plural } of CERT_MANAGER_KINDS) {
    await admin.apply(
      {
        apiVersion: CRD_API,
        kind: "CustomResourceDefinition",
        metadata: { name: `${plural}.cert-manager.io` },
        spec: {
          group: "cert-manager.io",
          scope: "Namespaced",
          names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
          versions: [
            {
              name: "v1",
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
            },
          ],
        },
      } as KubeObject,
      { fieldManager: "takeover-test", force: true },
    );
  }
  for (const name of certManagerCrdNames) {
    await waitFor(`CRD ${name} to be Established`, async () => {
      const crd = await admin.get<KubeObject & { status?: { conditions?: { type?: string; status?: string }[] } }>({
        apiVersion: CRD_API,
        kind: "CustomResourceDefinition",
        name,
      });
      return crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
    });
  }
}

const HELM = { "app.kubernetes.io/managed-by": "Helm" };

/** The upstream objects of `namespace`, as the chart (and cert-manager) leave them. */
export function upstreamObjects(namespace: string, nodeName: string, image: string): KubeObject[] {
  const podLabels = { "control-plane": "controller-manager" };
  const validating = renderInstallManifests({ namespace }).find((o) => o.kind === "ValidatingWebhookConfiguration") as
    | (KubeObject & { webhooks?: { name?: string }[] })
    | undefined;
  const objects: (KubeObject & Record<string, unknown>)[] = [
    {
      apiVersion: CERT_MANAGER_API,
      kind: "Issuer",
      metadata: { name: "scone-selfsigned-issuer", namespace, labels: { ...HELM } },
      spec: { selfSigned: {} },
    },
    {
      apiVersion: CERT_MANAGER_API,
      kind: "Certificate",
      metadata: { name: "scone-serving-cert", namespace, labels: { ...HELM } },
      spec: {
        dnsNames: [`scone-webhook-service.${namespace}.svc`],
        issuerRef: { kind: "Issuer", name: "scone-selfsigned-issuer" },
        secretName: "webhook-server-cert",
      },
    },
    {
      apiVersion: "v1",
      kind: "Secret",
      type: "kubernetes.io/tls",
      metadata: { name: "webhook-server-cert", namespace, annotations: { "cert-manager.io/certificate-name": "x" } },
      data: { "tls.crt": btoa("upstream certificate"), "tls.key": btoa("upstream key") },
    },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "scone-manager-config", namespace, labels: { ...HELM } },
      data: { "controller_manager_config.yaml": "kind: ControllerManagerConfig\n" },
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "scone-controller-manager", namespace, labels: { ...HELM, ...podLabels } },
      spec: {
        replicas: 1,
        selector: { matchLabels: podLabels },
        template: {
          metadata: { labels: { ...podLabels } },
          spec: {
            nodeSelector: { "kubernetes.io/hostname": nodeName },
            terminationGracePeriodSeconds: 1,
            automountServiceAccountToken: false,
            containers: [{ name: "manager", image, imagePullPolicy: "Never", command: ["sleep", "3600"] }],
          },
        },
      },
    },
    {
      apiVersion: ADMISSION,
      kind: "ValidatingWebhookConfiguration",
      metadata: {
        name: validatingWebhookConfigurationName(namespace),
        labels: { ...HELM },
        annotations: { "cert-manager.io/inject-ca-from": `${namespace}/scone-serving-cert` },
      },
      webhooks: [
        {
          // A name scone uses too, so the takeover's apply owns the entry (a foreign one would be left beside it).
          name: validating?.webhooks?.[0]?.name ?? "vlas.kb.io",
          admissionReviewVersions: ["v1"],
          clientConfig: {
            service: { name: "scone-webhook-service", namespace, path: "/validate-upstream" },
            caBundle: btoa("upstream CA"),
          },
          failurePolicy: "Fail",
          sideEffects: "None",
          rules: [
            {
              apiGroups: ["base.scone.cloud"],
              apiVersions: ["v1beta1"],
              operations: ["CREATE"],
              resources: ["las"],
            },
          ],
          // Only objects of this test: nothing else in the cluster may depend on a server that is not there.
          objectSelector: { matchLabels: { "takeover-test": namespace } },
        },
      ],
    },
  ];
  return objects;
}

export const refOf = (o: KubeObject): ObjectRef => ({
  apiVersion: o.apiVersion ?? "",
  kind: o.kind ?? "",
  name: o.metadata?.name ?? "",
  ...(o.metadata?.namespace ? { namespace: o.metadata.namespace } : {}),
});

/** The mutating webhook configuration an install into `namespace` makes (upstream's layout here has none). */
export const mutatingRef = (namespace: string): ObjectRef => ({
  apiVersion: ADMISSION,
  kind: "MutatingWebhookConfiguration",
  name: mutatingWebhookConfigurationName(namespace),
});
