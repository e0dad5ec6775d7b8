// `scone doctor`'s I/O shell: read what each check needs (one section per check, each guarded so one unreadable
// kind becomes a finding instead of ending the run), run the probes (pull-check pods, a dry-run create through the
// webhooks, the operator's rules review), and hand everything to the pure checks.
import type { V1Deployment, V1Node, V1Pod, V1SelfSubjectRulesReview } from "@kubernetes/client-node";
import {
  API_DEPLOYMENT_NAME,
  CONTAINER_NAME,
  DEPLOYMENT_NAME,
  mutatingWebhookConfigurationName,
  SERVICE_ACCOUNT_NAME,
  validatingWebhookConfigurationName,
  WEBHOOK_SERVICE_NAME,
} from "../../install/names.ts";
import { KubeClient } from "../../kube/client.ts";
import { staticToken } from "../../kube/credentials.ts";
import { ForbiddenError, KubeApiError } from "../../kube/errors.ts";
import type { KubeObject } from "../../kube/types.ts";
import { isSignedBy, readCertInfo, splitPemBundle } from "../../operator/certs/pki.ts";
import { WEBHOOK_CERT_SECRET } from "../../operator/certs/secret.ts";
import { APP_NAME_LABEL } from "../../operator/kit/labels.ts";
import { LAS_APP, LAS_CONTAINER } from "../../operator/las/render.ts";
import { LEADER_ELECTION_LEASE } from "../../operator/run.ts";
import { OPERATOR_SELECTOR, readCrdVersions } from "../versions/observe.ts";
import {
  casFindings,
  clockFindings,
  crdFindings,
  type LeaseView,
  operatorFindings,
  sgxNodeFindings,
} from "./checks/cluster.ts";
import { type LasPodObservation, lasFindings } from "./checks/las.ts";
import { pullSecretFinding, type SecretView } from "./checks/pull.ts";
import { operatorRules, type RulesReview, rbacFinding, reviewsTokens } from "./checks/rbac.ts";
import {
  type DryRunResult,
  dryRunOutcome,
  servingCertFinding,
  type WebhookConfigView,
  webhookCallFinding,
  webhookConfigFindings,
} from "./checks/webhook.ts";
import { type Finding, isPodReady, warn } from "./finding.ts";
import { podEvents, runPullProbe } from "./pull-probe.ts";

export interface DoctorOptions {
  /** The operator's namespace. */
  readonly namespace: string;
  readonly clientVersion: string;
  readonly pullSecrets: readonly string[];
  readonly pullImage: string;
  /** Skip the pull-check pods (the secrets are still read and parsed). */
  readonly pullCheck: boolean;
  readonly pullCheckNode?: string;
  readonly timeoutMs: number;
  readonly now?: () => Date;
}

const LAS_SELECTOR = `${APP_NAME_LABEL}=${LAS_APP}`;
const ADMISSION = "admissionregistration.k8s.io/v1";

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Runs one section; a failure to read becomes a warning naming the section, not the end of the run. */
async function section(name: string, body: () => Promise<Finding[]>): Promise<Finding[]> {
  try {
    return await body();
  } catch (e) {
    const forbidden = e instanceof ForbiddenError;
    return [
      warn(
        name,
        `not checked: ${errText(e)}`,
        forbidden ? "run scone doctor as a user who may read this" : "run again; check the API server",
      ),
    ];
  }
}

async function pullSecrets(kube: KubeClient, o: DoctorOptions): Promise<Finding[]> {
  // One pod after the other: each waits on the registry, and a parallel burst only adds load for no faster answer.
  const out: Finding[] = [];
  for (const secret of o.pullSecrets) {
    const secretObject = await kube.tryGet<KubeObject & SecretView>({
      apiVersion: "v1",
      kind: "Secret",
      namespace: o.namespace,
      name: secret,
    });
    const base = { secret, image: o.pullImage, secretObject };
    const first = pullSecretFinding(base);
    if (!o.pullCheck || !secretObject || first.status === "fail") {
      out.push(first);
      continue;
    }
    const probe = await runPullProbe(kube, {
      namespace: o.namespace,
      secret,
      image: o.pullImage,
      timeoutMs: o.timeoutMs,
      ...(o.pullCheckNode ? { node: o.pullCheckNode } : {}),
    });
    out.push(pullSecretFinding({ ...base, ...probe }));
  }
  return out;
}

interface WebhookConfigObject extends KubeObject {
  webhooks?: {
    name: string;
    clientConfig?: { caBundle?: string; service?: { name?: string; namespace?: string }; url?: string };
    objectSelector?: { matchLabels?: Record<string, string> };
  }[];
}

async function webhooks(kube: KubeClient, o: DoctorOptions, now: Date): Promise<Finding[]> {
  const names = [
    { kind: "MutatingWebhookConfiguration", name: mutatingWebhookConfigurationName(o.namespace) },
    { kind: "ValidatingWebhookConfiguration", name: validatingWebhookConfigurationName(o.namespace) },
  ];
  const objects = await Promise.all(
    names.map((n) => kube.tryGet<WebhookConfigObject>({ apiVersion: ADMISSION, ...n })),
  );
  const views: WebhookConfigView[] = names.map((n, i) => ({
    ...n,
    ...(objects[i]
      ? {
          webhooks: (objects[i]?.webhooks ?? []).map((w) => ({
            name: w.name,
            caBundlePems: splitPemBundle(Buffer.from(w.clientConfig?.caBundle ?? "", "base64").toString("utf8")),
          })),
        }
      : {}),
  }));
  const out = webhookConfigFindings(views, readCertInfo, now);
  const all = objects.flatMap((c) => c?.webhooks ?? []);
  if (all.length === 0) return out;
  const bundle = [...new Set(views.flatMap((v) => v.webhooks ?? []).flatMap((w) => w.caBundlePems))];
  const secret = await kube
    .tryGet<KubeObject & { data?: Record<string, string> }>({
      apiVersion: "v1",
      kind: "Secret",
      namespace: o.namespace,
      name: WEBHOOK_CERT_SECRET,
    })
    .catch((e: unknown) => (e instanceof ForbiddenError ? undefined : Promise.reject(e)));
  const certPem = secret?.data?.["tls.crt"]
    ? Buffer.from(secret.data["tls.crt"], "base64").toString("utf8")
    : undefined;
  if (certPem) {
    const signed = await Promise.all(bundle.map((ca) => isSignedBy(certPem, ca)));
    const serviceMode = all.some((w) => w.clientConfig?.service);
    const f = servingCertFinding(
      {
        info: readCertInfo(certPem),
        signedByBundle: signed.some(Boolean),
        requiredDns: serviceMode ? [`${WEBHOOK_SERVICE_NAME}.${o.namespace}.svc`] : [],
      },
      now,
    );
    if (f) out.push(f);
  }
  // The probe carries the labels the webhooks select on, so the API server calls exactly these webhooks.
  const labels = Object.assign({}, ...all.map((w) => w.objectSelector?.matchLabels ?? {})) as Record<string, string>;
  out.push(webhookCallFinding(await dryRunLas(kube, labels)));
  return out;
}

/** A dry-run create of a LAS: the API server runs the admission webhooks and persists nothing. */
async function dryRunLas(kube: KubeClient, labels: Record<string, string>): Promise<DryRunResult> {
  try {
    await kube.create(
      {
        apiVersion: "base.scone.cloud/v1beta1",
        kind: "LAS",
        metadata: { name: `scone-doctor-probe-${crypto.randomUUID().slice(0, 8)}`, labels },
        spec: {},
      },
      { dryRun: true },
    );
    return { outcome: "admitted", message: "" };
  } catch (e) {
    if (e instanceof KubeApiError) return dryRunOutcome(e.code, e.message);
    return { outcome: "failed", message: errText(e) };
  }
}

async function operator(kube: KubeClient, o: DoctorOptions, now: Date): Promise<Finding[]> {
  const deployment = await kube.tryGet<V1Deployment & KubeObject>({
    apiVersion: "apps/v1",
    kind: "Deployment",
    namespace: o.namespace,
    name: DEPLOYMENT_NAME,
  });
  const pods = deployment
    ? (
        await kube.list<V1Pod & KubeObject>(
          { apiVersion: "v1", kind: "Pod" },
          { namespace: o.namespace, labelSelector: OPERATOR_SELECTOR },
        )
      ).items
    : [];
  const lease = await kube.tryGet<LeaseView & KubeObject>({
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    namespace: o.namespace,
    name: LEADER_ELECTION_LEASE,
  });
  return operatorFindings({ namespace: o.namespace, deployment, pods, lease, now });
}

/** Whether a server of this install reviews bearer tokens (so its account needs the review rights). */
async function installReviewsTokens(kube: KubeClient, namespace: string): Promise<boolean> {
  const deployment = (name: string) =>
    kube.tryGet<V1Deployment & KubeObject>({ apiVersion: "apps/v1", kind: "Deployment", namespace, name });
  const [operatorDeployment, api] = await Promise.all([deployment(DEPLOYMENT_NAME), deployment(API_DEPLOYMENT_NAME)]);
  const manager = operatorDeployment?.spec?.template.spec?.containers.find((c) => c.name === CONTAINER_NAME);
  return reviewsTokens(manager?.args, api !== undefined);
}

/** The operator's own view of its rights: a SelfSubjectRulesReview made with a short-lived token of its account. */
async function rbac(kube: KubeClient, o: DoctorOptions): Promise<Finding[]> {
  const operatorSubject = `ServiceAccount ${o.namespace}/${SERVICE_ACCOUNT_NAME}`;
  const expected = operatorRules(o.namespace, await installReviewsTokens(kube, o.namespace));
  let review: RulesReview;
  try {
    const { token } = await kube.createToken(
      { namespace: o.namespace, name: SERVICE_ACCOUNT_NAME },
      { expirationSeconds: 600 },
    );
    const conn = kube.transport.connection;
    const asOperator = KubeClient.fromConnection({
      server: conn.server,
      ...(conn.caPem ? { caPem: conn.caPem } : {}),
      insecureSkipTlsVerify: conn.insecureSkipTlsVerify,
      ...(conn.tlsServerName ? { tlsServerName: conn.tlsServerName } : {}),
      ...(conn.proxyUrl ? { proxyUrl: conn.proxyUrl } : {}),
      namespace: o.namespace,
      source: `token of ${operatorSubject}`,
      credentials: staticToken(token),
    });
    const answer = await asOperator.create<KubeObject & V1SelfSubjectRulesReview>({
      apiVersion: "authorization.k8s.io/v1",
      kind: "SelfSubjectRulesReview",
      metadata: {},
      spec: { namespace: o.namespace },
    });
    review = {
      state: "reviewed",
      rules: answer.status?.resourceRules ?? [],
      incomplete: answer.status?.incomplete === true,
    };
  } catch (e) {
    review = { state: "not-checked", why: `no rules review as ${operatorSubject}: ${errText(e)}` };
  }
  return [rbacFinding(o.namespace, SERVICE_ACCOUNT_NAME, expected, review)];
}

async function las(kube: KubeClient): Promise<Finding[]> {
  const [resources, pods] = await Promise.all([
    kube
      .list<KubeObject & { status?: { state?: string } }>({ apiVersion: "base.scone.cloud/v1beta1", kind: "LAS" })
      .then((l) => l.items),
    kube
      .list<V1Pod & KubeObject>({ apiVersion: "v1", kind: "Pod" }, { labelSelector: LAS_SELECTOR })
      .then((l) => l.items),
  ]);
  const observed: LasPodObservation[] = await Promise.all(
    pods.map(async (pod) => {
      const ns = pod.metadata?.namespace ?? "";
      const name = pod.metadata?.name ?? "";
      const ready = isPodReady(pod);
      const restarted = (pod.status?.containerStatuses ?? []).some((c) => (c.restartCount ?? 0) > 0);
      // Logs only of an unhealthy pod: the cause is usually in its last lines.
      const logTail = ready
        ? ""
        : await kube
            .podLogs(
              { namespace: ns, name },
              { container: LAS_CONTAINER, tailLines: 50, previous: restarted, limitBytes: 64 * 1024 },
            )
            .catch(() => "");
      return { pod, events: await podEvents(kube, ns, name).catch(() => []), logTail };
    }),
  );
  return lasFindings(resources, observed);
}

async function clock(kube: KubeClient, now: Date): Promise<Finding[]> {
  const [nodes, leases] = await Promise.all([
    kube.list<V1Node & KubeObject>({ apiVersion: "v1", kind: "Node" }).then((l) => l.items),
    kube
      .list<LeaseView & KubeObject>(
        { apiVersion: "coordination.k8s.io/v1", kind: "Lease" },
        { namespace: "kube-node-lease" },
      )
      .then((l) => l.items),
  ]);
  const byName = new Map(leases.map((l) => [l.metadata?.name ?? "", l]));
  return clockFindings(
    nodes.map((n) => {
      const lease = byName.get(n.metadata?.name ?? "");
      const readyCond = n.status?.conditions?.find((c) => c.type === "Ready");
      return {
        node: n.metadata?.name ?? "",
        renewTime:
          lease?.spec?.renewTime ?? (readyCond?.lastHeartbeatTime ? String(readyCond.lastHeartbeatTime) : undefined),
        ...(lease?.spec?.leaseDurationSeconds ? { leaseDurationSeconds: lease.spec.leaseDurationSeconds } : {}),
        ready: readyCond?.status === "True",
      };
    }),
    now,
  );
}

export async function runDoctor(kube: KubeClient, o: DoctorOptions): Promise<Finding[]> {
  const now = () => (o.now ? o.now() : new Date());
  const sections: [string, () => Promise<Finding[]>][] = [
    ["crds", async () => crdFindings(await readCrdVersions(kube), o.clientVersion)],
    ["operator", () => operator(kube, o, now())],
    ["webhook", () => webhooks(kube, o, now())],
    ["rbac", () => rbac(kube, o)],
    ["pull-secret", () => pullSecrets(kube, o)],
    [
      "sgx nodes",
      async () => sgxNodeFindings((await kube.list<V1Node & KubeObject>({ apiVersion: "v1", kind: "Node" })).items),
    ],
    ["las", () => las(kube)],
    ["clock", () => clock(kube, now())],
    [
      "cas",
      async () =>
        casFindings((await kube.list<KubeObject>({ apiVersion: "services.scone.cloud/v1beta1", kind: "CAS" })).items),
    ],
  ];
  const results = await Promise.all(sections.map(([name, body]) => section(name, body)));
  return results.flat();
}
