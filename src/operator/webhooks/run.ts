// The admission webhooks as one running piece of the operator: makes sure the certificate Secret is usable, serves
// HTTPS, keeps caBundle of both webhook configurations current, and re-checks on a timer (renewal is due at 2/3 of
// the certificate's life) and whenever the Secret or a configuration changes (another replica renewed, the
// installer re-applied). This file only wires: the server and the watches (setup.ts), the certificate reconcile
// (certificates.ts: Secret → caBundle → served certificate → report), its schedule (resync.ts, plan.ts).

import { mutatingWebhookConfigurationName, validatingWebhookConfigurationName } from "../../install/names.ts";
import { WEBHOOK_GAUGES } from "../../metrics/catalog.ts";
import { caBundleTargets } from "../certs/ca-bundle.ts";
import type { Runnable } from "../manager.ts";
import { attemptCertificates, type CertificateDeps, initialCertificateState } from "./certificates.ts";
import type { RunningWebhooks, WebhooksContext, WebhooksOptions } from "./options.ts";
import { nextCheckMs, sansFor, webhooksReadiness } from "./plan.ts";
import { Resync } from "./resync.ts";
import { admissionServer, certificateWatches } from "./setup.ts";

export type { RunningWebhooks, WebhooksContext, WebhooksOptions } from "./options.ts";
export { sansFor } from "./plan.ts";

const READINESS_CHECK = "webhooks";

/** The webhook configurations whose caBundle the operator keeps (named after its namespace). */
const targetsOf = (namespace: string) =>
  caBundleTargets({
    mutating: mutatingWebhookConfigurationName(namespace),
    validating: validatingWebhookConfigurationName(namespace),
  });

/**
 * Starts everything; resolves after the first check. If that failed (API server unreachable, RBAC missing), it is
 * retried with backoff and `serving` resolves later; the "webhooks" readiness check reports why meanwhile.
 */
export async function startWebhooks(ctx: WebhooksContext, opts: WebhooksOptions): Promise<RunningWebhooks> {
  const log = ctx.log.child({ component: "webhooks" });
  const namespace = ctx.operatorNamespace;
  const now = opts.now ?? (() => new Date());
  const targets = targetsOf(namespace);
  const server = admissionServer(ctx, opts, log);
  const { promise: serving, resolve: onServing } = Promise.withResolvers<void>();
  const expiry = WEBHOOK_GAUGES.certificateExpiry;
  const deps: CertificateDeps = {
    client: ctx.client,
    namespace,
    sans: sansFor(namespace, opts),
    targets,
    server,
    now,
    log,
    onServing,
    reportExpiry: (seconds) => ctx.manager?.metrics?.gauge(expiry.name, expiry.help).set({}, seconds),
  };
  const state = initialCertificateState();
  const resync = new Resync(
    () => attemptCertificates(deps, state),
    () => nextCheckMs({ ...state, renewAt: state.certificates?.renewAt }, now(), opts.recheckMs),
  );
  ctx.manager?.readiness.add(READINESS_CHECK, () =>
    webhooksReadiness({ listening: server.listening, ...state }, now()),
  );
  const watched = certificateWatches(ctx.client, namespace, targets, log);
  const onChange = () => {
    if (!resync.isStopped) void resync.trigger();
  };
  for (const inf of watched) inf.addHandlers({ add: onChange, update: onChange, delete: onChange });

  await resync.trigger();
  // Not serving yet: retried in the background (the readiness check says why), so a flaky API server at start-up
  // or RBAC applied a moment later needs no restart.
  if (!server.listening)
    log.error("admission webhooks not serving yet; retrying", { error: state.lastError ?? "unknown error" });
  for (const inf of watched) inf.start();

  return {
    get port() {
      return server.port;
    },
    get certificates() {
      return state.certificates;
    },
    serving,
    syncNow: () => resync.trigger(),
    stop: async () => {
      await resync.stop();
      await Promise.all(watched.map((inf) => inf.stop()));
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
