// Air-gapped, end to end against two real registries (`crane registry serve` on loopback, started here): every
// image of a SCONE version built locally and signed with a test key in the "connected" registry, `scone images
// save` into one archive (resumed after an interrupted run), `scone images verify`, `scone images push` into the
// "gap" registry under a path and a name prefix — digests preserved, signatures verifying against the mirror — and a
// corrupted blob making verify and push fail, naming the image, with nothing tagged in the target.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openArchive, verifyArchive } from "../../../src/images/airgap/archive.ts";
import { blobPath, parseManifest } from "../../../src/images/airgap/layout.ts";
import { parseTarget, pushArchive } from "../../../src/images/airgap/push.ts";
import { RegistryWriter } from "../../../src/images/airgap/registry-writer.ts";
import { saveImages } from "../../../src/images/airgap/save.ts";
import { checkImageSignatures } from "../../../src/images/signature/check-images.ts";
import type { SignatureKey } from "../../../src/images/signature/public-key.ts";
import { listImages } from "../../../src/install/images.ts";
import { DEPLOYMENT_NAME } from "../../../src/install/names.ts";
import { KubeClient } from "../../../src/kube/client.ts";
import { clusterAvailable, sharedCluster } from "../../harness/cluster.ts";
import { removeInstall } from "../../harness/flows.ts";
import {
  type CosignKey,
  CRANE,
  cosignSign,
  craneAvailable,
  type LocalRegistry,
  pushImage,
  type SigningFixture,
  type SigningKey,
  startSigningFixture,
} from "../../harness/registry.ts";

const suffix = Math.random().toString(36).slice(2, 7);
const VERSION = "6.0.6";
const MAIN = join(import.meta.dir, "../../../src/main.ts");

async function sconeSrc(args: readonly string[]) {
  const proc = Bun.spawn([process.execPath, MAIN, ...args], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, KUBECONFIG: "", NO_COLOR: "1", DOCKER_CONFIG: join(tmpdir(), `no-docker-${suffix}`) },
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

const craneDigest = (ref: string) => {
  const r = spawnSync(CRANE, ["digest", ref], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
};
/** The config and layer digests of a one-layer image. */
const configAndLayer = (ref: string): string[] => {
  const m = JSON.parse(spawnSync(CRANE, ["manifest", ref], { encoding: "utf8" }).stdout) as {
    config: { digest: string };
    layers: { digest: string }[];
  };
  return [m.config.digest, ...m.layers.map((l) => l.digest)];
};
const craneTags = (repo: string) => {
  const r = spawnSync(CRANE, ["ls", repo], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.split("\n").filter(Boolean) : [];
};

describe.skipIf(!craneAvailable())("scone images save / verify / push between two local registries", () => {
  let fixture: SigningFixture | undefined;
  let connected: LocalRegistry;
  let gap: LocalRegistry;
  let cosign: string;
  let signer: CosignKey;
  let key: SignatureKey;
  let dir: string;
  let archive: string;
  const source = () => `${connected.host}/src-${suffix}`;
  const save = () =>
    sconeSrc(["images", "save", "--to", archive, "--image-registry", source(), "--set-version", VERSION, "-o", "json"]);
  const pushToMirror = () =>
    sconeSrc(["images", "push", "--from", archive, "--to", mirrorPath(), "--target-prefix", "osc-", "-o", "json"]);
  const mirrorPath = () => `${gap.host}/mirror-${suffix}`;
  const images = () => {
    const l = listImages(VERSION, source(), "");
    return [l.operator, ...l.services];
  };

  beforeAll(async () => {
    fixture = await startSigningFixture({ registries: 2, keys: 1 });
    cosign = fixture.cosign;
    [connected, gap] = fixture.registries as [LocalRegistry, LocalRegistry];
    ({ pair: signer, key } = fixture.keys[0] as SigningKey);
    dir = mkdtempSync(join(tmpdir(), "scone-airgap-"));
    archive = join(dir, "images.tar");
    // Every image but the last, so the first save fails part-way and the second resumes.
    for (const { image, component } of images().slice(0, -1)) {
      pushImage(image, `airgap ${suffix} ${component}`);
      cosignSign(cosign, signer, image);
    }
  }, 3_600_000);

  afterAll(() => {
    fixture?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("save: an interrupted save keeps its blobs and the next run fetches only the rest", async () => {
    const first = await save();
    const last = images().at(-1)?.image ?? "";
    expect(first.code).toBe(1);
    expect(first.stderr).toContain(`${last}: the registry has no such image`);
    expect(first.stderr).toContain("run the same command again to resume");
    expect(existsSync(archive)).toBe(false);
    expect(existsSync(`${archive}.partial`)).toBe(true);
    const fetchedFirst = (JSON.parse(first.stdout) as { fetched: number }).fetched;
    expect(fetchedFirst).toBeGreaterThan(0);

    pushImage(last, `airgap ${suffix} last`);
    cosignSign(cosign, signer, last);
    const second = await save();
    expect(`${second.code}\n${second.stderr}`).toMatch(/^0\n/);
    const s = JSON.parse(second.stdout) as {
      images: number;
      signatures: number;
      fetched: number;
      kept: number;
      unsigned: string[];
    };
    expect(s.images).toBe(images().length);
    expect(s.signatures).toBe(images().length);
    expect(s.unsigned).toEqual([]);
    expect(s.kept).toBe(fetchedFirst);
    // The last image: its config and layer, and its signature's config and layer.
    expect(s.fetched).toBe(4);
    expect(existsSync(`${archive}.partial`)).toBe(false);
    // A plain tar that other tools read as an OCI layout.
    const listed = spawnSync("tar", ["-tf", archive], { encoding: "utf8" }).stdout.split("\n");
    expect(listed.slice(0, 2)).toEqual(["oci-layout", "index.json"]);
    const verify = await sconeSrc(["images", "verify", archive]);
    expect(`${verify.code}\n${verify.stdout}`).toMatch(/^0\n.*all digests and sizes match/s);
  }, 300_000);

  test("push: into the gap registry under a path and prefix, digests kept, signatures verify against the mirror", async () => {
    const r = await pushToMirror();
    expect(`${r.code}\n${r.stderr}`).toMatch(/^0\n/);
    const s = JSON.parse(r.stdout) as {
      copied: number;
      skipped: number;
      failed: string[];
      pushed: { image: string; digest: string }[];
    };
    expect(s.failed).toEqual([]);
    const mirrored = listImages(VERSION, mirrorPath(), "osc-");
    const targets = [mirrored.operator, ...mirrored.services];
    expect(s.pushed.map((p) => p.image).sort()).toEqual(targets.map((t) => t.image).sort());
    for (const [n, t] of targets.entries()) expect(craneDigest(t.image)).toBe(craneDigest(images()[n]?.image ?? ""));
    const verified = await checkImageSignatures(
      targets.map((t, n) => ({ image: t.image, alsoAccept: [(images()[n]?.image ?? "").replace(/:[^:/]+$/, "")] })),
      key,
    );
    expect(verified.length).toBe(targets.length);
    // Again: every blob is present, nothing is uploaded twice.
    const again = await pushToMirror();
    expect(again.code).toBe(0);
    const s2 = JSON.parse(again.stdout) as { copied: number; skipped: number };
    expect(s.copied).toBeGreaterThanOrEqual(4 * images().length);
    expect(s2).toMatchObject({ copied: 0, skipped: s.copied + s.skipped });
  }, 300_000);

  /**
   * An in-cluster install with --pin-digests (the operator Deployment; KWOK nodes create its pod without running
   * it — the real node is not used here); returns the Deployment's operator image and SCONE_IMAGE_DIGESTS entries
   * next to what they should be: the registry's digests of the same images.
   */
  const installPinned = async (ns: string, registry: string, prefix: string, check: readonly string[]) => {
    const kubeconfig = (await sharedCluster()).kubeconfigPath;
    const admin = await KubeClient.load({ kubeconfig });
    try {
      const r = await sconeSrc([
        ...`operator install -n ${ns} --reconcile --only-operator --timeout 60`.split(" "),
        ...["--kubeconfig", kubeconfig, "--set-version", VERSION, "--pin-digests", ...check],
        ...["--image-registry", registry, "--image-prefix", prefix],
      ]);
      expect(r.code === 0 || r.code === 3 ? 0 : `${r.code}\n${r.stderr}`).toBe(0);
      const list = listImages(VERSION, registry, prefix);
      const digestOf = (image: string) => craneDigest(image) ?? "missing";
      const deployment = (await admin.get({
        apiVersion: "apps/v1",
        kind: "Deployment",
        namespace: ns,
        name: DEPLOYMENT_NAME,
      })) as {
        spec: { template: { spec: { containers: { image: string; env?: { name: string; value?: string }[] }[] } } };
      };
      const container = deployment.spec.template.spec.containers[0];
      return {
        stderr: r.stderr,
        got: {
          operator: container?.image,
          pinned: (container?.env?.find((e) => e.name === "SCONE_IMAGE_DIGESTS")?.value ?? "").split(",").sort(),
        },
        want: {
          operator: `${list.operator.image}@${digestOf(list.operator.image)}`,
          pinned: list.services.map((s) => `${s.component}=${digestOf(s.image)}`).sort(),
        },
      };
    } finally {
      await removeInstall(admin, ns);
    }
  };

  // The mirror's images carry signatures made at the local "connected" registry, which install's check does not
  // accept for a mirror (it accepts upstream's repository): they are verified against the mirror by
  // checkImageSignatures above, and this install runs with --no-image-signature-check.
  test.skipIf(!clusterAvailable())(
    "scone operator install --pin-digests references the mirror by digest: the operator image and SCONE_IMAGE_DIGESTS",
    async () => {
      const r = await installPinned(`airgap-${suffix}`, mirrorPath(), "osc-", ["--no-image-signature-check"]);
      expect(r.got).toEqual(r.want);
    },
    240_000,
  );

  test.skipIf(!clusterAvailable())(
    "with the signature check, --pin-digests pins the digests it verified",
    async () => {
      const r = await installPinned(`airgap-v-${suffix}`, source(), "", [
        "--verify-image-signatures",
        signer.publicKey,
      ]);
      expect(r.got).toEqual(r.want);
      for (const d of r.want.pinned) expect(r.stderr).toContain(`@${d.split("=")[1]}`);
      expect(r.stderr).toContain(`image signatures verified with ${signer.publicKey}`);
    },
    240_000,
  );

  test("mirror: registry to registry in one command, digests and signatures carried; bad access flags are usage errors", async () => {
    const r = await sconeSrc([
      ...["images", "mirror", "--image-registry", source(), "--set-version", VERSION],
      ...["--to", `${gap.host}/direct-${suffix}`, "-o", "json"],
    ]);
    expect(`${r.code}\n${r.stderr}`).toMatch(/^0\n/);
    const direct = listImages(VERSION, `${gap.host}/direct-${suffix}`, "");
    for (const [n, t] of [direct.operator, ...direct.services].entries()) {
      const digest = craneDigest(t.image);
      expect(digest).toBe(craneDigest(images()[n]?.image ?? ""));
      expect(craneTags(t.image.replace(/:[^:/]+$/, ""))).toContain(`${digest?.replace(":", "-")}.sig`);
    }
    const noAuth = await sconeSrc([
      "images",
      "push",
      "--from",
      archive,
      "--to",
      gap.host,
      "--registry-auth",
      join(dir, "none.json"),
    ]);
    expect(noAuth.code).toBe(2);
    expect(noAuth.stderr).toContain(`--registry-auth ${join(dir, "none.json")}`);
    const badCa = await sconeSrc(["images", "push", "--from", archive, "--to", gap.host, "--registry-ca", archive]);
    expect(badCa.code).toBe(2);
    expect(badCa.stderr).toContain("--registry-ca");
    const badTarget = await sconeSrc(["images", "push", "--from", archive, "--to", "no-host/path"]);
    expect(badTarget.code).toBe(2);
    expect(badTarget.stderr).toContain("--to 'no-host/path'");
  }, 300_000);

  test("a multi-platform index: --platform carries that child only; without it every child, and the index keeps its digest", async () => {
    const base = `${connected.host}/multi-${suffix}/app`;
    pushImage(`${base}:plain`, `multi ${suffix}`);
    for (const arch of ["amd64", "arm64"]) {
      const m = spawnSync(CRANE, [
        "mutate",
        "--set-platform",
        `linux/${arch}`,
        `${base}:plain`,
        "-t",
        `${base}:${arch}`,
      ]);
      expect(m.status).toBe(0);
    }
    const idx = spawnSync(CRANE, ["index", "append", "-m", `${base}:amd64`, "-m", `${base}:arm64`, "-t", `${base}:1`]);
    expect(idx.status).toBe(0);
    const client = () => new RegistryWriter(connected.host);
    const one = join(dir, "amd64.tar");
    const s1 = await saveImages({
      images: [{ image: `${base}:1`, component: "app" }],
      to: one,
      platforms: "linux/amd64",
      client,
    });
    expect(s1.failed).toEqual([]);
    const a1 = openArchive(one);
    const top = a1.index.manifests[0];
    expect(verifyArchive(a1).problems).toEqual([]);
    expect(top?.digest).toBe(craneDigest(`${base}:1`));
    // The index, the amd64 manifest and its config, the shared layer: no arm64 manifest or config.
    expect([...a1.entries.keys()].filter((k) => k.startsWith("blobs/")).sort()).toEqual(
      [top?.digest ?? "", craneDigest(`${base}:amd64`) ?? "", ...configAndLayer(`${base}:amd64`)].map(blobPath).sort(),
    );
    // Refused by the target mid-push (crane's registry wants every child of an index): an error naming the
    // image, and no tag left behind.
    const partial = await pushArchive(
      openArchive(one),
      parseTarget(`${gap.host}/partial-${suffix}`, ""),
      new RegistryWriter(gap.host),
    );
    expect(partial.failed.join("\n")).toContain(`${base}:1: `);
    expect(partial.failed.join("\n")).toContain("Sub-manifest");
    expect(craneTags(`${gap.host}/partial-${suffix}/app`)).toEqual([]);
    const all = join(dir, "all.tar");
    expect((await saveImages({ images: [{ image: `${base}:1`, component: "app" }], to: all, client })).failed).toEqual(
      [],
    );
    const pushed = await pushArchive(
      openArchive(all),
      parseTarget(`${gap.host}/multi-${suffix}`, ""),
      new RegistryWriter(gap.host),
    );
    expect(pushed.failed).toEqual([]);
    expect(craneDigest(`${gap.host}/multi-${suffix}/app:1`)).toBe(craneDigest(`${base}:1`));
  }, 120_000);

  test("a corrupt blob: verify and push fail naming the image, and nothing is tagged in the target", async () => {
    const bad = join(dir, "corrupt.tar");
    copyFileSync(archive, bad);
    const a = openArchive(bad);
    const cas = a.index.manifests.find((d) => d.annotations?.["io.containerd.image.name"]?.endsWith(`/cas:${VERSION}`));
    expect(cas).toBeDefined();
    const manifest = parseManifest(readEntryOf(a, cas?.digest ?? ""), "cas");
    const layer = manifest.blobs.at(-1);
    const entry = a.entries.get(blobPath(layer?.digest ?? ""));
    expect(entry).toBeDefined();
    const fd = openSync(bad, "r+");
    const at = entry?.offset ?? 0;
    writeSync(fd, Buffer.from([0xff ^ (readFileSync(bad)[at] ?? 0)]), 0, 1, at);
    closeSync(fd);

    const casImage = images().find((i) => i.component === "cas")?.image ?? "";
    const verify = await sconeSrc(["images", "verify", bad]);
    expect(verify.code).toBe(1);
    expect(verify.stderr).toMatch(
      new RegExp(`blob ${layer?.digest} is corrupt.*\\(image ${casImage.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\)`),
    );
    const push = await sconeSrc(["images", "push", "--from", bad, "--to", `${gap.host}/bad-${suffix}`]);
    expect(push.code).toBe(1);
    expect(push.stderr).toContain("the archive failed verification; nothing was pushed");
    expect(push.stderr).toContain(casImage);
    for (const { image } of listImages(VERSION, `${gap.host}/bad-${suffix}`, "").services)
      expect(craneTags(image.replace(/:[^:/]+$/, ""))).toEqual([]);
  }, 300_000);
});

function readEntryOf(a: ReturnType<typeof openArchive>, digest: string): Buffer {
  const e = a.entries.get(blobPath(digest));
  if (!e) throw new Error(`no blob ${digest}`);
  return readFileSync(a.file).subarray(e.offset, e.offset + e.size);
}
