// What the provisioning steps share: the options, the target files, the ports to the world (kube API, the CAS driver
// source, clock) and what earlier steps of THIS run observed (CAS object, console facts, attestation).
// Nothing here is persisted: a rerun observes everything again.

import type { CasTarget } from "../../cas/driver/commands.ts";
import type { AttestOutcome } from "../../cas/driver/driver.ts";
import type { CasConnection, CasDriverSource, CasRef } from "../../cas/driver/reach.ts";
import { CAS_CLIENT_PORT } from "../../cas/driver/reach.ts";
import type { KubeClient } from "../../kube/client.ts";
import type { CAS } from "../../resources/cas.ts";
import type { TargetFiles } from "./files.ts";
import { loadManifests, type Manifests } from "./manifests.ts";
import type { ProvisionOptions } from "./options.ts";

/** The slice of KubeClient the flow uses (tests pass an in-memory fake). */
export type ProvisionKube = Pick<KubeClient, "get" | "tryGet" | "apply" | "patch" | "podLogs">;

export interface ProvisionPorts {
  readonly kube: ProvisionKube;
  /** The one way to a CAS (src/cas/driver/reach.ts): a SCONE CLI and the address it is given. */
  readonly casSource: CasDriverSource;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Warnings for the user (stderr); never passed a secret. */
  readonly warn?: (message: string) => void;
  /** Poll interval while waiting (default 1 s). */
  readonly pollMs?: number;
}

/**
 * The public facts of an attested CAS, printed at the end (`PUBLIC CAS_KEY=…`) and by --print-public-keys: what
 * `cas show-identification` gives (CLI §3 `cas_keys`). The session encryption key and certificate are not here: the
 * driver has no builder for them (table.ts `session-encryption-key`).
 */
export interface CasPublicKeys {
  readonly casKey: string;
  /** null for an older CAS (CLI §3). */
  readonly softwareKey: string | null;
  /** The CAS's spec.nonce (upstream prints its NONCE variable). */
  readonly nonce: string | undefined;
}

export class ProvisionContext {
  /** The CAS object as last read. */
  cas: CAS | undefined;
  /** From the console of NAME-0 (`CAS key hash …`). */
  casKeyHash: string | undefined;
  /** From the console while the CAS is unprovisioned. Secret: never printed (except by --preprovision-only). */
  provisioningToken: string | undefined;
  /** The CLI's attestation (or provisioning) of this CAS in this run: the CAS is provisioned and ours to talk to. */
  attested: AttestOutcome | undefined;
  /** Set when this run provisioned the CAS (the owner files are rewritten then). */
  provisionedNow = false;
  /** The owner identity JSON injected into the backup policy (pretty-printed). Secret. */
  ownerIdentityJson: string | undefined;
  private conn: Promise<CasConnection> | undefined;
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
    return this.options.casClientPort ?? this.cas?.spec?.service?.clientPort ?? CAS_CLIENT_PORT;
  }

  /** The address the CAS has inside the cluster (the key of the owner identity's `cas_db`, as upstream rewrites it). */
  get clusterAddress(): string {
    return `${this.options.name}.${this.options.namespace}:${this.clientPort}`;
  }

  /** SCONE_CLI_CONFIG of the owner: `<target>/identity/config.json`, or --postprovision-owner-identity. */
  get ownerConfigPath(): string {
    return this.options.postprovisionOwnerIdentity ?? this.files.cliConfig;
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

  /** The owner's connection to the CAS, opened once per run (the source decides how: CLI pod or local CLI). */
  connection(): Promise<CasConnection> {
    const ref: CasRef = {
      namespace: this.options.namespace,
      name: this.options.name,
      ...((this.options.casClientPort ?? this.cas?.spec?.service?.clientPort) ? { clientPort: this.clientPort } : {}),
    };
    this.conn ??= this.ports.casSource.connect(ref, { kind: "owner", configPath: this.ownerConfigPath });
    // A failed connect is not cached: the next step may try again.
    this.conn.catch(() => {
      this.conn = undefined;
    });
    return this.conn;
  }

  /** The CAS as session commands name it: the address the CLI attested and the CAS key it learnt. */
  async target(): Promise<CasTarget> {
    if (!this.attested) throw new Error("internal: the CAS was not attested (step attest)");
    return { address: (await this.connection()).address, casKey: this.attested.casKey };
  }

  publicKeys(): CasPublicKeys | undefined {
    if (!this.attested) return undefined;
    return { casKey: this.attested.casKey, softwareKey: this.attested.casSoftwareKey, nonce: this.cas?.spec?.nonce };
  }

  async close(): Promise<void> {
    const conn = this.conn;
    this.conn = undefined;
    if (conn) await (await conn.catch(() => undefined))?.release();
  }
}
