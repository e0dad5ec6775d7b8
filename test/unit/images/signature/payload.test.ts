import { describe, expect, test } from "bun:test";
import {
  COSIGN_SIGNATURE_TYPE,
  MAX_PAYLOAD_BYTES,
  PayloadError,
  parsePayload,
  payloadMismatch,
} from "../../../../src/images/signature/payload.ts";
import {
  MAX_SIGNATURE_LAYERS,
  parseSignatureManifest,
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  SignatureManifestError,
} from "../../../../src/images/signature/signature-manifest.ts";

const DIGEST = `sha256:${"ab".repeat(32)}`;
const enc = (v: unknown) => new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v));
const payload = (critical: unknown) => enc({ critical, optional: null });
const good = {
  identity: { "docker-reference": "127.0.0.1:5000/scone/cas" },
  image: { "docker-manifest-digest": DIGEST },
  type: COSIGN_SIGNATURE_TYPE,
};

describe("parsePayload", () => {
  test("reads the docker-reference and the digest of a cosign payload", () => {
    expect(parsePayload(payload(good))).toEqual({
      dockerReference: "127.0.0.1:5000/scone/cas",
      manifestDigest: DIGEST,
    });
  });

  const bad: [string, Uint8Array, RegExp][] = [
    ["not JSON", enc("{critical"), /not UTF-8 JSON/],
    ["invalid UTF-8", new Uint8Array([0x7b, 0xff, 0x7d]), /not UTF-8 JSON/],
    ["a JSON array", enc([good]), /payload is not a JSON object/],
    ["no critical", enc({ optional: {} }), /critical is not a JSON object/],
    ["another type", payload({ ...good, type: "atomic container signature" }), /critical.type is "atomic/],
    ["no identity", payload({ ...good, identity: undefined }), /critical.identity is not a JSON object/],
    [
      "a numeric reference",
      payload({ ...good, identity: { "docker-reference": 5 } }),
      /docker-reference must be a string/,
    ],
    [
      "an empty reference",
      payload({ ...good, identity: { "docker-reference": "" } }),
      /docker-reference must be a string/,
    ],
    ["a huge reference", payload({ ...good, identity: { "docker-reference": "a".repeat(5000) } }), /1 to 1024/],
    [
      "a sha512 digest",
      payload({ ...good, image: { "docker-manifest-digest": `sha512:${"a".repeat(128)}` } }),
      /64 lower-case hex/,
    ],
    [
      "an upper-case digest",
      payload({ ...good, image: { "docker-manifest-digest": DIGEST.toUpperCase() } }),
      /64 lower-case hex/,
    ],
    ["more than the cap", new Uint8Array(MAX_PAYLOAD_BYTES + 1), new RegExp(`more than ${MAX_PAYLOAD_BYTES}`)],
  ];
  for (const [what, bytes, message] of bad) {
    test(`refuses ${what}`, () => {
      expect(() => parsePayload(bytes)).toThrow(PayloadError);
      expect(() => parsePayload(bytes)).toThrow(message);
    });
  }
});

describe("payloadMismatch", () => {
  const p = { dockerReference: "127.0.0.1:5000/scone/cas", manifestDigest: DIGEST };
  test("fits: the digest and the image's own repository", () => {
    expect(payloadMismatch(p, DIGEST, ["127.0.0.1:5000/scone/cas"])).toBeUndefined();
  });
  test("another digest is named", () => {
    const other = `sha256:${"cd".repeat(32)}`;
    expect(payloadMismatch(p, other, ["127.0.0.1:5000/scone/cas"])).toBe(
      `it signs ${DIGEST}, not the image's digest ${other}`,
    );
  });
  test("another repository is refused unless accepted (a mirrored image's origin)", () => {
    expect(payloadMismatch(p, DIGEST, ["mirror.local/cas"])).toBe(
      "it names the repository 127.0.0.1:5000/scone/cas, not mirror.local/cas",
    );
    expect(payloadMismatch(p, DIGEST, ["mirror.local/cas", "127.0.0.1:5000/scone/cas"])).toBeUndefined();
  });
  test("Docker Hub spellings are one repository", () => {
    const hub = { dockerReference: "index.docker.io/library/busybox", manifestDigest: DIGEST };
    expect(payloadMismatch(hub, DIGEST, ["busybox"])).toBeUndefined();
  });
  test("a reference that is no image reference is named, not thrown", () => {
    expect(payloadMismatch({ dockerReference: "UPPER/Case", manifestDigest: DIGEST }, DIGEST, ["x.io/a"])).toMatch(
      /docker-reference is not an image reference/,
    );
  });
});

describe("parseSignatureManifest", () => {
  const layer = (over: Record<string, unknown> = {}) => ({
    mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
    digest: DIGEST,
    size: 250,
    annotations: { [SIGNATURE_ANNOTATION]: Buffer.from("sig").toString("base64") },
    ...over,
  });
  test("one layer per signature; other media types skipped", () => {
    const layers = parseSignatureManifest(enc({ layers: [layer(), layer({ mediaType: "application/x-other" })] }));
    expect(layers).toHaveLength(1);
    expect(Buffer.from(layers[0]?.signature ?? []).toString()).toBe("sig");
    expect(layers[0]?.size).toBe(250);
  });
  const bad: [string, unknown, RegExp][] = [
    ["no layers", { config: {} }, /no layers list/],
    ["too many layers", { layers: Array.from({ length: MAX_SIGNATURE_LAYERS + 1 }, () => layer()) }, /more than 64/],
    ["a layer that is a string", { layers: ["x"] }, /layer 0 is not an object/],
    ["a bad digest", { layers: [layer({ digest: "sha256:zz" })] }, /layer 0: digest/],
    ["a negative size", { layers: [layer({ size: -1 })] }, /layer 0: size/],
    ["a size above the payload cap", { layers: [layer({ size: MAX_PAYLOAD_BYTES + 1 })] }, /layer 0: size/],
    ["a fractional size", { layers: [layer({ size: 1.5 })] }, /layer 0: size/],
    ["no annotation", { layers: [layer({ annotations: {} })] }, /annotation dev.cosignproject.cosign\/signature/],
    [
      "a non-base64 annotation",
      { layers: [layer({ annotations: { [SIGNATURE_ANNOTATION]: "a b!" } })] },
      /must be base64/,
    ],
    [
      "an oversized annotation",
      { layers: [layer({ annotations: { [SIGNATURE_ANNOTATION]: "A".repeat(4000) } })] },
      /must be base64 of at most/,
    ],
  ];
  for (const [what, doc, message] of bad) {
    test(`refuses ${what}`, () => {
      expect(() => parseSignatureManifest(enc(doc))).toThrow(SignatureManifestError);
      expect(() => parseSignatureManifest(enc(doc))).toThrow(message);
    });
  }
  test("refuses a manifest that is not JSON", () => {
    expect(() => parseSignatureManifest(enc("<html>"))).toThrow(/not UTF-8 JSON/);
  });
});
