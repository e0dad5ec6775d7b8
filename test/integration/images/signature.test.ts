// Image signatures for real: a local OCI registry (`crane registry serve` on loopback), small images pushed into it
// and signed with test keys by cosign built from the Go module proxy. scone's verifier accepts the signed image and
// refuses it unsigned, signed by another key, with another image's signature, and carried to another repository;
// `scone operator install` (the compiled binary) installs from signed images and refuses, before applying anything,
// when one is unsigned or wrongly signed, naming each image and the key.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkImageSignatures, ImagesRefusedError } from "../../../src/images/signature/check-images.ts";
import type { SignatureKey } from "../../../src/images/signature/public-key.ts";
import { signatureTag } from "../../../src/images/signature/reference.ts";
import { RegistryClient } from "../../../src/images/signature/registry.ts";
import { ImageSignatureError, verifyImageSignature } from "../../../src/images/signature/verify.ts";
import { operatorImage, SCONE_IMAGE_NAMES } from "../../../src/install/images.ts";
import { KubeClient } from "../../../src/kube/client.ts";
import { createCa, createServingCert } from "../../../src/operator/certs/pki.ts";
import { DEFAULT_SCONE_SERVICE_VERSION } from "../../../src/version.ts";
import { clusterAvailable, sharedCluster } from "../../harness/cluster.ts";
import { BINARY, binaryPresent, freePort, removeInstall, scone } from "../../harness/flows.ts";
import {
  type CosignKey,
  CRANE,
  cosignSign,
  craneAvailable,
  type LocalRegistry,
  pushImage,
  pushLayout,
  type SigningFixture,
  type SigningKey,
  startSigningFixture,
} from "../../harness/registry.ts";

if (!craneAvailable()) console.warn(`signature.test.ts skipped: ${CRANE} is missing — run 'make node-binaries'`);

const suffix = Math.random().toString(36).slice(2, 7);

/** The refusal of one image, as ImageSignatureError words it. */
const refusal = (image: string, key: string, why: RegExp | string) =>
  new RegExp(
    `image ${reEscape(image)} is refused: ${typeof why === "string" ? reEscape(why) : why.source}.*\\(key: ${reEscape(key)}\\)`,
  );
const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe.skipIf(!craneAvailable())("cosign image signatures against a local registry", () => {
  let fixture: SigningFixture | undefined;
  let registry: LocalRegistry;
  let cosign: string;
  let signer: CosignKey;
  let other: CosignKey;
  let key: SignatureKey;
  let otherKey: SignatureKey;
  const repo = (name: string) => `${registry.host}/t-${suffix}/${name}`;

  beforeAll(async () => {
    fixture = await startSigningFixture({ registries: 1, keys: 2 });
    cosign = fixture.cosign;
    registry = fixture.registries[0] as LocalRegistry;
    const [first, second] = fixture.keys as [SigningKey, SigningKey];
    ({ pair: signer, key } = first);
    ({ pair: other, key: otherKey } = second);
  }, 3_600_000);

  afterAll(() => fixture?.stop());

  test("a signed image is accepted at the digest the tag names; with another key it is refused", async () => {
    const image = `${repo("app")}:1`;
    const digest = pushImage(image, "signed");
    cosignSign(cosign, signer, image);
    expect(await checkImageSignatures([{ image }], key)).toEqual([{ image, digest, key: signer.publicKey }]);
    const refused = await checkImageSignatures([{ image }], otherKey).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ImagesRefusedError);
    expect(String((refused as Error).message)).toMatch(
      refusal(image, other.publicKey, "no valid signature by this key; found a signature not made by this key"),
    );
  }, 120_000);

  test("an unsigned image is refused, naming the image, the missing signature tag and the key", async () => {
    const image = `${repo("plain")}:1`;
    const digest = pushImage(image, "unsigned");
    const refused = (await checkImageSignatures([{ image }], key).catch((e: unknown) => e)) as Error;
    expect(refused).toBeInstanceOf(ImagesRefusedError);
    expect(refused.message).toMatch(
      refusal(image, signer.publicKey, `it is not signed: the registry has no signature (${signatureTag(digest)})`),
    );
  }, 120_000);

  test("another image's signature copied to this image's signature tag is refused: it signs the other digest", async () => {
    const signed = `${repo("swap")}:signed`;
    const target = `${repo("swap")}:target`;
    const signedDigest = pushImage(signed, "swap-signed");
    const targetDigest = pushImage(target, "swap-target");
    cosignSign(cosign, signer, signed);
    const copy = spawnSync(CRANE, [
      "copy",
      `${repo("swap")}:${signatureTag(signedDigest)}`,
      `${repo("swap")}:${signatureTag(targetDigest)}`,
    ]);
    expect(copy.status).toBe(0);
    const refused = (await checkImageSignatures([{ image: target }], key).catch((e: unknown) => e)) as Error;
    expect(refused.message).toMatch(
      refusal(
        target,
        signer.publicKey,
        `no valid signature by this key; found a signature by this key that does not fit: it signs ${signedDigest}, not the image's digest ${targetDigest}`,
      ),
    );
  }, 120_000);

  test("a signature carried to another repository binds to where it was signed, unless that origin is accepted", async () => {
    const origin = `${repo("origin")}:1`;
    const mirrored = `${repo("mirror/origin")}:1`;
    const digest = pushImage(origin, "carried");
    cosignSign(cosign, signer, origin);
    for (const tag of ["1", signatureTag(digest)]) {
      const copy = spawnSync(CRANE, ["copy", `${repo("origin")}:${tag}`, `${repo("mirror/origin")}:${tag}`]);
      expect(copy.status).toBe(0);
    }
    const refused = (await checkImageSignatures([{ image: mirrored }], key).catch((e: unknown) => e)) as Error;
    expect(refused.message).toMatch(
      refusal(
        mirrored,
        signer.publicKey,
        `no valid signature by this key; found a signature by this key that does not fit: it names the repository ${repo("origin")}, not ${repo("mirror/origin")}`,
      ),
    );
    expect(await checkImageSignatures([{ image: mirrored, alsoAccept: [repo("origin")] }], key)).toEqual([
      { image: mirrored, digest, key: signer.publicKey },
    ]);
  }, 120_000);

  test("over HTTPS the registry's certificate must chain to the given CA", async () => {
    const image = `${repo("tls")}:1`;
    const digest = pushImage(image, "tls");
    cosignSign(cosign, signer, image);
    const now = new Date();
    const ca = await createCa("registry test CA", { now });
    const serving = await createServingCert(ca, { dns: ["localhost"], ips: ["127.0.0.1"] }, { now });
    // A TLS terminator in front of the crane registry: the same registry, spoken to over HTTPS.
    const tls = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      tls: { cert: serving.certPem, key: serving.keyPem },
      fetch: (req) => {
        const url = new URL(req.url);
        return fetch(`http://${registry.host}${url.pathname}${url.search}`, {
          headers: req.headers,
          redirect: "manual",
        });
      },
    });
    try {
      const viaTls = `127.0.0.1:${tls.port}`;
      const client = (ca?: string) => () => new RegistryClient(viaTls, { scheme: "https", ...(ca ? { ca } : {}) });
      const verify = (ca?: string) => verifyImageSignature({ image, key, client: client(ca), alsoAccept: [] });
      expect(await verify(ca.certPem)).toEqual({ image, digest, key: signer.publicKey });
      const refused = (await verify().catch((e: unknown) => e)) as Error;
      expect(refused).toBeInstanceOf(ImageSignatureError);
      expect(refused.message).toMatch(
        refusal(
          image,
          signer.publicKey,
          /its signature could not be checked: https:\/\/127\.0\.0\.1:\d+\/v2\/.*(certificate|self.signed|issuer)/i,
        ),
      );
    } finally {
      tls.stop(true);
    }
  }, 120_000);

  test.skipIf(!binaryPresent)(
    "make image with COSIGN_KEY: the layout carries a signature that verifies once its tags are pushed",
    async () => {
      const out = mkdtempSync(join(tmpdir(), "scone-signed-image-"));
      const built = Bun.spawnSync(
        [
          process.execPath,
          "run",
          join(import.meta.dir, "../../../hack/image/build-image.ts"),
          ...["--platforms", "linux/amd64", "--binary", `linux/amd64=${BINARY}`, "--libc-root", "/"],
          ...["--out", out, "--image-registry", `${registry.host}/own-${suffix}`],
        ],
        {
          stdout: "pipe",
          stderr: "pipe",
          env: { ...process.env, COSIGN_KEY: signer.privateKey, COSIGN_PASSWORD: signer.password },
        },
      );
      expect(`${built.exitCode}\n${built.stderr}`).toMatch(/^0\n/);
      const digest = built.stdout.toString().trim().split("\n").pop() ?? "";
      expect(built.stdout.toString()).toContain(`signed with ${signer.privateKey}: ${signatureTag(digest)}`);
      await pushLayout(join(out, "oci"), registry.host, `own-${suffix}/scone`);
      const image = operatorImage(`${registry.host}/own-${suffix}`);
      expect(await checkImageSignatures([{ image }], key)).toEqual([{ image, digest, key: signer.publicKey }]);
      const refused = (await checkImageSignatures([{ image }], otherKey).catch((e: unknown) => e)) as Error;
      expect(refused.message).toMatch(refusal(image, other.publicKey, "no valid signature by this key"));
      // cosign itself accepts the signature make image wrote: the format is cosign's, not only scone's reading of it.
      const byCosign = spawnSync(
        cosign,
        [
          ...["verify", "--key", signer.publicKey, "--insecure-ignore-tlog=true", "--new-bundle-format=false"],
          ...["--allow-http-registry", image],
        ],
        { encoding: "utf8", timeout: 60_000 },
      );
      expect(`${byCosign.status}\n${byCosign.stderr}`).toMatch(/^0\n/);
      expect(byCosign.stdout).toContain(digest);
      rmSync(out, { recursive: true, force: true });
    },
    300_000,
  );

  describe.skipIf(!binaryPresent || !clusterAvailable())("scone operator install (compiled)", () => {
    const NS = `sig-${suffix}`;
    const version = DEFAULT_SCONE_SERVICE_VERSION;
    let kubeconfig: string;
    let admin: KubeClient;
    /** Every SCONE image of the version under `prefix`, signed with `sign(name)`'s key (undefined: unsigned). */
    const publish = (prefix: string, sign: (name: string) => CosignKey | undefined) => {
      for (const { name } of SCONE_IMAGE_NAMES) {
        const image = `${registry.host}/${prefix}${name}:${version}`;
        pushImage(image, `${prefix}${name}`);
        const by = sign(name);
        if (by) cosignSign(cosign, by, image);
      }
    };
    const install = async (prefix: string, extra: readonly string[]) =>
      scone([
        ...`operator install -n ${NS} --reconcile --only-operator --timeout 60`.split(" "),
        ...["--local-operator", `127.0.0.1:${await freePort()}`, "--kubeconfig", kubeconfig],
        ...["--image-registry", registry.host, "--image-prefix", prefix, ...extra],
      ]);
    const namespaceExists = async () =>
      (await admin.tryGet({ apiVersion: "v1", kind: "Namespace", name: NS })) !== undefined;

    beforeAll(async () => {
      kubeconfig = (await sharedCluster()).kubeconfigPath;
      admin = await KubeClient.load({ kubeconfig });
      publish(`good-${suffix}/`, () => signer);
      publish(`mixed-${suffix}/`, (name) => (name === "las" ? undefined : name === "sgx-plugin" ? other : signer));
    }, 600_000);

    afterAll(async () => {
      if (admin) await removeInstall(admin, NS);
    }, 120_000);

    test("refuses before applying anything: the unsigned and the wrongly signed image, each with the key", async () => {
      const r = await install(`mixed-${suffix}/`, ["--verify-image-signatures", signer.publicKey]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("nothing was applied: 2 image(s) failed the signature check");
      expect(r.stderr).toMatch(
        refusal(`${registry.host}/mixed-${suffix}/las:${version}`, signer.publicKey, "it is not signed"),
      );
      expect(r.stderr).toMatch(
        refusal(
          `${registry.host}/mixed-${suffix}/sgx-plugin:${version}`,
          signer.publicKey,
          "no valid signature by this key",
        ),
      );
      expect(await namespaceExists()).toBe(false);
    }, 180_000);

    test("refuses the signed images with another key, and by default with the Scontain key", async () => {
      const r = await install(`good-${suffix}/`, ["--verify-image-signatures", other.publicKey]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`nothing was applied: ${SCONE_IMAGE_NAMES.length} image(s) failed`);
      expect(r.stderr).toMatch(refusal(`${registry.host}/good-${suffix}/cas:${version}`, other.publicKey, "no valid"));
      const byDefault = await install(`good-${suffix}/`, []);
      expect(byDefault.code).toBe(1);
      expect(byDefault.stderr).toMatch(
        refusal(`${registry.host}/good-${suffix}/cas:${version}`, "the Scontain cosign key (built in)", "no valid"),
      );
      expect(await namespaceExists()).toBe(false);
    }, 180_000);

    test("contradictory flags are a usage error", async () => {
      const r = await install(`good-${suffix}/`, [
        "--verify-image-signatures",
        signer.publicKey,
        "--no-image-signature-check",
      ]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("--verify-image-signatures and --no-image-signature-check contradict each other");
    }, 60_000);

    test("installs from the signed images with their key, saying which digests were verified", async () => {
      const r = await install(`good-${suffix}/`, ["--verify-image-signatures", signer.publicKey]);
      expect(`${r.code}\n${r.stderr}`).toMatch(/^0\n/);
      expect(r.stderr).toContain(`image signatures verified with ${signer.publicKey} (ECDSA P-256)`);
      expect(r.stderr).toMatch(
        new RegExp(`${reEscape(`${registry.host}/good-${suffix}/cas:${version}`)}@sha256:[a-f0-9]{64}`),
      );
      expect(await namespaceExists()).toBe(true);
    }, 180_000);
  });
});
