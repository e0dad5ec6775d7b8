// The webhook server shell: HTTP refusals (no cluster needed), and the TLS certificate swapped without a restart.
import { afterAll, describe, expect, test } from "bun:test";
import { createLogger } from "../../../../src/log.ts";
import { resolveAllowedRegistries } from "../../../../src/operator/admission/registries.ts";
import { createCa, createServingCert } from "../../../../src/operator/certs/pki.ts";
import type { AdmissionReview } from "../../../../src/operator/webhooks/admission.ts";
import { admissionDispatcher } from "../../../../src/operator/webhooks/dispatch.ts";
import { webhookFetchHandler } from "../../../../src/operator/webhooks/http.ts";
import { WebhookServer } from "../../../../src/operator/webhooks/server.ts";

const log = createLogger({ level: "error", sink: { write: () => true } });
const PATH = "/validate-base-scone-cloud-v1beta1-las";
const lasReview = (name: string): AdmissionReview => ({
  apiVersion: "admission.k8s.io/v1",
  kind: "AdmissionReview",
  request: {
    uid: `uid-${name}`,
    kind: { group: "base.scone.cloud", version: "v1beta1", kind: "LAS" },
    resource: { group: "base.scone.cloud", version: "v1beta1", resource: "las" },
    name,
    operation: "CREATE",
    object: { apiVersion: "base.scone.cloud/v1beta1", kind: "LAS", metadata: { name }, spec: {} },
  },
});

const lookups: string[] = [];
const handler = webhookFetchHandler({
  log,
  maxBodyBytes: 64 * 1024,
  handle: admissionDispatcher({
    defaults: { serviceVersion: "6.0.6" },
    policy: { allowedRegistries: resolveAllowedRegistries(undefined, undefined) },
    namespaceLabels: async () => ({}),
    listExisting: async (kind) => {
      lookups.push(kind);
      return [{ name: "las", terminating: false }];
    },
  }),
});
const post = (path: string, body: string, contentType = "application/json") =>
  handler(new Request(`https://webhook${path}`, { method: "POST", body, headers: { "content-type": contentType } }));

describe("HTTP", () => {
  test("answers a review with a review; the singleton lookup happens for LAS creates", async () => {
    const res = await post(PATH, JSON.stringify(lasReview("other")));
    expect(res.status).toBe(200);
    const answer = (await res.json()) as AdmissionReview;
    expect(answer.response?.uid).toBe("uid-other");
    expect(answer.response?.allowed).toBe(false);
    expect(lookups).toEqual(["LAS"]);
  });

  test("unknown paths 404, other methods 405", async () => {
    expect((await post("/convert", "{}")).status).toBe(404);
    expect((await handler(new Request(`https://webhook${PATH}`))).status).toBe(405);
  });

  test("malformed bodies and wrong content types are 400", async () => {
    expect((await post(PATH, "{not json")).status).toBe(400);
    expect((await post(PATH, JSON.stringify({ kind: "Pod" }))).status).toBe(400);
    expect((await post(PATH, JSON.stringify(lasReview("x")), "text/plain")).status).toBe(400);
    const noRequest = await post(PATH, JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" }));
    expect(await noRequest.text()).toContain("request is missing");
  });

  test("bodies over the cap are 413", async () => {
    const big = JSON.stringify({ ...lasReview("x"), padding: "x".repeat(70 * 1024) });
    expect((await post(PATH, big)).status).toBe(413);
  });

  test("a failing lookup becomes a readable refusal, not a hung request", async () => {
    const failing = webhookFetchHandler({
      log,
      handle: admissionDispatcher({
        defaults: {},
        policy: { allowedRegistries: resolveAllowedRegistries(undefined, undefined) },
        namespaceLabels: async () => ({}),
        listExisting: async () => {
          throw new Error("API server unreachable");
        },
      }),
    });
    const res = await failing(
      new Request(`https://webhook${PATH}`, {
        method: "POST",
        body: JSON.stringify(lasReview("x")),
        headers: { "content-type": "application/json" },
      }),
    );
    const answer = (await res.json()) as AdmissionReview;
    expect(answer.response).toMatchObject({ allowed: false, status: { code: 500 } });
    expect(answer.response?.status?.message).toContain("API server unreachable");
  });
});

describe("TLS", async () => {
  const now = new Date();
  const sans = { dns: ["localhost"], ips: ["127.0.0.1"] };
  const caA = await createCa("a", { now });
  const caB = await createCa("b", { now });
  const server = new WebhookServer({ port: 0, hostname: "127.0.0.1", fetch: handler, log, drainMs: 100 });
  afterAll(() => server.stop());

  const call = async (ca: string): Promise<number | string> => {
    try {
      const res = await fetch(`https://127.0.0.1:${server.port}${PATH}`, {
        method: "POST",
        body: JSON.stringify(lasReview("las")),
        headers: { "content-type": "application/json", connection: "close" },
        tls: { ca },
        keepalive: false,
      });
      return res.status;
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  };

  test("serves HTTPS and swaps the certificate on the same port", async () => {
    server.start(await createServingCert(caA, sans, { now }));
    const port = server.port;
    expect(await call(caA.certPem)).toBe(200);
    expect(server.swapCertificate(await createServingCert(caB, sans, { now }))).toBe(true);
    expect(server.port).toBe(port);
    expect(await call(caB.certPem)).toBe(200);
    expect(await call(caA.certPem)).not.toBe(200);
  });

  test("swapping in the certificate already served is a no-op", async () => {
    const pair = await createServingCert(caB, sans, { now });
    server.swapCertificate(pair);
    expect(server.swapCertificate(pair)).toBe(false);
  });
});
