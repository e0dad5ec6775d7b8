// What the provisioning steps share: the options, the target files, the ports to the world (kube API, a way to the
// CAS's client port, clock) and what earlier steps of THIS run observed (CAS object, console facts, attestation).
// Nothing here is persisted: a rerun observes everything again.
import type { AttestResult } from "../../cas/client.ts";
import type { CliConfig } from "../../cas/identity.ts";
import type { KubeClient } from "../../kube/client.ts";
import type { CAS } from "../../resources/cas.ts";
import type { TargetFiles } from "./files.ts";
import { loadManifests, type Manifests } from "./manifests.ts";
import type { ProvisionOptions } from "./options.ts";

/** The slice of KubeClient the flow uses (tests pass an in-memory fake). */
export type ProvisionKube = Pick<KubeClient, "get" | "tryGet" | "apply" | "patch" | "podLogs">;

export interface CasEndpoint {
  /** Base URL of the CAS client API as reachable from here. */
  readonly url: string;
  /** Name to check the CAS certificate against when the URL uses another (a loopback port-forward). */
  readonly serverName?: string;
  /** Where the CAS is, in words (for messages): "port-forward to ns/pod:8081 (127.0.0.1:4711)". */
  readonly description: string;
  close(): Promise<void>;
}

export interface ProvisionPorts {
  readonly kube: ProvisionKube;
  /** A way to the CAS's client port: a port-forward to the pod, or `--cas-address`. */
  openCasEndpoint(target: { namespace: string; pod: string; port: number }): Promise<CasEndpoint>;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Warnings for the user (stderr); never passed a secret. */
  readonly warn?: (message: string) => void;
  /** Poll interval while waiting (default 1 s). */
  readonly pollMs?: number;
  /** `--local-backup`: copies the CAS's last completed snapshot into the local directory `into`; returns file names. */
  readonly copySnapshot?: (p: { namespace: string; name: string; into: string }) => Promise<string[]>;
}

/** The public facts of an attested CAS, printed at the end (`PUBLIC CAS_KEY=…`) and by --print-public-keys. */
export interface CasPublicKeys {
  readonly casKey: string;
  readonly softwareKey: string;
  readonly sessionEncryptionKey: string;
  readonly caCertificate: string;
  readonly nonce: string;
  readonly version: string;
}

export class ProvisionContext {
  /** The CAS object as last read. */
  cas: CAS | undefined;
  /** From the console of NAME-0 (`CAS key hash …`). */
  casKeyHash: string | undefined;
  /** From the console while the CAS is unprovisioned. Secret: never printed (except by --preprovision-only). */
  provisioningToken: string | undefined;
  attested: AttestResult | undefined;
  /** The nonce the attestation used. */
  attestNonce: string | undefined;
  /** The owner's CLI config (identity). Secret. */
  owner: CliConfig | undefined;
  /** The owner identity JSON injected into the backup policy (pretty-printed). Secret. */
  ownerIdentityJson: string | undefined;
  private endpoint: CasEndpoint | undefined;
  private loaded: Promise<Manifests> | undefined;

  constructor(
    readonly options: ProvisionOptions,
    readonly files: TargetFiles,
    readonly ports: ProvisionPorts,
  ) {}

  get kube(): ProvisionKube {
    return this.ports.kube;
  }

  get pod(): string {
    return `${this.options.name}-0`;
  }

  get casRef() {
    return {
      apiVersion: "services.scone.cloud/v1beta1",
      kind: "CAS",
      namespace: this.options.namespace,
      name: this.options.name,
    } as const;
  }

  /** The CAS client port: --cas-client-port, else .spec.service.clientPort, else 8081. */
  get clientPort(): number {
    return this.options.casClientPort ?? this.cas?.spec?.service?.clientPort ?? 8081;
  }

  /** The address the CAS has inside the cluster (the key of the owner identity's `cas_db`, as upstream rewrites it). */
  get clusterAddress(): string {
    return `${this.options.name}.${this.options.namespace}:${this.clientPort}`;
  }

  sleep(ms: number): Promise<void> {
    return (this.ports.sleep ?? Bun.sleep)(ms);
  }

  get pollMs(): number {
    return this.ports.pollMs ?? 1000;
  }

  async readCas(): Promise<CAS | undefined> {
    this.cas = await this.kube.tryGet<CAS>(this.casRef);
    return this.cas;
  }

  /** Upstream's files: embedded, or from --manifests-dir. */
  manifests(): Promise<Manifests> {
    this.loaded ??= loadManifests(this.options.manifestsDir);
    return this.loaded;
  }

  /** Opens the way to the CAS once per run. */
  async casEndpoint(): Promise<CasEndpoint> {
    this.endpoint ??= await this.ports.openCasEndpoint({
      namespace: this.options.namespace,
      pod: this.pod,
      port: this.clientPort,
    });
    return this.endpoint;
  }

  publicKeys(): CasPublicKeys | undefined {
    const report = this.attested?.report;
    if (!report) return undefined;
    return {
      casKey: report.cas_key_hash,
      softwareKey: report.software_key_hash,
      sessionEncryptionKey: report.session_encryption_key,
      caCertificate: report.ca_certificate,
      nonce: this.attestNonce ?? report.nonce,
      version: report.version,
    };
  }

  async close(): Promise<void> {
    const endpoint = this.endpoint;
    this.endpoint = undefined;
    await endpoint?.close();
  }
}
