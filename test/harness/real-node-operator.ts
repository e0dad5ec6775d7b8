// Helpers of operator.test.ts (and hack/demo.ts): scone's image built from the compiled binary, the stand-in sconecli
// image on the real node, the install run by that binary, the operator's pods, and a record of every change of the
// leader-election Lease (watched, so no state is missed).
import { join, resolve } from "node:path";
import type { KubeClient } from "../../src/kube/client.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { BINARY } from "./flows.ts";
import { waitFor } from "./kube.ts";

const ROOT = resolve(import.meta.dir, "../..");

/**
 * The stand-in sconecli image (hack/image/sconecli-image.ts: the simulator's SCONE CLI) imported into the real
 * node's containerd under the name the pod source computes for an install's default image settings (no mirror,
 * the default SCONE version), so the CASes' CLI pods pinned there start without a pull. Returns that name.
 */
export async function importSconecliImage(node: { importArchive(archive: string): Promise<void> }, out: string) {
  const { archive, reference } = await writeSconecliArchive(out);
  await node.importArchive(archive);
  return reference;
}

/** The stand-in sconecli image's archive (OUT/sconecli.oci.tar), named as importSconecliImage imports it. */
export async function writeSconecliArchive(out: string): Promise<{ archive: string; reference: string }> {
  const [
    { sconecliImage },
    { DEFAULT_SCONE_SERVICE_VERSION },
    { buildSconecliLayout, ensureSimCli },
    { layoutArchive },
  ] = await Promise.all([
    import("../../src/cas/driver/source.ts"),
    import("../../src/version.ts"),
    import("../../hack/image/sconecli-image.ts"),
    import("../../hack/image/oci.ts"),
  ]);
  const reference = sconecliImage(undefined, DEFAULT_SCONE_SERVICE_VERSION);
  const archive = join(out, "sconecli.oci.tar");
  const cli = ensureSimCli(join(ROOT, ".build", "scone-cli-sim"));
  await Bun.write(archive, layoutArchive(buildSconecliLayout({ reference, cli })));
  return { archive, reference };
}

export interface OperatorImage {
  /** The image as one OCI archive (for `ctr images import`). */
  readonly archive: string;
  /** The same image as an OCI layout directory (for `crane push`). */
  readonly layout: string;
  /** The reference the archive names (the install's default operator image). */
  readonly reference: string;
}

/**
 * scone's image for this machine's architecture, around the compiled binary (dist/scone) and this machine's libc
 * (`--libc-root /`): what `make image` builds, minus the second platform and Debian's pinned libc (seconds, offline).
 * With `signWith`, signed as `make image COSIGN_KEY=…` signs it: the layout carries the signature manifest, made
 * for the install's default (upstream) repository.
 */
export async function buildOperatorImage(
  out: string,
  signWith?: { readonly privateKey: string; readonly password: string },
): Promise<OperatorImage> {
  const arch = process.arch === "arm64" ? "arm64" : "amd64";
  const child = Bun.spawn(
    [
      process.execPath,
      "run",
      join(ROOT, "hack/image/build-image.ts"),
      "--platforms",
      `linux/${arch}`,
      "--binary",
      `linux/${arch}=${BINARY}`,
      "--libc-root",
      "/",
      "--out",
      out,
    ],
    {
      cwd: ROOT,
      stdout: "pipe",
      stderr: "pipe",
      ...(signWith
        ? { env: { ...process.env, COSIGN_KEY: signWith.privateKey, COSIGN_PASSWORD: signWith.password } }
        : {}),
    },
  );
  const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
  if (code !== 0) throw new Error(`build-image.ts failed (${code}): ${stderr.trim()}`);
  const built = (await Bun.file(join(out, "image.json")).json()) as { reference: string };
  const tag = built.reference.slice(built.reference.lastIndexOf(":") + 1);
  return { archive: join(out, `scone-${tag}.oci.tar`), layout: join(out, "oci"), reference: built.reference };
}

export interface PodView extends KubeObject {
  spec?: { nodeName?: string; containers?: { image?: string }[] };
  status?: {
    phase?: string;
    podIP?: string;
    containerStatuses?: {
      ready?: boolean;
      restartCount?: number;
      containerID?: string;
      imageID?: string;
      state?: { waiting?: { reason?: string; message?: string } };
    }[];
  };
}

/** The operator's pods (label control-plane=controller-manager) that are not being deleted. */
export async function operatorPods(admin: KubeClient, namespace: string): Promise<PodView[]> {
  const list = await admin.list<PodView>(
    { apiVersion: "v1", kind: "Pod" },
    { namespace, labelSelector: "control-plane=controller-manager" },
  );
  return list.items.filter((p) => !p.metadata?.deletionTimestamp);
}

/**
 * Until `count` operator pods run Ready; a container stuck on its image or start fails at once, with the reason
 * (the kubelet's own words), instead of a timeout.
 */
export async function readyOperatorPods(
  admin: KubeClient,
  namespace: string,
  count: number,
  timeoutMs = 120_000,
): Promise<PodView[]> {
  const outcome = await waitFor(
    `${count} Ready operator pod(s) in ${namespace}`,
    async () => {
      const pods = await operatorPods(admin, namespace);
      for (const pod of pods) {
        const waiting = pod.status?.containerStatuses?.[0]?.state?.waiting;
        if (waiting && /Err|BackOff|CreateContainer/.test(waiting.reason ?? "")) {
          return { failed: `${pod.metadata?.name}: ${waiting.reason}: ${waiting.message}` };
        }
      }
      const ready = pods.filter((p) => p.status?.phase === "Running" && p.status.containerStatuses?.[0]?.ready);
      return ready.length === count && pods.length === count ? { pods: ready } : undefined;
    },
    timeoutMs,
  );
  if ("failed" in outcome) throw new Error(`operator pod: ${outcome.failed}`);
  return outcome.pods;
}

export interface LeaseRecord {
  readonly holder: string;
  readonly leaseDurationSeconds: number;
  readonly renewTime: string;
  readonly acquireTime: string;
}

interface LeaseView extends KubeObject {
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string; acquireTime?: string };
}

/** Every version of one Lease from now on, in order (a watch resumed from its last resourceVersion). */
export class LeaseRecorder {
  readonly records: LeaseRecord[] = [];
  private readonly abort = new AbortController();
  private done: Promise<void> = Promise.resolve();

  private constructor(
    private readonly admin: KubeClient,
    private readonly namespace: string,
    private readonly name: string,
  ) {}

  static async start(admin: KubeClient, namespace: string, name: string): Promise<LeaseRecorder> {
    const recorder = new LeaseRecorder(admin, namespace, name);
    const lease = await admin.get<LeaseView>({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", namespace, name });
    recorder.add(lease);
    recorder.done = recorder.follow(lease.metadata?.resourceVersion ?? "");
    return recorder;
  }

  private add(lease: LeaseView): void {
    this.records.push({
      holder: lease.spec?.holderIdentity ?? "",
      leaseDurationSeconds: lease.spec?.leaseDurationSeconds ?? 0,
      renewTime: String(lease.spec?.renewTime ?? ""),
      acquireTime: String(lease.spec?.acquireTime ?? ""),
    });
  }

  private async follow(from: string): Promise<void> {
    let resourceVersion = from;
    while (!this.abort.signal.aborted) {
      try {
        for await (const ev of this.admin.watch<LeaseView>(
          { apiVersion: "coordination.k8s.io/v1", kind: "Lease" },
          {
            namespace: this.namespace,
            fieldSelector: `metadata.name=${this.name}`,
            resourceVersion,
            timeoutSeconds: 60,
            signal: this.abort.signal,
          },
        )) {
          if (ev.type === "BOOKMARK") continue;
          resourceVersion = ev.object.metadata?.resourceVersion ?? resourceVersion;
          if (ev.type !== "DELETED") this.add(ev.object);
        }
      } catch (e) {
        if (this.abort.signal.aborted) return;
        throw e;
      }
    }
  }

  /** The holder now (the last record). */
  get holder(): string {
    return this.records.at(-1)?.holder ?? "";
  }

  /** Until a holder other than `previous` (and not empty) holds the lease; returns the index of that record. */
  async handedOver(previous: string, timeoutMs: number): Promise<number> {
    return waitFor(
      `the lease to pass from ${previous} to another replica`,
      () => {
        const i = this.records.findIndex((r, index) => index > 0 && r.holder !== "" && r.holder !== previous);
        return i > 0 ? i : undefined;
      },
      timeoutMs,
    );
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.done.catch(() => undefined);
  }
}

/** The pod name of a holder identity ("<pod>_<uuid>", as the operator names itself). */
export function podOfHolder(holder: string): string {
  return holder.slice(0, holder.lastIndexOf("_"));
}

/**
 * `scone operator install --reconcile --only-operator` with the operator pinned to the real node: the KWOK nodes
 * would take its pod too, and "run" it without running anything. The images are unsigned unless the test verifies
 * signatures (`signed`: no --no-image-signature-check; test/integration/images/signature.test.ts checks them);
 * `wait` (default) waits up to 180 s for the Deployment.
 */
export function realNodeInstallArgs(o: {
  readonly kubeconfig: string;
  readonly namespace: string;
  readonly node: string;
  readonly wait?: boolean;
  readonly signed?: boolean;
}): string[] {
  return [
    ...["operator", "install", "--reconcile", "--only-operator"],
    ...(o.signed ? [] : ["--no-image-signature-check"]),
    ...(o.wait === false ? [] : ["--wait", "--timeout", "180"]),
    ...["--kubeconfig", o.kubeconfig, "-n", o.namespace],
    ...["--operator-node-selector", `kubernetes.io/hostname=${o.node}`],
  ];
}
