// Property-based tests of what scone reads from a registry before it trusts it (src/images/signature): the
// simple-signing payload, the signature manifest, image references, and the key's verify on arbitrary bytes.
// Only the parsers' own errors may come out, and whatever is accepted is within the bounds. Fixed seed and a
// bounded count for `make test`; SCONE_FUZZ_RUNS / SCONE_FUZZ_SEED for a longer run.
import { describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import fc from "fast-check";
import {
  COSIGN_SIGNATURE_TYPE,
  MAX_PAYLOAD_BYTES,
  PayloadError,
  parsePayload,
} from "../../src/images/signature/payload.ts";
import { MAX_SIGNATURE_BYTES, parsePublicKey } from "../../src/images/signature/public-key.ts";
import { ImageReferenceError, parseImageRef, repositoryName } from "../../src/images/signature/reference.ts";
import {
  MAX_SIGNATURE_LAYERS,
  parseSignatureManifest,
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  SignatureManifestError,
} from "../../src/images/signature/signature-manifest.ts";
import { fuzzParams } from "./parser-runs.ts";

const settings = fuzzParams();
const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const digest = fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `sha256:${h}`);
/** A JSON value where the payload has structure: right shapes, wrong shapes, missing keys. */
const loose = fc.oneof(fc.jsonValue(), fc.constant(undefined), digest, fc.constant(COSIGN_SIGNATURE_TYPE));

describe("cosign payload (property-based)", () => {
  test("any JSON in the payload's places: parsed within bounds or refused with PayloadError", () => {
    fc.assert(
      fc.property(loose, loose, loose, loose, (type, ref, dig, extra) => {
        const doc = {
          critical: { type, identity: { "docker-reference": ref }, image: { "docker-manifest-digest": dig } },
          optional: extra,
        };
        try {
          const p = parsePayload(enc(doc));
          expect(p.manifestDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
          expect(p.dockerReference.length).toBeLessThanOrEqual(1024);
        } catch (e) {
          expect(e).toBeInstanceOf(PayloadError);
        }
      }),
      settings,
    );
  });

  test("arbitrary bytes are refused with PayloadError, never another error", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        try {
          parsePayload(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(PayloadError);
        }
      }),
      settings,
    );
    expect(() => parsePayload(new Uint8Array(MAX_PAYLOAD_BYTES + 1))).toThrow(PayloadError);
  });
});

describe("signature manifest (property-based)", () => {
  const layer = fc.record(
    {
      mediaType: fc.oneof(fc.constant(SIMPLE_SIGNING_MEDIA_TYPE), fc.string({ maxLength: 10 })),
      digest: fc.oneof(digest, fc.string({ maxLength: 80 })),
      size: fc.oneof(fc.integer({ min: -2, max: 2 * MAX_PAYLOAD_BYTES }), fc.double(), fc.string({ maxLength: 3 })),
      annotations: fc.oneof(
        fc.record({
          [SIGNATURE_ANNOTATION]: fc.oneof(fc.base64String({ maxLength: 1200 }), fc.string({ maxLength: 20 })),
        }),
        fc.jsonValue(),
      ),
    },
    { requiredKeys: [] },
  );
  test("layers of any shape: accepted within bounds or refused with SignatureManifestError", () => {
    fc.assert(
      fc.property(fc.oneof(fc.array(layer, { maxLength: 70 }), fc.jsonValue()), (layers) => {
        try {
          const parsed = parseSignatureManifest(enc({ schemaVersion: 2, layers }));
          expect(parsed.length).toBeLessThanOrEqual(MAX_SIGNATURE_LAYERS);
          for (const l of parsed) {
            expect(l.signature.byteLength).toBeLessThanOrEqual(MAX_SIGNATURE_BYTES * 2);
            expect(l.size).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
            expect(l.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
          }
        } catch (e) {
          expect(e).toBeInstanceOf(SignatureManifestError);
        }
      }),
      settings,
    );
  });
});

describe("image references and keys (property-based)", () => {
  test("any string: an ImageReferenceError, or a reference whose repository parses back to itself", () => {
    const piece = fc.constantFrom(
      "a",
      "b.io",
      "127.0.0.1:5000",
      "localhost",
      "x/y",
      ":",
      "@",
      "/",
      "sha256:",
      "..",
      "A",
      "_",
      "-",
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 60 }),
          fc.array(piece, { maxLength: 8 }).map((p) => p.join("")),
        ),
        (s) => {
          try {
            const ref = parseImageRef(s);
            const again = parseImageRef(repositoryName(ref));
            expect(repositoryName(again)).toBe(repositoryName(ref));
          } catch (e) {
            expect(e).toBeInstanceOf(ImageReferenceError);
          }
        },
      ),
      settings,
    );
  });

  test("verify with arbitrary signature bytes returns false, never throws", () => {
    const pem = (k: { export(o: { type: "spki"; format: "pem" }): string | Buffer }) =>
      String(k.export({ type: "spki", format: "pem" }));
    const keys = [
      parsePublicKey(pem(generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey), "p256"),
      parsePublicKey(pem(generateKeyPairSync("ed25519").publicKey), "ed25519"),
    ];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 700 }), (payload, sig) => {
        for (const k of keys) expect(k.verify(payload, sig)).toBe(false);
      }),
      fuzzParams(0.5),
    );
  });
});
