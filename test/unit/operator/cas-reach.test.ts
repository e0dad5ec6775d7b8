// The operator's port-forwards to CAS pods when it runs outside the cluster: one listener per CAS, reused between
// probes, retried after a failed open, closed when idle and when the operator stops.
import { describe, expect, test } from "bun:test";
import type { KubeClient } from "../../../src/kube/client.ts";
import type { PortForward, PortForwardOptions } from "../../../src/kube/port-forward.ts";
import { CasPortForwards } from "../../../src/operator/cas-reach.ts";
import type { CAS } from "../../../src/resources/cas.ts";

const cas = (name: string, clientPort?: number): CAS =>
  ({
    apiVersion: "services.scone.cloud/v1beta1",
    kind: "CAS",
    metadata: { namespace: "ns", name },
    spec: clientPort ? { service: { clientPort } } : {},
  }) as unknown as CAS;

function fakeOpener(failFirst = false) {
  const opened: string[] = [];
  const closed: string[] = [];
  let port = 40_000;
  let fail = failFirst;
  const open = async (t: PortForwardOptions): Promise<PortForward> => {
    const name = `${t.namespace}/${t.pod}:${t.port}`;
    opened.push(name);
    if (fail) {
      fail = false;
      throw new Error('pods "cas-0" not found');
    }
    const localPort = port++;
    return {
      localAddress: "127.0.0.1",
      localPort,
      activeConnections: 0,
      lastError: undefined,
      close: async () => {
        closed.push(name);
      },
    };
  };
  return { open, opened, closed };
}

const signal = new AbortController().signal;
const client = {} as KubeClient;

describe("CasPortForwards", () => {
  test("one listener per CAS, reused by every probe; the address names localhost for the CAS certificate", async () => {
    const f = fakeOpener();
    const pool = new CasPortForwards(client, { open: f.open });
    const a1 = await pool.resolve(cas("cas"), signal);
    const a2 = await pool.resolve(cas("cas"), signal);
    const b = await pool.resolve(cas("other", 18081), signal);
    expect(f.opened).toEqual(["ns/cas-0:8081", "ns/other-0:18081"]);
    expect(a2.url).toBe(a1.url);
    expect(b.url).not.toBe(a1.url);
    expect(a1.serverName).toBe("localhost");
    expect(pool.size).toBe(2);
  });

  test("a listener that failed to open is not kept: the next probe opens it again", async () => {
    const f = fakeOpener(true);
    const pool = new CasPortForwards(client, { open: f.open });
    await expect(pool.resolve(cas("cas"), signal)).rejects.toThrow("not found");
    expect(pool.size).toBe(0);
    expect((await pool.resolve(cas("cas"), signal)).url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(f.opened).toHaveLength(2);
  });

  test("a listener unused for idleMs is closed; close() closes the rest", async () => {
    const f = fakeOpener();
    let now = 0;
    const pool = new CasPortForwards(client, { open: f.open, idleMs: 1_000, now: () => now });
    await pool.resolve(cas("gone"), signal);
    now = 600;
    await pool.resolve(cas("cas"), signal);
    now = 1_500; // "gone" unused for 1.5 s, "cas" for 0.9 s
    await pool.resolve(cas("cas"), signal);
    expect(f.closed).toEqual(["ns/gone-0:8081"]);
    expect(pool.size).toBe(1);
    await pool.close();
    expect(f.closed).toEqual(["ns/gone-0:8081", "ns/cas-0:8081"]);
    expect(pool.size).toBe(0);
  });
});
