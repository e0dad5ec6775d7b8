// What the admission webhooks are started with and what a running instance offers (run.ts starts them).
import type { KubeClient } from "../../kube/client.ts";
import type { Logger } from "../../log.ts";
import type { MetricsRegistry } from "../../metrics/registry.ts";
import type { PinnedDigests } from "../../resources/defaults.ts";
import type { AdmissionPolicy } from "../admission/policy.ts";
import type { SubjectAltNames } from "../certs/pki.ts";
import type { WebhookCertificates } from "../certs/secret.ts";
import type { ReadinessChecks } from "../health.ts";

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
