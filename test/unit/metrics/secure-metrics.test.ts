// --metrics-secure end to end in the Manager: /metrics over HTTPS (a self-signed certificate), refused without an
// accepted token and served with one; the plain probe port keeps /healthz but serves no metrics.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { KubeClient } from "../../../src/kube/client.ts";
import type { RequestOptions } from "../../../src/kube/transport.ts";
import { createLogger } from "../../../src/log.ts";
import { metricsAuthorizer, metricsReviewer } from "../../../src/metrics/auth.ts";
import { metricsTls } from "../../../src/metrics/tls.ts";
import { Manager } from "../../../src/operator/manager.ts";

describe("Manager with --metrics-secure", () => {
  let manager: Manager;
  const reviews: string[] = [];
  // The API server's answers: token "good" is prometheus, allowed; anything else is not authenticated.
  const requestJson = async (req: RequestOptions): Promise<unknown> => {
    const o = req.body as { kind: string; spec: { token?: string } };
    reviews.push(o.kind);
    const status =
      o.kind === "TokenReview"
        ? o.spec.token === "good"
          ? { authenticated: true, user: { username: "system:serviceaccount:monitoring:prometheus" } }
          : { authenticated: false }
        : { allowed: true };
    return { status };
  };
  const client = { transport: { requestJson } } as unknown as Pick<KubeClient, "transport">;

  beforeAll(async () => {
    manager = new Manager({
      log: createLogger({ level: "error", sink: { write: () => {} } }),
      probePort: 0,
      metricsPort: 0,
      bindAddress: "127.0.0.1",
      metricsSecurity: { tls: await metricsTls(undefined), guard: metricsAuthorizer(metricsReviewer(client)).guard },
    });
    manager.metrics.gauge("scone_cas_state", "test").set({ cr_name: "cas" }, 1);
    await manager.start();
  });
  afterAll(() => manager?.stop());

  const metricsUrl = () => `https://127.0.0.1:${manager.ports.metrics}/metrics`;
  // The certificate is self-signed: the test trusts it as a scraper with insecureSkipVerify would.
  const tls = { rejectUnauthorized: false };

  test("no token: 401; a rejected token: 401; plain HTTP is not served on the metrics port", async () => {
    expect((await fetch(metricsUrl(), { tls })).status).toBe(401);
    expect((await fetch(metricsUrl(), { tls, headers: { authorization: "Bearer bad" } })).status).toBe(401);
    const plain = await fetch(`http://127.0.0.1:${manager.ports.metrics}/metrics`).catch(() => undefined);
    expect(plain?.status === 200).toBe(false);
  });

  test("an accepted and authorized token gets the metrics", async () => {
    const r = await fetch(metricsUrl(), { tls, headers: { authorization: "Bearer good" } });
    expect(r.status).toBe(200);
    expect(await r.text()).toContain('scone_cas_state{cr_name="cas"} 1');
    expect(reviews).toContain("SubjectAccessReview");
  });

  test("the probe port answers /healthz but not /metrics", async () => {
    const probe = `http://127.0.0.1:${manager.ports.probe}`;
    expect((await fetch(`${probe}/healthz`)).status).toBe(200);
    expect((await fetch(`${probe}/metrics`)).status).toBe(404);
  });
});
