// The certificate reconcile's composition without a cluster: the client is an in-memory object store, the server a
// recorder. One round creates the Secrets, publishes the CA in both configurations, then serves; a steady round
// writes nothing; a failed round is recorded, not thrown.
import { describe, expect, test } from "bun:test";
import type { KubeClient } from "../../../../src/kube/client.ts";
import type { KubeObject, ObjectRef } from "../../../../src/kube/types.ts";
import { createLogger } from "../../../../src/log.ts";
import { caBundleTargets } from "../../../../src/operator/certs/ca-bundle.ts";
import type { PemPair } from "../../../../src/operator/certs/pki.ts";
import { readCertInfo } from "../../../../src/operator/certs/pki.ts";
import { WEBHOOK_CERT_SECRET } from "../../../../src/operator/certs/secret.ts";
import {
  attemptCertificates,
  type CertificateDeps,
  initialCertificateState,
  reconcileCertificates,
} from "../../../../src/operator/webhooks/certificates.ts";
import { applyJsonPatch, type PatchOperation } from "../../../../src/operator/webhooks/json-patch.ts";
import { sansFor } from "../../../../src/operator/webhooks/plan.ts";

const NS = "scone-system";
const targets = caBundleTargets({ mutating: "scone-mutating", validating: "scone-validating" });
const keyOf = (r: { kind?: string; namespace?: string; name?: string }) => `${r.kind}/${r.namespace ?? ""}/${r.name}`;

/** An API server holding objects by kind/namespace/name; it records every write. */
function fakeApi(opts: { configurations?: boolean; down?: () => boolean } = {}) {
  const objects = new Map<string, KubeObject>();
  const writes: string[] = [];
  const up = () => {
    if (opts.down?.()) throw new Error("connect ECONNREFUSED");
  };
  if (opts.configurations !== false)
    for (const t of targets)
      objects.set(keyOf(t), {
        ...t,
        metadata: { name: t.name },
        webhooks: [{ name: "cas.scone.cloud" }],
      } as KubeObject);
  const store = (o: KubeObject, verb: string) => {
    up();
    writes.push(`${verb} ${o.kind} ${o.metadata?.name}`);
    objects.set(keyOf({ kind: o.kind, namespace: o.metadata?.namespace, name: o.metadata?.name }), structuredClone(o));
    return o;
  };
  const client = {
    tryGet: async (ref: ObjectRef) => {
      up();
      const o = objects.get(keyOf(ref));
      return o ? structuredClone(o) : undefined;
    },
    create: async (o: KubeObject) => store(o, "create"),
    replace: async (o: KubeObject) => store(o, "replace"),
    patch: async (ref: ObjectRef, ops: (PatchOperation | { op: "test" })[]) => {
      up();
      const changes = ops.filter((op): op is PatchOperation => op.op !== "test");
      return store(applyJsonPatch(objects.get(keyOf(ref)), changes) as KubeObject, "patch");
    },
  } as unknown as KubeClient;
  const caBundleOf = (name: string) =>
    (
      objects.get(keyOf(targets.find((t) => t.name === name) ?? targets[0]!)) as {
        webhooks: { clientConfig?: { caBundle?: string } }[];
      }
    ).webhooks[0]?.clientConfig?.caBundle;
  return { client, writes, caBundleOf };
}

function world(api: ReturnType<typeof fakeApi>) {
  const served: string[] = [];
  const warnings: string[] = [];
  const expiry: number[] = [];
  let serving = 0;
  let listening = false;
  const server = {
    get listening() {
      return listening;
    },
    start: (tls: PemPair) => {
      listening = true;
      served.push(`start ${tls.certPem.length > 0}`);
    },
    swapCertificate: () => served.push("swap"),
  };
  const log = createLogger({
    level: "warn",
    format: "json",
    sink: {
      write: (line: string) => {
        warnings.push(String(JSON.parse(line).msg));
        return true;
      },
    },
  });
  const deps: CertificateDeps = {
    client: api.client,
    namespace: NS,
    sans: sansFor(NS, { mode: "url" }),
    targets,
    server,
    now: () => new Date(),
    log,
    onServing: () => serving++,
    reportExpiry: (s) => expiry.push(s),
  };
  return { deps, state: initialCertificateState(), served, warnings, expiry, servingCalls: () => serving };
}

describe("reconcileCertificates", () => {
  test("a first round: Secrets created, the CA in both configurations, then the server starts; expiry reported", async () => {
    const api = fakeApi();
    const w = world(api);
    await reconcileCertificates(w.deps, w.state);
    expect(api.writes.filter((x) => x.startsWith("create Secret"))).toHaveLength(2);
    expect(api.writes).toContain(`create Secret ${WEBHOOK_CERT_SECRET}`);
    // The caBundle is published before anything is served (the patches follow the Secret writes).
    expect(api.writes.slice(-2)).toEqual([
      "patch MutatingWebhookConfiguration scone-mutating",
      "patch ValidatingWebhookConfiguration scone-validating",
    ]);
    const ca = Buffer.from(w.state.certificates?.caBundlePem ?? "").toString("base64");
    expect(api.caBundleOf("scone-mutating")).toBe(ca);
    expect(api.caBundleOf("scone-validating")).toBe(ca);
    expect(w.served).toEqual(["start true"]);
    expect(w.servingCalls()).toBe(1);
    const notAfter = readCertInfo(w.state.certificates?.serving.certPem ?? "")?.notAfter.getTime() ?? 0;
    expect(w.state.servingNotAfterMs).toBe(notAfter);
    expect(w.expiry).toEqual([Math.floor(notAfter / 1000)]);
  });

  test("a steady round writes nothing and swaps the same certificate into the running server", async () => {
    const api = fakeApi();
    const w = world(api);
    await reconcileCertificates(w.deps, w.state);
    const first = w.state.certificates;
    const written = api.writes.length;
    await reconcileCertificates(w.deps, w.state);
    expect(api.writes).toHaveLength(written);
    expect(w.served).toEqual(["start true", "swap"]);
    expect(w.servingCalls()).toBe(1);
    expect(w.state.certificates?.serving.certPem).toBe(first?.serving.certPem);
  });

  test("missing configurations are warned about once, and still the certificate is served", async () => {
    const api = fakeApi({ configurations: false });
    const w = world(api);
    await reconcileCertificates(w.deps, w.state);
    await reconcileCertificates(w.deps, w.state);
    expect(w.warnings.filter((m) => m.startsWith("webhook configurations not found"))).toHaveLength(1);
    expect(w.served[0]).toBe("start true");
  });
});

describe("attemptCertificates", () => {
  test("a failed round is recorded (error, failures in a row) and serves nothing; a success clears it", async () => {
    let down = true;
    const api = fakeApi({ down: () => down });
    const w = world(api);
    await attemptCertificates(w.deps, w.state);
    await attemptCertificates(w.deps, w.state);
    expect(w.state.lastError).toContain("ECONNREFUSED");
    expect(w.state.failures).toBe(2);
    expect(w.served).toEqual([]);
    down = false;
    await attemptCertificates(w.deps, w.state);
    expect(w.state.lastError).toBeUndefined();
    expect(w.state.failures).toBe(0);
    expect(w.served).toEqual(["start true"]);
  });
});
