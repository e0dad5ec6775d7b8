// The admission webhooks as one running piece of the operator: makes sure the certificate Secret is usable, serves
// HTTPS, keeps caBundle of both webhook configurations current, and re-checks on a timer (renewal is due at 2/3 of
// the certificate's life) and whenever the Secret or a configuration changes (another replica renewed, the
// installer re-applied). Order on every change: Secret, then caBundle, then the served certificate, so the API
// server trusts the new CA before it is presented.

import { mutatingWebhookConfigurationName, validatingWebhookConfigurationName } from "../../install/names.ts";
import type { KubeClient } from "../../kube/client.ts";
import { clientListWatch, Informer } from "../../kube/informer.ts";
import type { KubeObject } from "../../kube/types.ts";
import type { Logger } from "../../log.ts";
import { WEBHOOK_GAUGES } from "../../metrics/catalog.ts";
import type { MetricsRegistry } from "../../metrics/registry.ts";
import type { PinnedDigests } from "../../resources/defaults.ts";
import { namespaceLabelsReader } from "../admission/namespace.ts";
import { type AdmissionPolicy, defaultAdmissionPolicy } from "../admission/policy.ts";
import { caBundleTargets, syncCaBundles } from "../certs/ca-bundle.ts";
import { ensureWebhookCertificates } from "../certs/ensure.ts";
import { readCertInfo, type SubjectAltNames } from "../certs/pki.ts";
import { webhookSans } from "../certs/renewal.ts";
import { WEBHOOK_CERT_SECRET, type WebhookCertificates } from "../certs/secret.ts";
import type { ReadinessChecks } from "../health.ts";
import type { Runnable } from "../manager.ts";
import { admissionDispatcher } from "./dispatch.ts";
import type { WebhookKind } from "./endpoints.ts";
import type { ExistingObject } from "./handlers.ts";
import { webhookFetchHandler } from "./http.ts";
import { WebhookServer } from "./server.ts";

/** What the webhooks need from the operator (OperatorContext has all of it). */
export interface WebhooksContext {
  readonly client: KubeClient;
  readonly log: Logger;
  readonly operatorNamespace: string;
  readonly serviceVersion: string;
  readonly manager?: { readonly readiness: ReadinessChecks; readonly metrics?: MetricsRegistry };
}

export interface WebhooksOptions {
  /** HTTPS port (upstream: 9443); 0 picks a free one (see RunningWebhooks.port). */
  readonly port: number;
  /**
   * "service": the API server calls scone-webhook-service.<ns>.svc (operator in a pod).
   * "url": it calls https://<host>:<port>/… (operator as a local process, e.g. on KWOK clusters).
   */
  readonly mode: "service" | "url";
  /** Address to bind and, in url mode, the one the API server calls (default 127.0.0.1 in url mode). */
  readonly host?: string;
  /** Names the serving certificate carries besides the Service's (host is added in url mode). */
  readonly extraSans?: Partial<SubjectAltNames>;
  /** Image registry/prefix of defaulted images (air-gapped mirrors). */
  readonly imageRepo?: string;
  readonly imagePrefix?: string;
  /** Digests pinned at install (SCONE_IMAGE_DIGESTS): defaulted images of that version by digest. */
  readonly imageDigests?: PinnedDigests;
  /** What tenant resources may run (allowed registries); default: the SCONE registry and imageRepo's. */
  readonly policy?: AdmissionPolicy;
  /** Only objects with these labels count for the one-LAS/one-SGXPlugin rule (match the configurations' objectSelector). */
  readonly instanceLabelSelector?: string;
  /** Re-check period even without events; shortened to the renewal time when that is sooner. Default 10 min. */
  readonly recheckMs?: number;
  readonly now?: () => Date;
}

export interface RunningWebhooks {
  readonly port: number;
  /** The certificates currently served. */
  readonly certificates: WebhookCertificates | undefined;
  /** Resolves once HTTPS is served (at once, unless the first check failed and is being retried). */
  readonly serving: Promise<void>;
  /** Runs one check now (certificate, caBundle, served certificate) and resolves when done. */
  syncNow(): Promise<void>;
  stop(): Promise<void>;
}

const READINESS_CHECK = "webhooks";
const DEFAULT_RECHECK_MS = 10 * 60 * 1000;
const RETRY_MIN_MS = 2_000;
const RETRY_MAX_MS = 5 * 60 * 1000;
const IPV4_OR_6 = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-f:]+:[0-9a-f:]*)$/i;

/** The serving certificate's names for these options. */
export function sansFor(
  namespace: string,
  opts: Pick<WebhooksOptions, "mode" | "host" | "extraSans">,
): SubjectAltNames {
  const host = opts.mode === "url" ? (opts.host ?? "127.0.0.1") : undefined;
  const extraDns = [...(opts.extraSans?.dns ?? [])];
  const extraIps = [...(opts.extraSans?.ips ?? [])];
  if (host && host !== "0.0.0.0" && host !== "::") (IPV4_OR_6.test(host) ? extraIps : extraDns).push(host);
  return webhookSans(namespace, { dns: extraDns, ips: extraIps });
}

function randomNonce(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("hex");
}

/**
 * Starts everything; resolves after the first check. If that failed (API server unreachable, RBAC missing), it is
 * retried with backoff and `serving` resolves later; the "webhooks" readiness check reports why meanwhile.
 */
export async function startWebhooks(ctx: WebhooksContext, opts: WebhooksOptions): Promise<RunningWebhooks> {
  const log = ctx.log.child({ component: "webhooks" });
  const namespace = ctx.operatorNamespace;
  const sans = sansFor(namespace, opts);
  const targets = caBundleTargets({
    mutating: mutatingWebhookConfigurationName(namespace),
    validating: validatingWebhookConfigurationName(namespace),
  });
  const now = opts.now ?? (() => new Date());

  const listExisting = async (kind: WebhookKind): Promise<readonly ExistingObject[]> => {
    const apiVersion = "base.scone.cloud/v1beta1";
    const list = await ctx.client.list({ apiVersion, kind }, { labelSelector: opts.instanceLabelSelector });
    return list.items.map((o) => ({
      name: o.metadata?.name ?? "",
      terminating: o.metadata?.deletionTimestamp != null,
    }));
  };
  const fetch = webhookFetchHandler({
    log,
    handle: admissionDispatcher({
      listExisting,
      policy: opts.policy ?? defaultAdmissionPolicy(opts.imageRepo),
      namespaceLabels: namespaceLabelsReader(ctx.client),
      defaults: {
        serviceVersion: ctx.serviceVersion,
        operatorNamespace: namespace,
        newNonce: randomNonce,
        ...(opts.imageRepo ? { imageRepo: opts.imageRepo } : {}),
        ...(opts.imagePrefix ? { imagePrefix: opts.imagePrefix } : {}),
        ...(opts.imageDigests ? { imageDigests: opts.imageDigests } : {}),
      },
    }),
  });
  const server = new WebhookServer({
    port: opts.port,
    hostname: opts.host ?? (opts.mode === "url" ? "127.0.0.1" : "0.0.0.0"),
    fetch,
    log,
  });

  let certificates: WebhookCertificates | undefined;
  let markServing: () => void = () => {};
  const serving = new Promise<void>((resolve) => {
    markServing = resolve;
  });
  let servingNotAfterMs = Number.POSITIVE_INFINITY;
  let missingReported = "";
  let lastError: string | undefined = "not started";
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;

  const syncOnce = async (): Promise<void> => {
    const ensured = await ensureWebhookCertificates(ctx.client, { namespace, sans, now, log });
    const { missing } = await syncCaBundles(ctx.client, targets, ensured.certificates.caBundlePem, log);
    const missingKey = missing.join(",");
    if (missingKey !== missingReported && missing.length > 0) {
      log.warn("webhook configurations not found; install them (scone operator install) for admission to work", {
        missing,
      });
    }
    missingReported = missingKey;
    if (server.listening) server.swapCertificate(ensured.certificates.serving);
    else {
      server.start(ensured.certificates.serving);
      markServing();
    }
    certificates = ensured.certificates;
    servingNotAfterMs = readCertInfo(certificates.serving.certPem)?.notAfter.getTime() ?? 0;
    const expiry = WEBHOOK_GAUGES.certificateExpiry;
    ctx.manager?.metrics?.gauge(expiry.name, expiry.help).set({}, Math.floor(servingNotAfterMs / 1000));
  };

  let running: Promise<void> | undefined;
  let again = false;
  const schedule = (ms: number) => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void sync(), Math.max(ms, 0));
    timer.unref?.();
  };
  /** Single flight: a request during a run causes exactly one more run after it. */
  const sync = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await syncOnce();
          lastError = undefined;
          failures = 0;
        } catch (e) {
          failures++;
          lastError = e instanceof Error ? e.message : String(e);
          log.warn("webhook certificate check failed; retrying", { error: lastError, attempt: failures });
        }
      } while (again && !stopped);
      running = undefined;
      if (lastError === undefined) {
        const untilRenewal = certificates ? certificates.renewAt.getTime() - now().getTime() : 0;
        schedule(Math.max(1000, Math.min(opts.recheckMs ?? DEFAULT_RECHECK_MS, untilRenewal)));
      } else {
        schedule(Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(failures - 1, 10)));
      }
    })();
    return running;
  };

  ctx.manager?.readiness.add(READINESS_CHECK, () => {
    if (!server.listening) return { ok: false, reason: lastError ?? "not serving yet" };
    if (now().getTime() >= servingNotAfterMs) {
      return { ok: false, reason: "serving certificate expired" };
    }
    return { ok: true };
  });

  // Changes made elsewhere (another replica's renewal, a re-applied configuration) trigger a check at once.
  const watched: Informer<KubeObject>[] = [
    new Informer<KubeObject>(
      clientListWatch(ctx.client, {
        type: { apiVersion: "v1", kind: "Secret" },
        namespace,
        fieldSelector: `metadata.name=${WEBHOOK_CERT_SECRET}`,
      }),
      { name: "webhook-cert-secret", logger: log, stripManagedFields: true },
    ),
    ...targets.map(
      (t) =>
        new Informer<KubeObject>(clientListWatch(ctx.client, { type: t, fieldSelector: `metadata.name=${t.name}` }), {
          name: t.kind,
          logger: log,
          stripManagedFields: true,
        }),
    ),
  ];
  const onChange = () => {
    if (!stopped) void sync();
  };
  for (const inf of watched) inf.addHandlers({ add: onChange, update: onChange, delete: onChange });

  await sync();
  if (!server.listening) {
    // Keep trying in the background (the readiness check says why): a flaky API server at start-up or RBAC
    // applied a moment later should not need a restart.
    log.error("admission webhooks not serving yet; retrying", { error: lastError ?? "unknown error" });
  }
  for (const inf of watched) inf.start();

  return {
    get port() {
      return server.port;
    },
    get certificates() {
      return certificates;
    },
    serving,
    syncNow: () => sync(),
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await Promise.all(watched.map((inf) => inf.stop()));
      await running;
      await server.stop();
      ctx.manager?.readiness.remove(READINESS_CHECK);
      log.info("stopped admission webhooks");
    },
  };
}

/** The webhooks as a Manager runnable (started with the other runnables, stopped in reverse order). */
export function webhooksRunnable(
  ctx: WebhooksContext,
  opts: WebhooksOptions,
): Runnable & { readonly running: RunningWebhooks | undefined } {
  let running: RunningWebhooks | undefined;
  return {
    name: "webhooks",
    get running() {
      return running;
    },
    start: async () => {
      running = await startWebhooks(ctx, opts);
    },
    stop: async () => {
      await running?.stop();
      running = undefined;
    },
  };
}
