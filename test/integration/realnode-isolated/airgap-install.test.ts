// Issue 16 on the real node: the operator runs from an air-gapped mirror. scone's own image (built from dist/scone,
// signed with a test key as `make image COSIGN_KEY=…` signs it) and signed stand-ins of the SCONE service images sit
// in a "connected" registry A (`crane registry serve`, started here); the compiled binary saves them into one
// archive, verifies it, and — with A stopped — pushes it into the node's own registry B (the cluster script's,
// which containerd pulls from) under a path and a prefix. `scone operator install --image-registry B/PATH
// --image-prefix PREFIX --pin-digests --verify-image-signatures KEY` then runs the operator on the real node from the
// mirror at the archive's digest, and refuses, applying nothing, with another key or once the mirror lost the
// signature. Opt-in like the rest of this directory (`make test-realnode`).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { attachSignature, cosignSignPayload, simpleSigningPayload } from "../../../hack/image/cosign-signature.ts";
import { writeLayout } from "../../../hack/image/oci.ts";
import { openArchive } from "../../../src/images/airgap/archive.ts";
import { COMPONENT, IMAGE_NAME, SIGNATURE_OF } from "../../../src/images/airgap/layout.ts";
import { parseImageRef, repositoryName, signatureTag } from "../../../src/images/signature/reference.ts";
import { listImages } from "../../../src/install/images.ts";
import { DEPLOYMENT_NAME } from "../../../src/install/names.ts";
import type { KubeClient } from "../../../src/kube/client.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { preboundBackupVolume } from "../../harness/backup-volume.ts";
import { clusterAvailable, type LocalCluster, type RealNodeHandle, realNodeCluster } from "../../harness/cluster.ts";
import { binaryPresent, removeInstall, scone } from "../../harness/flows.ts";
import { adminClient, waitFor } from "../../harness/kube.ts";
import { realNodeTestsEnabled } from "../../harness/real-node-enabled.ts";
import {
  buildOperatorImage,
  type OperatorImage,
  readyOperatorPods,
  realNodeInstallArgs,
} from "../../harness/real-node-operator.ts";
import {
  type CosignKey,
  cosignBinary,
  craneAvailable,
  generateCosignKey,
  type LocalRegistry,
  pushImage,
  pushLayout,
  startRegistry,
} from "../../harness/registry.ts";

const TIMEOUT = 300_000;
const suffix = Math.random().toString(36).slice(2, 8);
const PREFIX = "p-";

const enabled = clusterAvailable() && realNodeTestsEnabled() && binaryPresent && craneAvailable();
if (realNodeTestsEnabled() && !binaryPresent)
  console.warn("airgap-install.test.ts skipped: no dist/scone (make build)");

interface EventView extends KubeObject {
  reason?: string;
  message?: string;
}

interface DeploymentView extends KubeObject {
  spec?: { template?: { spec?: { containers?: { env?: { name: string; value?: string }[] }[] } } };
}

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe.skipIf(!enabled)("the operator on the real node from an air-gapped mirror (issue 16)", () => {
  let cluster: LocalCluster;
  let node: RealNodeHandle;
  let admin: KubeClient;
  let work: string;
  let signer: CosignKey;
  let other: CosignKey;
  let image: OperatorImage;
  let connected: LocalRegistry;
  let archive: string;
  /** The archive's top manifests: digest by component (the operator and each SCONE image). */
  let carried: Map<string, string>;
  const ns = `scone-airgap-${suffix}`;
  const refusedNamespaces = [`scone-airgap-key-${suffix}`, `scone-airgap-nosig-${suffix}`];
  const source = () => `${connected.host}/src-${suffix}`;
  const mirror = () => `${node.registry}/gap-${suffix}`;
  const mirrored = () => listImages(undefined, mirror(), PREFIX);

  /**
   * A one-layer stand-in for a SCONE image in A, signed by `signer` the way upstream's signature reads: for the
   * upstream repository (registry.scontain.com/…), the one install accepts for a mirrored image. cosign signs the
   * payload (sign-blob); the signature manifest goes next to the image at sha256-<hex>.sig.
   */
  async function pushSignedStandIn(component: string, at: string, upstream: string): Promise<void> {
    const digest = pushImage(at, `airgap-install ${suffix} ${component}`);
    const payload = simpleSigningPayload(upstream, digest);
    const empty = {
      files: new Map([
        ["oci-layout", enc({ imageLayoutVersion: "1.0.0" })],
        ["index.json", enc({ schemaVersion: 2, manifests: [] })],
      ]),
      digest,
    };
    const dir = join(work, "signatures", component);
    writeLayout(dir, attachSignature(empty, payload, cosignSignPayload(signer.privateKey, payload, signer.password)));
    const ref = parseImageRef(at);
    await pushLayout(dir, ref.registry, ref.repository);
  }

  /** `scone operator install` from the mirror, pinned to the real node; the compiled binary. */
  function install(namespace: string, key: string) {
    return scone(
      [
        ...realNodeInstallArgs({ kubeconfig: cluster.kubeconfigPath, namespace, node: node.name, signed: true }),
        ...["--image-registry", mirror(), "--image-prefix", PREFIX, "--pin-digests"],
        ...["--verify-image-signatures", key],
      ],
      240_000,
    );
  }

  beforeAll(async () => {
    cluster = await realNodeCluster();
    if (!cluster.realNode) throw new Error("realNodeCluster() returned a cluster without a real node");
    node = cluster.realNode;
    admin = await adminClient(cluster);
    work = await mkdtemp(join(tmpdir(), "scone-airgap-install-"));
    archive = join(work, "images.tar");
    const cosign = cosignBinary();
    [signer, other] = [generateCosignKey(cosign), generateCosignKey(cosign)];
    image = await buildOperatorImage(join(work, "image"), signer);
    connected = await startRegistry();
    // A holds every image of the version, as `scone images save` wants them: scone's image (with the signature
    // its layout carries) and signed stand-ins of the SCONE images (only the operator's runs here).
    const inA = listImages(undefined, source(), "");
    const upstream = listImages();
    await pushLayout(image.layout, connected.host, parseImageRef(inA.operator.image).repository);
    for (const [n, s] of inA.services.entries())
      await pushSignedStandIn(s.component, s.image, upstream.services[n]?.image ?? "");
  }, 600_000);

  afterAll(async () => {
    connected?.stop();
    if (admin) {
      const r = await scone([
        "operator",
        "uninstall",
        "-n",
        ns,
        "--kubeconfig",
        cluster.kubeconfigPath,
        "--yes",
        "--force",
      ]);
      if (r.code !== 0) console.warn(`uninstall exited ${r.code}: ${r.stderr}`);
      for (const namespace of [ns, ...refusedNamespaces]) await removeInstall(admin, namespace);
    }
    for (const key of [signer, other]) if (key) await rm(join(key.privateKey, ".."), { recursive: true, force: true });
    if (work) await rm(work, { recursive: true, force: true });
  }, 180_000);

  test(
    "images save from A and images verify: one archive, every image with its signature, the operator's digest as built",
    async () => {
      const saved = await scone(["images", "save", "--to", archive, "--image-registry", source(), "-o", "json"]);
      expect(`${saved.code}\n${saved.stderr}`).toMatch(/^0\n/);
      const count = listImages().services.length + 1;
      expect(JSON.parse(saved.stdout)).toMatchObject({ images: count, signatures: count, unsigned: [], failed: [] });
      const verified = await scone(["images", "verify", archive]);
      expect(`${verified.code}\n${verified.stdout}`).toMatch(/^0\n.*all digests and sizes match/s);
      const top = openArchive(archive).index.manifests;
      carried = new Map(
        top
          .filter((d) => !d.annotations?.[SIGNATURE_OF])
          .map((d) => [d.annotations?.[COMPONENT] ?? "", d.digest] as const),
      );
      expect(carried.size).toBe(count);
      const built = (await Bun.file(join(work, "image", "image.json")).json()) as { digest: string };
      expect(carried.get("operator")).toBe(built.digest);
      // The signature of scone's image is in the archive, under the tag cosign reads.
      const operatorInA = listImages(undefined, source(), "").operator.image;
      expect(top.find((d) => d.annotations?.[SIGNATURE_OF] === operatorInA)?.annotations?.[IMAGE_NAME]).toBe(
        `${repositoryName(parseImageRef(operatorInA))}:${signatureTag(built.digest)}`,
      );
      // The air gap: nothing after this reaches A.
      connected.stop();
    },
    TIMEOUT,
  );

  test(
    "images push into the node's registry B under a path and a prefix: the archive's digests, tagged",
    async () => {
      const pushed = await scone([
        "images",
        "push",
        "--from",
        archive,
        "--to",
        mirror(),
        "--target-prefix",
        PREFIX,
        "-o",
        "json",
      ]);
      expect(`${pushed.code}\n${pushed.stderr}`).toMatch(/^0\n/);
      const s = JSON.parse(pushed.stdout) as {
        failed: string[];
        pushed: { image: string; digest: string; source: string }[];
      };
      expect(s.failed).toEqual([]);
      const inA = listImages(undefined, source(), "");
      const to = mirrored();
      const want = [
        [to.operator, inA.operator] as const,
        ...to.services.map((t, n) => [t, inA.services[n]] as const),
      ].map(([t, from]) => ({
        image: t.image,
        digest: carried.get(t.component) ?? "missing",
        source: from?.image ?? "missing",
      }));
      expect(s.pushed.toSorted((a, b) => a.image.localeCompare(b.image))).toEqual(
        want.sort((a, b) => a.image.localeCompare(b.image)),
      );
    },
    TIMEOUT,
  );

  test(
    "operator install --pin-digests --verify-image-signatures: the pod runs the mirror's image at the archive's digest, Ready on the real node",
    async () => {
      await preboundBackupVolume(admin, ns);
      const digest = carried.get("operator") ?? "";
      const pinned = `${mirrored().operator.image}@${digest}`;
      const r = await install(ns, signer.publicKey);
      expect(`${r.code}\n${r.stderr}`).toMatch(/^0\n/);
      // Verified at the mirror (A is gone), with the test key, at the digest carried.
      expect(r.stderr).toContain(`image signatures verified with ${signer.publicKey}`);
      expect(r.stderr).toContain(pinned);
      const [pod] = await readyOperatorPods(admin, ns, 1);
      expect(pod?.spec?.nodeName).toBe(node.name);
      expect(pod?.spec?.containers?.[0]?.image).toBe(pinned);
      // containerd pulled it from B under the mirror's name: the repo digest is the archive's.
      expect(pod?.status?.containerStatuses?.[0]?.imageID).toBe(
        `${repositoryName(parseImageRef(mirrored().operator.image))}@${digest}`,
      );
      expect(pod?.status?.containerStatuses?.[0]?.imageID?.startsWith(`${node.registry}/`)).toBe(true);
      // The kubelet pulled it from B: for the install's pull-check pod on this node, before the Deployment (whose
      // pod then finds it present).
      const pulled = await waitFor("the kubelet's Pulled event", async () => {
        const events = await admin.list<EventView>({ apiVersion: "v1", kind: "Event" }, { namespace: ns });
        return events.items.find((e) => e.reason === "Pulled" && e.message?.startsWith("Successfully pulled"));
      });
      expect(pulled.message).toStartWith(`Successfully pulled image "${pinned}"`);
      // The SCONE images the operator defaults are pinned to the archive's digests too.
      const deployment = await admin.get<DeploymentView>({
        apiVersion: "apps/v1",
        kind: "Deployment",
        namespace: ns,
        name: DEPLOYMENT_NAME,
      });
      const env = deployment.spec?.template?.spec?.containers?.[0]?.env ?? [];
      const pinnedServices = (env.find((e) => e.name === "SCONE_IMAGE_DIGESTS")?.value ?? "").split(",").sort();
      expect(pinnedServices).toEqual(
        mirrored()
          .services.map((s) => `${s.component}=${carried.get(s.component)}`)
          .sort(),
      );
    },
    TIMEOUT,
  );

  test(
    "refused, nothing applied: another key, and the right key once the mirror has lost the operator's signature",
    async () => {
      const operatorImage = mirrored().operator.image;
      const applied = (namespace: string) =>
        admin.tryGet({ apiVersion: "apps/v1", kind: "Deployment", namespace, name: DEPLOYMENT_NAME });
      const [wrongKeyNs, noSignatureNs] = refusedNamespaces as [string, string];

      const wrongKey = await install(wrongKeyNs, other.publicKey);
      expect(wrongKey.code).toBe(1);
      expect(wrongKey.stderr).toContain("nothing was applied");
      expect(wrongKey.stderr).toContain(
        `image ${operatorImage} is refused: no valid signature by this key; found a signature not made by this key (key: ${other.publicKey})`,
      );
      expect(await applied(wrongKeyNs)).toBeUndefined();

      // The signature goes from B only (the archive still holds it; A is stopped): the check reads the mirror.
      const ref = parseImageRef(operatorImage);
      const tag = signatureTag(carried.get("operator") ?? "");
      const removed = await fetch(`http://${node.registry}/v2/${ref.repository}/manifests/${tag}`, {
        method: "DELETE",
      });
      expect(removed.status).toBe(202);
      const noSignature = await install(noSignatureNs, signer.publicKey);
      expect(noSignature.code).toBe(1);
      expect(noSignature.stderr).toContain("nothing was applied");
      expect(noSignature.stderr).toContain(
        `image ${operatorImage} is refused: it is not signed: the registry has no signature (${tag}) (key: ${signer.publicKey})`,
      );
      expect(await applied(noSignatureNs)).toBeUndefined();
    },
    TIMEOUT,
  );
});
