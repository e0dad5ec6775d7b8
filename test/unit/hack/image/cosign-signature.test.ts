import { describe, expect, test } from "bun:test";
import { attachSignature, simpleSigningPayload } from "../../../../hack/image/cosign-signature.ts";
import { buildLayout, sha256 } from "../../../../hack/image/oci.ts";
import { parsePayload } from "../../../../src/images/signature/payload.ts";
import { parseSignatureManifest } from "../../../../src/images/signature/signature-manifest.ts";

const index = (() => {
  const bytes = new TextEncoder().encode('{"schemaVersion":2,"manifests":[]}');
  return {
    descriptor: { mediaType: "application/vnd.oci.image.index.v1+json", digest: sha256(bytes), size: bytes.length },
    bytes,
  };
})();

describe("make image COSIGN_KEY: the signature in the layout", () => {
  const layout = buildLayout(index, [], "mirror.local:5000/own/scone:1.2.3");
  const payload = simpleSigningPayload("mirror.local:5000/own/scone:1.2.3", layout.digest);

  test("the payload names the repository without tag and the index digest, as cosign sign writes it", () => {
    expect(parsePayload(payload)).toEqual({
      dockerReference: "mirror.local:5000/own/scone",
      manifestDigest: layout.digest,
    });
  });

  test("a manifest tagged sha256-<hex>.sig whose one layer is the payload with the signature annotation", () => {
    const signed = attachSignature(layout, payload, "c2lnbmF0dXJl");
    const top = JSON.parse(new TextDecoder().decode(signed.files.get("index.json"))) as {
      manifests: { digest: string; annotations: Record<string, string> }[];
    };
    expect(top.manifests.map((m) => m.annotations["org.opencontainers.image.ref.name"])).toEqual([
      "1.2.3",
      `${layout.digest.replace(":", "-")}.sig`,
    ]);
    const blob = (digest: string) => signed.files.get(`blobs/sha256/${digest.slice(7)}`) ?? new Uint8Array();
    const layers = parseSignatureManifest(blob(top.manifests[1]?.digest ?? ""));
    expect(layers).toHaveLength(1);
    expect(Buffer.from(layers[0]?.signature ?? []).toString()).toBe("signature");
    expect(blob(layers[0]?.digest ?? "")).toEqual(payload);
    expect(signed.digest).toBe(layout.digest);
  });
});
