// What a CAS answers is outside input (the first attestation even crosses an unauthenticated TLS channel). Every
// answer parser returns a value of the documented shape or throws CasError; an error body becomes a typed,
// bounded CasError; an attestation body is a checked report or a CasAttestationError.
import { beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  parseHashAnswer,
  parseHealthAnswer,
  parseProvisionAnswer,
  parseSessionAnswer,
  parseValueAnswer,
  parseValuesAnswer,
  parseVersionAnswer,
} from "../support/cas-legacy/answers.ts";
import {
  type AttestationReport,
  CasAttestationError,
  casKeyHashOf,
  parseSignedReport,
  signReport,
  verifyReport,
} from "../support/cas-legacy/attestation.ts";
import { type Ed25519KeyPair, ed25519FromSeed, toHex } from "../support/cas-legacy/crypto.ts";
import { CasError, errorFromResponse } from "../support/cas-legacy/errors.ts";
import { fuzzParams, thrownBy } from "./parser-runs.ts";

const field = (good: fc.Arbitrary<unknown>) => fc.oneof(good, fc.anything({ maxDepth: 2 }));
const maybeNull = fc.oneof(fc.string(), fc.constant(null));
const secret = fc.record(
  { kind: field(fc.constant("ascii")), value: field(fc.string()), expires: field(maybeNull), renew: field(maybeNull) },
  { requiredKeys: [] },
);
/** Bodies shaped like the answers (fields right or wrong), and any JSON at all. */
const body = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.record(
    {
      version: field(fc.string()),
      status: field(fc.constant("ok")),
      provisioned: field(fc.boolean()),
      snapshots: field(
        fc.record(
          { enabled: field(fc.boolean()), last_snapshot_at: field(maybeNull), last_checkup_at: field(maybeNull) },
          { requiredKeys: [] },
        ),
      ),
      owner_key_hash: field(fc.string()),
      hash: field(fc.string()),
      session: field(fc.string()),
      values: field(fc.dictionary(fc.string(), field(secret), { maxKeys: 3 })),
      kind: field(fc.constant("ascii")),
      value: field(fc.string()),
      expires: field(maybeNull),
      renew: field(maybeNull),
    },
    { requiredKeys: [] },
  ),
);

const isStringOrNull = (v: unknown) => v === null || typeof v === "string";
const isSecret = (v: { kind: unknown; value: unknown; expires: unknown; renew: unknown }) =>
  typeof v.kind === "string" && typeof v.value === "string" && isStringOrNull(v.expires) && isStringOrNull(v.renew);

/** Each parser with the property its result must have. */
const parsers: [string, (b: unknown) => boolean][] = [
  ["version", (b) => typeof parseVersionAnswer(b) === "string"],
  [
    "health",
    (b) => {
      const h = parseHealthAnswer(b);
      return (
        typeof h.status === "string" &&
        typeof h.version === "string" &&
        typeof h.provisioned === "boolean" &&
        typeof h.snapshots.enabled === "boolean" &&
        isStringOrNull(h.snapshots.last_snapshot_at) &&
        isStringOrNull(h.snapshots.last_checkup_at)
      );
    },
  ],
  ["provision", (b) => typeof parseProvisionAnswer(b).ownerKeyHash === "string"],
  ["hash", (b) => typeof parseHashAnswer(b, "x").hash === "string"],
  ["session", (b) => typeof parseSessionAnswer(b, "x").session === "string"],
  ["value", (b) => isSecret(parseValueAnswer(b, "x"))],
  ["values", (b) => Object.values(parseValuesAnswer(b, "x")).every(isSecret)],
];

describe("CAS answers (fuzz)", () => {
  for (const [name, check] of parsers) {
    test(`${name}: a value of the documented shape or CasError`, () => {
      fc.assert(
        fc.property(body, (b) => {
          try {
            expect(check(b)).toBe(true);
          } catch (err) {
            if (!(err instanceof CasError)) throw err;
            expect(err.message).toContain("unexpected response");
          }
        }),
        fuzzParams(),
      );
    });
  }

  test("an error answer is a CasError of bounded size", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 599 }),
        fc.oneof(
          body,
          fc.string({ maxLength: 3000 }),
          fc.record({ msg: fc.array(fc.oneof(fc.string({ maxLength: 2000 }), fc.anything()), { maxLength: 40 }) }),
        ),
        (status, b) => {
          const err = errorFromResponse(status, b, "op");
          expect(err).toBeInstanceOf(CasError);
          expect(err.message.length).toBeLessThanOrEqual(2100);
          expect(err.messages.length).toBeLessThanOrEqual(10);
        },
      ),
      fuzzParams(),
    );
  });
});

let casKey: Ed25519KeyPair;
let report: AttestationReport;
const expectations = () => ({ nonce: "ab".repeat(16), casKeyHash: casKeyHashOf(casKey.publicKey) });

describe("attestation answers (fuzz)", () => {
  beforeAll(async () => {
    casKey = await ed25519FromSeed(new Uint8Array(32).fill(3));
    report = {
      nonce: "ab".repeat(16),
      cas_key_hash: casKeyHashOf(casKey.publicKey),
      cas_public_key: toHex(casKey.publicKey),
      software_key_hash: "x",
      session_encryption_key: "00".repeat(32),
      audit_public_key: "00".repeat(32),
      ca_certificate: "PEM",
      version: "6.0.6",
      provisioned: true,
      timestamp: new Date(0).toISOString(),
    };
  });

  test("any body: a verified report or CasAttestationError", async () => {
    const reportLike = fc.record(
      {
        report: field(
          fc.record(
            {
              nonce: field(fc.constant("ab".repeat(16))),
              cas_key_hash: field(fc.constant("k")),
              cas_public_key: field(fc.constantFrom("00".repeat(32), "zz", "0")),
              provisioned: field(fc.boolean()),
              extra: fc.anything({ maxDepth: 3 }),
            },
            { requiredKeys: [] },
          ),
        ),
        signature: field(fc.constant("0".repeat(128))),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.anything({ maxDepth: 3 }), reportLike), async (b) => {
        const err = await thrownBy(() => verifyReport(parseSignedReport(b), expectations()));
        expect(err).toBeInstanceOf(CasAttestationError);
      }),
      fuzzParams(),
    );
  });

  test("a signed report with one field changed does not verify", async () => {
    const signed = await signReport(report, casKey);
    expect(await verifyReport(parseSignedReport(signed), expectations())).toEqual(report);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...Object.keys(report)), fc.jsonValue({ maxDepth: 1 }), async (key, value) => {
        const changed = { ...signed, report: { ...signed.report, [key]: value } };
        fc.pre(JSON.stringify(value) !== JSON.stringify((report as unknown as Record<string, unknown>)[key]));
        const err = await thrownBy(async () => verifyReport(parseSignedReport(changed), expectations()));
        expect(err).toBeInstanceOf(CasAttestationError);
      }),
      fuzzParams(0.5),
    );
  });
});

describe("CAS answer regressions", () => {
  // health() returned the body unchecked past `provisioned` and `snapshots`: a number or an object in
  // snapshots.last_snapshot_at reached the CAS status (a string field).
  test("health fields of the wrong type are refused", () => {
    const good = { status: "ok", version: "6", provisioned: true, snapshots: { enabled: true, last_snapshot_at: "t" } };
    expect(parseHealthAnswer(good).snapshots).toEqual({ enabled: true, last_snapshot_at: "t", last_checkup_at: null });
    for (const bad of [
      { ...good, snapshots: { enabled: true, last_snapshot_at: 5 } },
      { ...good, snapshots: { enabled: "yes" } },
      { ...good, version: {} },
    ]) {
      expect(() => parseHealthAnswer(bad)).toThrow(CasError);
    }
  });

  // values() cast the map unchecked: a secret without a string value reached `scone vault` as if it had one.
  test("exported values of the wrong shape are refused", () => {
    expect(() => parseValuesAnswer({ values: { k: { kind: "ascii", value: 7 } } }, "values")).toThrow(
      "values: unexpected response (values.k.value is not a string)",
    );
    expect(parseValuesAnswer({ values: { __proto__: 1, k: { kind: "ascii", value: "v" } } }, "v").k?.value).toBe("v");
  });

  // canonicalJson recursed into whatever the report held: a report nested 50 000 levels threw RangeError.
  test("a deeply nested report is a CasAttestationError", async () => {
    const deep = JSON.parse(`${"[".repeat(50_000)}${"]".repeat(50_000)}`);
    const body = { report: { ...report, extra: deep }, signature: "0".repeat(128) };
    expect(await thrownBy(async () => verifyReport(parseSignedReport(body), expectations()))).toBeInstanceOf(
      CasAttestationError,
    );
  });

  // An error body's messages went whole into the error message (and logs): a CAS could answer megabytes.
  test("an error answer's messages are capped", () => {
    const err = errorFromResponse(500, { msg: Array.from({ length: 1000 }, () => "m".repeat(10_000)) }, "op");
    expect(err.messages).toHaveLength(10);
    expect(err.message.length).toBeLessThanOrEqual(2100);
  });
});
