// `scone operator install --with-api`: the REST API beside the operator. Same image and account as the operator
// (the API runs the same flows), `scone api --kube-auth` (callers' rights come from RBAC), HTTPS with the serving
// certificate the operator issues from its own CA for its webhooks: the operator adds the API Service's names to
// that certificate (webhookSans) and renews it; the API reloads it when the mounted Secret changes.
import type { V1Deployment, V1Service } from "@kubernetes/client-node";
import { API_CONTAINER_NAME, API_DEPLOYMENT_NAME, API_PORT, API_SERVICE_NAME } from "./names.ts";
import { containerSecurityContext, podSpecBase, STATE_DIR } from "./operator.ts";
import type { ResolvedInstallOptions } from "./options.ts";

/** The operator's serving certificate (webhook-server-cert, src/operator/certs/secret.ts), mounted read-only. */
const TLS_SECRET = "webhook-server-cert";
export const API_TLS_DIR = "/etc/scone/api-tls";
const POD_LABELS = { "app.kubernetes.io/name": "scone-api", "app.kubernetes.io/component": "api" } as const;

export function renderApiDeployment(o: ResolvedInstallOptions, labels: Record<string, string>): V1Deployment {
  const probe = (path: string) => ({ httpGet: { path, port: API_PORT, scheme: "HTTPS" } });
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: API_DEPLOYMENT_NAME, namespace: o.namespace, labels: { ...labels, ...POD_LABELS } },
    spec: {
      // Replicas share operation records (ConfigMaps) and elect one to execute them: scale at will.
      replicas: 1,
      selector: { matchLabels: { ...POD_LABELS } },
      template: {
        metadata: {
          labels: { ...POD_LABELS },
          annotations: { "kubectl.kubernetes.io/default-container": API_CONTAINER_NAME },
        },
        spec: {
          ...podSpecBase(o),
          containers: [
            {
              name: API_CONTAINER_NAME,
              image: o.operatorImage,
              imagePullPolicy: "IfNotPresent",
              command: ["/scone"],
              args: [
                "api",
                "--kube-auth",
                "--host=0.0.0.0",
                `--port=${API_PORT}`,
                `--tls-cert=${API_TLS_DIR}/tls.crt`,
                `--tls-key=${API_TLS_DIR}/tls.key`,
                `--state-dir=${STATE_DIR}`,
              ],
              env: [{ name: "GLOBAL_SCONE_VERSION", value: o.version }],
              ports: [{ name: "https", containerPort: API_PORT, protocol: "TCP" }],
              livenessProbe: { ...probe("/healthz"), initialDelaySeconds: 10, periodSeconds: 20 },
              readinessProbe: { ...probe("/readyz"), initialDelaySeconds: 5, periodSeconds: 10 },
              resources: { limits: { cpu: "500m", memory: "1Gi" }, requests: { cpu: "10m", memory: "64Mi" } },
              securityContext: containerSecurityContext(),
              volumeMounts: [
                { name: "state", mountPath: STATE_DIR },
                { name: "tls", mountPath: API_TLS_DIR, readOnly: true },
                { name: "tmp", mountPath: "/tmp" },
              ],
            },
          ],
          volumes: [
            // An index and the owner identities of CASes it provisions; operations live in the cluster.
            { name: "state", emptyDir: {} },
            // Not optional: the pod waits until the operator has issued the certificate.
            { name: "tls", secret: { secretName: TLS_SECRET, defaultMode: 0o400 } },
            { name: "tmp", emptyDir: {} },
          ],
        },
      },
    },
  };
}

export function renderApiService(o: ResolvedInstallOptions, labels: Record<string, string>): V1Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: API_SERVICE_NAME, namespace: o.namespace, labels: { ...labels } },
    spec: {
      selector: { ...POD_LABELS },
      ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: "https" }],
    },
  };
}
