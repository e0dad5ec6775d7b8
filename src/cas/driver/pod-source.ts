// The pod CasDriverSource (the default): one long-lived SCONE CLI pod per CAS, in the CAS's namespace, reaching CAS
// by its Service — no docker, no port-forward, the same from the operator, the CLI and the API (issue 13). The pod
// is created on first use, found again by label, replaced when gone, failing or of another spec; commands go in
// by exec (PodCliRunner). Owner state never stays in the pod: the owner's config travels in with each call (as an
// exec's stdin, never argv) and, after a call that changes it, back into the local file. The operator uses its
// own identity, kept in a Secret owned by the CAS. Placement (--cli-node-selector) applies to the pods this source
// creates; a Ready pod of the CAS with the same image and spec is used wherever it runs (renderCliPod), so
// processes with different selectors share it rather than replace each other's.
import type { V1Pod, V1Secret } from "@kubernetes/client-node";
import type { KubeClient } from "../../kube/client.ts";
import { AlreadyExistsError, isNotFound } from "../../kube/errors.ts";
import { CAS_TYPE } from "../../operator/cas/names.ts";
import type { CAS } from "../../resources/cas.ts";
import {
  CLI_BINARY,
  CLI_CONTAINER,
  type CliPodOwner,
  choosePod,
  cliPodSelector,
  IDENTITY_KEY,
  impostorReason,
  isPodReady,
  OPERATOR_CONFIG_IN_POD,
  operatorIdentitySecretName,
  podProblem,
  renderCliPod,
  renderIdentitySecret,
  SPEC_HASH_ANNOTATION,
  stuck,
} from "./cli-pod.ts";
import { CONFIG_LOCKS, changesConfig, configLockKey, readIfExists, sameBytes, writeBackConfig } from "./config-sync.ts";
import { CasDriver } from "./driver.ts";
import { type CasConnection, type CasDriverSource, type CasRef, type CliIdentity, casServiceAddress } from "./reach.ts";
import { type CliPodExec, CliRunError, type CliRunner, MAX_CONFIG_BYTES, PodCliRunner } from "./runner.ts";

/** The slice of KubeClient the source uses (a fake in unit tests). */
export type PodSourceKube = Pick<KubeClient, "get" | "tryGet" | "list" | "create" | "delete">;

export interface PodSourceOptions {
  readonly kube: PodSourceKube;
  /** execInPod bound to the cluster connection. */
  readonly exec: CliPodExec;
  /** The `sconecli` image for a CAS (src/install/images.ts naming; mirror-aware): see sconecliImage in source.ts. */
  readonly image: (cas: CAS) => string;
  /** Node labels the CLI pods this source creates must run on (default: any node); not part of the spec hash. */
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /** How long a new pod may take to become Ready (default 3 minutes: an image pull). */
  readonly startTimeoutMs?: number;
  /** Poll interval while waiting for Ready (default 500 ms). */
  readonly pollMs?: number;
  /** Per CLI call limit (default the runner's 10 minutes). */
  readonly timeoutMs?: number;
  readonly warn?: (message: string) => void;
  readonly now?: () => number;
}

const POD = { apiVersion: "v1", kind: "Pod" } as const;
const SECRET = { apiVersion: "v1", kind: "Secret" } as const;

/** The CLI pod could not be had (not Ready in time, cannot start). */
export class CliPodError extends Error {
  override readonly name = "CliPodError";
}

export class PodCasDriverSource implements CasDriverSource {
  readonly description = "SCONE CLI pod per CAS (image sconecli, by exec)";
  /** Pod look-ups in flight per CAS: concurrent connects share one (else each would create a pod). */
  private readonly inFlight = new Map<string, Promise<V1Pod>>();
  constructor(private readonly o: PodSourceOptions) {}

  async connect(cas: CasRef, identity: CliIdentity, signal?: AbortSignal): Promise<CasConnection> {
    const resource = await this.o.kube.get<CAS>({ ...CAS_TYPE, namespace: cas.namespace, name: cas.name }, { signal });
    const owner = ownerOf(resource);
    const key = `${owner.namespace}/${owner.name}`;
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.ensurePod(owner, renderCliPod(owner, this.o.image(resource), this.o.nodeSelector), signal);
      this.inFlight.set(key, pending);
      const forget = () => this.inFlight.delete(key);
      pending.then(forget, forget);
    }
    const pod = await pending;
    const base = new PodCliRunner({
      exec: this.o.exec,
      namespace: cas.namespace,
      pod: pod.metadata?.name ?? "",
      container: CLI_CONTAINER,
      binary: CLI_BINARY,
      ...(identity.kind === "operator" ? { configPath: OPERATOR_CONFIG_IN_POD } : {}),
      ...(this.o.timeoutMs ? { timeoutMs: this.o.timeoutMs } : {}),
    });
    const runner =
      identity.kind === "owner"
        ? new OwnerConfigRunner(base, identity.configPath)
        : new OperatorIdentityRunner(base, owner, this.o.kube, pod);
    return {
      driver: new CasDriver(runner, this.o.warn),
      address: casServiceAddress(cas),
      // The pod stays for the next call; nothing else is held.
      release: async () => {},
    };
  }

  /** A Ready CLI pod of the wanted spec: found by label, waited for, or created. */
  private async ensurePod(owner: CliPodOwner, want: V1Pod, signal?: AbortSignal): Promise<V1Pod> {
    const now = this.o.now ?? Date.now;
    const startTimeoutMs = this.o.startTimeoutMs ?? 180_000;
    const hash = want.metadata?.annotations?.[SPEC_HASH_ANNOTATION] ?? "";
    const found = await this.o.kube.list<V1Pod>(POD, {
      namespace: owner.namespace,
      labelSelector: cliPodSelector(owner.name),
      ...(signal ? { signal } : {}),
    });
    // A pod that only looks like ours (labels and annotation copied) is never used: the owner's config would travel
    // into it. It is left alone (it is not ours to delete) and named in a warning.
    const genuine = found.items.filter((p) => {
      const why = impostorReason(p, want);
      if (why)
        this.o.warn?.(
          `ignoring pod ${owner.namespace}/${p.metadata?.name} labelled as the CAS's SCONE CLI pod: ${why}`,
        );
      return !why;
    });
    const choice = choosePod(genuine, hash, now(), startTimeoutMs);
    for (const old of choice.remove) await this.remove(old);
    if (choice.kind === "use") return choice.pod;
    const pod = choice.kind === "wait" ? choice.pod : await this.createGenuine(want, signal);
    return this.waitReady(pod, now() + startTimeoutMs, signal);
  }

  /**
   * Creates the pod and checks what admission made of it: a pod a mutating webhook changed (an injected sidecar, a
   * mount) would be an impostor to the next look-up, and a new pod would be made on every call. Refused instead,
   * naming the change, and removed.
   */
  private async createGenuine(want: V1Pod, signal?: AbortSignal): Promise<V1Pod> {
    const created = await this.o.kube.create(want, signal ? { signal } : {});
    const why = impostorReason(created, want);
    if (!why) return created;
    await this.remove(created);
    throw new CliPodError(
      `SCONE CLI pod ${created.metadata?.namespace}/${created.metadata?.name} was changed on creation (${why}), ` +
        "so the owner's config cannot be trusted to it; exclude pods labelled app.kubernetes.io/name=sconecli from " +
        "sidecar injection and mutating webhooks",
    );
  }

  private async waitReady(pod: V1Pod, deadline: number, signal?: AbortSignal): Promise<V1Pod> {
    const now = this.o.now ?? Date.now;
    const ref = { ...POD, namespace: pod.metadata?.namespace ?? "", name: pod.metadata?.name ?? "" };
    let latest: V1Pod | undefined = pod;
    for (;;) {
      signal?.throwIfAborted();
      if (latest && isPodReady(latest)) return latest;
      const gone = latest === undefined || latest.metadata?.uid !== pod.metadata?.uid;
      const failed = latest?.status?.phase === "Failed" || latest?.status?.phase === "Succeeded";
      if (gone || failed || stuck(latest as V1Pod) || now() >= deadline) {
        const why = gone ? "it was deleted" : podProblem(latest as V1Pod);
        throw new CliPodError(
          `SCONE CLI pod ${ref.namespace}/${ref.name} did not become Ready (${why}); the next call replaces it. ` +
            "Check that the sconecli image can be pulled (imagePullSecrets of the CAS, the image registry flags).",
        );
      }
      await Bun.sleep(this.o.pollMs ?? 500);
      latest = await this.o.kube.tryGet<V1Pod>(ref, signal ? { signal } : {});
    }
  }

  private async remove(pod: V1Pod): Promise<void> {
    const ref = { ...POD, namespace: pod.metadata?.namespace ?? "", name: pod.metadata?.name ?? "" };
    await this.o.kube
      .delete(ref, { preconditions: { uid: pod.metadata?.uid ?? "" }, gracePeriodSeconds: 1 })
      .catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
  }
}

function ownerOf(cas: CAS): CliPodOwner {
  const { uid, name, namespace } = cas.metadata;
  if (!uid || !name || !namespace)
    throw new CliPodError("the CAS has no uid/name/namespace; read it from the API server");
  return {
    apiVersion: cas.apiVersion ?? CAS_TYPE.apiVersion,
    name,
    namespace,
    uid,
    ...(cas.spec?.imagePullSecrets ? { imagePullSecrets: cas.spec.imagePullSecrets } : {}),
  };
}

/**
 * The owner's config travels with each call: read locally, sent in as an input file, read back after a call that
 * may change it and saved locally (only if nobody changed it meanwhile). Calls on one config run one at a time.
 */
export class OwnerConfigRunner implements CliRunner {
  readonly description: string;
  constructor(
    private readonly pod: PodCliRunner,
    private readonly configPath: string,
  ) {
    this.description = pod.description;
  }

  run(...[argv, env, files]: Parameters<CliRunner["run"]>) {
    return CONFIG_LOCKS.run(configLockKey(this.configPath), async () => {
      const before = await readIfExists(this.configPath);
      if (before && before.length > MAX_CONFIG_BYTES)
        throw new CliRunError(`SCONE CLI config ${this.configPath} is larger than ${MAX_CONFIG_BYTES} bytes`);
      const readBack = changesConfig(argv, before !== undefined);
      const r = await this.pod.runWithConfig(argv, env, files, { content: before, readBack });
      if (r.config !== undefined && !sameBytes(r.config, before)) {
        // CLI §7: the config is a JSON object; anything else (an empty or cut-off read) must not replace the file.
        if (parsedObject(r.config) === undefined)
          throw new CliRunError(
            `${this.pod.description}: the CLI config read back is not a JSON object; ${this.configPath} left as it was`,
          );
        await writeBackConfig(this.configPath, before, r.config);
      }
      return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
    });
  }
}

/**
 * The operator's own identity in the pod: the config the pod copied from the identity Secret at start, or — in a
 * CAS's first CLI pod — the one the CLI creates on first use, which is then saved as that Secret so a replacement
 * pod has the same identity (the identity the CAS owner admitted through a session).
 */
export class OperatorIdentityRunner implements CliRunner {
  readonly description: string;
  private saved = false;
  constructor(
    private readonly pod: PodCliRunner,
    private readonly owner: CliPodOwner,
    private readonly kube: PodSourceKube,
    private readonly podObject: V1Pod,
  ) {
    this.description = pod.description;
  }

  run(...[argv, env, files]: Parameters<CliRunner["run"]>) {
    const key = `pod:${this.owner.namespace}/${this.podObject.metadata?.name}:${OPERATOR_CONFIG_IN_POD}`;
    const call = async () => {
      const r = await this.pod.runWithConfig(argv, env, files);
      if (!this.saved) await this.saveIdentity();
      return r;
    };
    // Once the identity is saved (so the config exists in the pod), calls that only read it — every policy upload —
    // run side by side (CONFIG_LOCKS bounds them); the first call (which may create it) and attests run alone.
    return this.saved && !changesConfig(argv, true) ? CONFIG_LOCKS.runShared(key, call) : CONFIG_LOCKS.run(key, call);
  }

  private async saveIdentity(): Promise<void> {
    const ref = { ...SECRET, namespace: this.owner.namespace, name: operatorIdentitySecretName(this.owner.name) };
    const existing = await this.kube.tryGet<V1Secret>(ref);
    const inPod = await this.pod.readFile(OPERATOR_CONFIG_IN_POD);
    if (inPod === undefined) return; // the CLI made none yet (e.g. --version)
    if (existing) {
      this.check(existing, inPod);
      return;
    }
    try {
      await this.kube.create(renderIdentitySecret(this.owner, inPod));
      this.saved = true;
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
      const winner = await this.kube.tryGet<V1Secret>(ref);
      if (winner) this.check(winner, inPod);
    }
  }

  /** The Secret another process saved first must be the identity this pod uses; else the pod goes. */
  private check(secret: V1Secret, inPod: Uint8Array): void {
    const stored = Buffer.from(secret.data?.[IDENTITY_KEY] ?? "", "base64");
    if (isSameIdentity(stored, inPod)) {
      this.saved = true;
      return;
    }
    void this.kube
      .delete({ ...POD, namespace: this.owner.namespace, name: this.podObject.metadata?.name ?? "" })
      .catch(() => undefined);
    throw new CliPodError(
      `SCONE CLI pod ${this.owner.namespace}/${this.podObject.metadata?.name} uses another operator identity than ` +
        `Secret ${operatorIdentitySecretName(this.owner.name)} holds (saved concurrently); the pod is replaced, retry.`,
    );
  }
}

/** The same identity: the `identity` fields are equal (cas_db and default_cas change as CASes are attested). */
export function isSameIdentity(a: Uint8Array, b: Uint8Array): boolean {
  const identity = (bytes: Uint8Array) => {
    const id = parsedObject(bytes)?.identity;
    return typeof id === "string" ? id : undefined;
  };
  const x = identity(a);
  return x !== undefined ? x === identity(b) : sameBytes(a, b);
}

function parsedObject(bytes: Uint8Array): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
