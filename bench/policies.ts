// SignedPolicy throughput: N signed policies (default 1,000; SCONE_BENCH_POLICIES) applied at once against the CAS
// simulator, timed until every one reaches its final state (Synced), next to the API server's own write rate: the
// time to create the same N objects with no controller running, measured in the same run with the same
// concurrency. Cluster: SCONE_BENCH_KUBECONFIG, else a throwaway local cluster from test/harness.
// Prints figures; never fails on speed.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchSimulator } from "../sim/cas/launch.ts";
import { attestCas, CasClient } from "../src/cas/client.ts";
import {
  generateCliConfig,
  identityKeyHash,
  identityPem,
  sessionSigner,
  sessionSigningSeed,
  withCas,
} from "../src/cas/identity.ts";
import { signSession } from "../src/cas/session.ts";
import { clientListWatch, Informer } from "../src/kube/informer.ts";
import type { KubeLogger, KubeObject } from "../src/kube/types.ts";
import { mappedResolver } from "../src/operator/policies/address.ts";
import { attestedCasClients } from "../src/operator/policies/cas-port.ts";
import { registerPolicyControllers, SIGNED_POLICY_TYPE } from "../src/operator/policies/controller.ts";
import { casDbEntryOfAttestation, ownerIdentitySource, ownerSecret } from "../src/operator/policies/owner.ts";
import type { SignedPolicy } from "../src/resources/policies.ts";
import { buildOperatorContext, ensureNamespace, installCrds } from "../test/integration/operator/context.ts";

const COUNT = Number(process.env.SCONE_BENCH_POLICIES ?? 1000);
const CONCURRENCY = 16;
const NS = "scone-bench-policies";
const BASELINE_NS = "scone-bench-policies-baseline";
const CAS_ADDRESS = `https://cas.${NS}:8081`;
const quiet: KubeLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** Runs `work` over `items` with at most CONCURRENCY in flight. */
async function pool<T>(items: readonly T[], work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

async function main(): Promise<void> {
  let kubeconfig = process.env.SCONE_BENCH_KUBECONFIG;
  let stopCluster: (() => Promise<void>) | undefined;
  if (!kubeconfig) {
    const { startLocalCluster } = await import("../test/harness/cluster.ts");
    const cluster = await startLocalCluster();
    kubeconfig = cluster.kubeconfigPath;
    stopCluster = () => cluster.stop();
  }
  const dir = await mkdtemp(join(tmpdir(), "scone-bench-policies-"));
  const sim = await launchSimulator({ dataDir: join(dir, "db") });
  try {
    // Owner identity: attest, provision, remember the CAS under its in-cluster address.
    let owner = await generateCliConfig("bench-owner");
    const attested = await attestCas(sim.url, { casKeyHash: sim.casKeyHash });
    await new CasClient({ url: sim.url, caCertPem: attested.caCertPem, identity: identityPem(owner) }).provision({
      token: sim.provisioningToken ?? "",
      casKeyHash: sim.casKeyHash,
      ownerConfig: '[audit_log]\nmode = "disabled"\n',
    });
    owner = withCas(owner, CAS_ADDRESS, casDbEntryOfAttestation(CAS_ADDRESS, attested));
    const signer = await sessionSigner(owner);
    const seed = sessionSigningSeed(owner);
    const keyHash = identityKeyHash(owner);

    const op = await buildOperatorContext({ kubeconfigPath: kubeconfig, logLevel: "error" });
    const client = op.client;
    await installCrds(client);
    for (const ns of [NS, BASELINE_NS]) await ensureNamespace(client, ns);
    await client.apply(ownerSecret({ name: "cas", namespace: NS }, owner), {
      fieldManager: "scone-bench",
      force: true,
    });

    const tSign = performance.now();
    const specs: SignedPolicy["spec"][] = [];
    for (let i = 0; i < COUNT; i++) {
      const text = `version: "0.3.10"\nname: bench-${i}\npredecessor: ~\nservices:\n  - name: app\n    command: app ${i}\naccess_policy:\n  read:\n    - ${keyHash}\n  update:\n    - CREATOR\ncreator:\n  signer: ${signer}\n`;
      const signed = await signSession(text, seed);
      specs.push({ casAddress: CAS_ADDRESS, policy: signed.session, signatures: [...signed.signatures] });
    }
    const signMs = performance.now() - tSign;
    const objectsIn = (namespace: string): SignedPolicy[] =>
      specs.map((spec, i) => ({
        ...SIGNED_POLICY_TYPE,
        kind: "SignedPolicy",
        metadata: { name: `bench-${i}`, namespace },
        spec,
      }));

    // The controllers and a watcher that counts final states.
    registerPolicyControllers(op.ctx, {
      identityFor: ownerIdentitySource(client),
      casClientFor: attestedCasClients({ resolve: mappedResolver({ [CAS_ADDRESS]: { url: sim.url } }) }),
      ...(process.env.SCONE_BENCH_POLICY_WORKERS ? { workers: Number(process.env.SCONE_BENCH_POLICY_WORKERS) } : {}),
    });
    await op.start();
    const watcher = new Informer<KubeObject>(clientListWatch(client, { type: SIGNED_POLICY_TYPE, namespace: NS }), {
      logger: quiet,
    });
    const states = new Map<string, string>();
    let resolveAll: () => void = () => {};
    const allFinal = new Promise<void>((resolve) => {
      resolveAll = resolve;
    });
    const FINAL = new Set(["Synced", "Rejected", "Conflict", "Superseded"]);
    const note = (o: KubeObject) => {
      const state = (o as SignedPolicy).status?.state;
      if (state) states.set(o.metadata?.name ?? "", state);
      if (states.size === COUNT && [...states.values()].every((s) => FINAL.has(s))) resolveAll();
    };
    watcher.addHandlers({ add: note, update: (_a, b) => note(b) });
    watcher.start();
    await watcher.waitForSync();

    const t0 = performance.now();
    await pool(objectsIn(NS), (o) => client.create(o));
    const createdMs = performance.now() - t0;
    await allFinal;
    const finalMs = performance.now() - t0;
    const writes = op.writes.length;
    await watcher.stop();
    await op.stop();

    // The API server's own rate: the same objects, same concurrency, no controller running.
    const t1 = performance.now();
    await pool(objectsIn(BASELINE_NS), (o) => client.create(o));
    const baselineMs = performance.now() - t1;

    const count = (s: string) => [...states.values()].filter((v) => v === s).length;
    console.log(
      JSON.stringify({
        policies: COUNT,
        concurrency: CONCURRENCY,
        signMs: Math.round(signMs),
        createWithControllerMs: Math.round(createdMs),
        allFinalMs: Math.round(finalMs),
        baselineCreateMs: Math.round(baselineMs),
        ratioToApiServerWrites: Number((finalMs / baselineMs).toFixed(2)),
        policiesPerSecond: Math.round((COUNT / finalMs) * 1000),
        synced: count("Synced"),
        other: COUNT - count("Synced"),
        apiWritesTotal: writes,
      }),
    );
    console.log(
      `${COUNT} SignedPolicies: all final in ${(finalMs / 1000).toFixed(1)} s (${count("Synced")} Synced); the API server alone creates them in ${(baselineMs / 1000).toFixed(1)} s → ratio ${(finalMs / baselineMs).toFixed(2)}`,
    );
    if (!process.env.SCONE_BENCH_KEEP && process.env.SCONE_BENCH_KUBECONFIG) {
      for (const ns of [NS, BASELINE_NS])
        await client.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name: ns });
    }
  } finally {
    await sim.stop();
    await rm(dir, { recursive: true, force: true });
    await stopCluster?.();
  }
}

await main();
