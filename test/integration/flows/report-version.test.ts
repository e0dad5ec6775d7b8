// `scone cas report` and `scone version` against the local cluster (kube-apiserver, controller-manager, KWOK nodes)
// with scone's CRDs installed and the operator's CAS controller running in this process (a fake CAS probe): the CAS
// controller makes the CAS's objects (StatefulSet, Service, ConfigMap, backup controller, pods, PVCs); the test adds
// a stand-in operator Deployment of another minor version, a Secret, a Secret value in the backup controller's env,
// tokens in annotations and an Event echoing the Secret's value. The report is untarred and every file is searched
// for the Secret's values; `scone version` must name the operator, the CRDs and the skew.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../../package.json" with { type: "json" };
import type { KubeClient } from "../../../src/kube/client.ts";
import { registerCasController } from "../../../src/operator/cas/controller.ts";
import type { CasProbe, CasProbeResult } from "../../../src/operator/cas/probe.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../../harness/cluster.ts";
import { waitFor } from "../../harness/kube.ts";
import { buildOperatorContext, cleanupSteps, installCrds, type TestOperator } from "../../harness/operator.ts";

const SUFFIX = Math.random().toString(36).slice(2, 8);
const NS = `scone-report-${SUFFIX}`;
const OPNS = `scone-report-op-${SUFFIX}`;
const NAME = "cas";
const MANAGER = "scone-report-test";
const ROOT = join(import.meta.dir, "../../..");
/** Secret values the bundle must never contain, in any form. */
const PASSWORD = `pw-${SUFFIX}-Kq8sT4vW2x`;
const API_TOKEN = `tok${SUFFIX}AbCdEf0123456789GhIjKlMnOpQrStUv`;
const ANNOTATION_TOKEN = `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIke${SUFFIX}In0.c2lnbmF0dXJl`;
const FORBIDDEN = [PASSWORD, API_TOKEN, ANNOTATION_TOKEN, Buffer.from(PASSWORD).toString("base64")];
const OLD_OPERATOR = "0.0.1";

class FakeCas implements CasProbe {
  async probe(): Promise<CasProbeResult> {
    return { reachable: true, version: "6.0.6", provisioned: "No", attestable: true };
  }
}

/** `bun src/main.ts ARGS` with only the test cluster's kubeconfig (no $KUBECONFIG, an empty HOME). */
async function scone(args: readonly string[], home: string) {
  const proc = Bun.spawn([process.execPath, join(ROOT, "src/main.ts"), ...args], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, KUBECONFIG: "", HOME: home, NO_COLOR: "1", SCONE_STATE_DIR: join(home, "state") },
    timeout: 120_000,
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe.skipIf(!clusterAvailable())("scone cas report and scone version on the local cluster", () => {
  let cluster: LocalCluster;
  let op: TestOperator;
  let client: KubeClient;
  const home = mkdtempSync(join(tmpdir(), "scone-report-it-"));
  const kubeconfig = () => cluster.kubeconfigPath;

  beforeAll(async () => {
    cluster = await sharedCluster();
    op = await buildOperatorContext({ kubeconfigPath: cluster.kubeconfigPath, operatorNamespace: OPNS });
    client = op.client;
    await installCrds(client);
    for (const name of [NS, OPNS]) await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
    await client.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "backup-s3", namespace: NS },
      stringData: { secretAccessKey: PASSWORD, token: API_TOKEN },
    });
    // A stand-in for an installed operator of another minor version (KWOK runs no real operator pod).
    const labels = {
      app: "scone-controller",
      "app.kubernetes.io/name": "scone-controller",
      "control-plane": "controller-manager",
      "app.kubernetes.io/part-of": "scone",
      "app.kubernetes.io/version": "6.0.6",
    };
    await client.create({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "scone-controller-manager", namespace: OPNS, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: { "control-plane": "controller-manager" } },
        template: {
          metadata: { labels },
          spec: { containers: [{ name: "manager", image: `localhost:5000/scone:${OLD_OPERATOR}` }] },
        },
      },
    });
    registerCasController(op.ctx, new FakeCas(), { healthyRecheckMs: 1_000, unhealthyRecheckMs: 500 });
    await op.start();
    await client.create({
      apiVersion: "services.scone.cloud/v1beta1",
      kind: "CAS",
      metadata: { name: NAME, namespace: NS, annotations: { "example.com/ci-note": ANNOTATION_TOKEN } },
      spec: {
        image: "registry.scontain.com/scone.cloud/cas:6.0.6",
        service: { type: "NodePort" },
        persistence: { enabled: true },
        databaseSnapshots: { enabled: true, interval: "24h0m0s", persistence: { enabled: true } },
        podAnnotations: { "example.com/upload": API_TOKEN },
        nodeSelector: { "las.scontain.com/ok": "true" },
        nonce: "00112233445566778899aabbccddeeff",
        "backup-controller": {
          enabled: true,
          session: "cas-owner/primary-backup/register",
          // A Secret's value pasted into the env (the mistake the redaction is for) and a reference to it (fine).
          env: [
            { name: "S3_SECRET_ACCESS_KEY", value: PASSWORD },
            { name: "S3_TOKEN", valueFrom: { secretKeyRef: { name: "backup-s3", key: "token" } } },
          ],
        },
      },
    });
    // The objects the report is about, once the controller made them.
    const get = (apiVersion: string, kind: string, name: string) =>
      client.tryGet({ apiVersion, kind, namespace: NS, name });
    await waitFor(
      "the CAS's StatefulSet, ConfigMap, backup controller and pod",
      async () =>
        (await get("apps/v1", "StatefulSet", NAME)) &&
        (await get("v1", "ConfigMap", `${NAME}-config`)) &&
        (await get("apps/v1", "Deployment", `${NAME}-backup-controller`)) &&
        (await get("v1", "Pod", `${NAME}-0`)),
      120_000,
    );
    // An Event that echoes a Secret's value (as a careless component might).
    await client.create({
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: `${NAME}-0.leak`, namespace: NS },
      involvedObject: { apiVersion: "v1", kind: "Pod", name: `${NAME}-0`, namespace: NS },
      reason: "Leaky",
      message: `connecting with password ${PASSWORD}`,
      type: "Warning",
      source: { component: MANAGER },
      firstTimestamp: new Date().toISOString(),
      lastTimestamp: new Date().toISOString(),
      count: 1,
    });
  }, 300_000);

  afterAll(async () => {
    await cleanupSteps([
      () => op?.stop(),
      // The CAS finalizer has no operator any more: drop it, then the namespaces.
      () =>
        client?.patch(
          { apiVersion: "services.scone.cloud/v1beta1", kind: "CAS", namespace: NS, name: NAME },
          { metadata: { finalizers: null } },
          "merge",
          { fieldManager: MANAGER },
        ),
      () => client?.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name: NS }),
      () => client?.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name: OPNS }),
      () => rmSync(home, { recursive: true, force: true }),
    ]);
  }, 120_000);

  test("cas report writes a 0600 tar.gz of the CAS's objects, Events, status, versions; no Secret value in it", async () => {
    const file = join(home, "cas.tar.gz");
    const r = await scone(
      ["cas", "report", NAME, "-n", NS, "--kubeconfig", kubeconfig(), "--file", file, "-o", "json"],
      home,
    );
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const toc = JSON.parse(r.stdout) as { file: string; files: { path: string }[]; notes: string[] };
    expect(toc.file).toBe(file);
    const out = join(home, "untarred");
    Bun.spawnSync(["mkdir", "-p", out]);
    const untar = Bun.spawnSync(["tar", "-xzf", file, "-C", out]);
    expect(untar.exitCode).toBe(0);
    const top = join(out, `${NAME}-report`);
    const files = filesUnder(top).map((p) => p.slice(top.length + 1));
    expect(files.sort()).toEqual(["toc.yaml", ...toc.files.map((f) => f.path)].sort());
    for (const expected of [
      `objects/CAS/${NAME}.yaml`,
      `objects/StatefulSet/${NAME}.yaml`,
      `objects/Service/${NAME}.yaml`,
      `objects/ConfigMap/${NAME}-config.yaml`,
      `objects/Deployment/${NAME}-backup-controller.yaml`,
      `objects/Pod/${NAME}-0.yaml`,
      `objects/PersistentVolumeClaim/database-${NAME}-0.yaml`,
      "events.yaml",
      "status.txt",
      "versions.yaml",
      "history.yaml",
    ]) {
      expect(files).toContain(expected);
    }
    // The stand-in operator's pod is found and its (unservable, on KWOK) log is accounted for.
    expect(files.some((f) => f.startsWith(`objects/Pod/${OPNS}.scone-controller-manager-`))).toBe(true);
    expect(files.some((f) => f.startsWith(`logs/${NS}/${NAME}-0/cas.`))).toBe(true);
    expect(files.some((f) => f.includes("Secret"))).toBe(false);
    const read = (f: string) => readFileSync(join(top, f), "utf8");
    expect(read("events.yaml")).toContain("reason: Leaky");
    expect(read("events.yaml")).toContain("connecting with password <redacted>");
    expect(read(`objects/Deployment/${NAME}-backup-controller.yaml`)).toContain("secretKeyRef");
    expect(read("versions.yaml")).toContain(`runs ${OLD_OPERATOR}`);
    for (const f of files) {
      const text = read(f);
      for (const secret of FORBIDDEN) expect({ f, leaks: text.includes(secret) }).toEqual({ f, leaks: false });
    }
    // The compressed bytes are searched too, decompressed as a whole (what a careless unpacker would show).
    const whole = new TextDecoder().decode(Bun.gunzipSync(readFileSync(file)));
    for (const secret of FORBIDDEN) expect(whole.includes(secret)).toBe(false);
  }, 120_000);

  test("cas report refuses an existing file without --force (nothing collected), replaces it with --force", async () => {
    const file = join(home, "exists.tar.gz");
    writeFileSync(file, "keep me");
    const refused = await scone(["cas", "report", NAME, "-n", NS, "--kubeconfig", kubeconfig(), "--file", file], home);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("exists: pass --force");
    expect(readFileSync(file, "utf8")).toBe("keep me");
    const forced = await scone(
      ["cas", "report", NAME, "-n", NS, "--kubeconfig", kubeconfig(), "--file", file, "--force"],
      home,
    );
    expect(forced.code).toBe(0);
    expect(forced.stdout).toStartWith(`wrote ${file}: `);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const missing = await scone(
      ["cas", "report", "nosuch", "-n", NS, "--kubeconfig", kubeconfig(), "--file", join(home, "n.tgz")],
      home,
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`CAS ${NS}/nosuch not found`);
    expect(readdirSync(home)).not.toContain("n.tgz");
  }, 120_000);

  test("version shows the cluster's operator and CRDs and warns on the operator's minor skew", async () => {
    const r = await scone(["version", "--kubeconfig", kubeconfig(), "-o", "json"], home);
    expect(r.code).toBe(0);
    const v = JSON.parse(r.stdout);
    expect(v.cluster.reachable).toBe(true);
    expect(v.cluster.versions.kubernetes).toBe(`v${cluster.k8sVersion}`);
    const mine = v.cluster.versions.operators.find((o: { namespace: string }) => o.namespace === OPNS);
    expect(mine).toMatchObject({ name: "scone-controller-manager", version: OLD_OPERATOR, sconeVersion: "6.0.6" });
    for (const crd of v.cluster.versions.crds) {
      expect(crd).toMatchObject({ installed: true, installedBy: pkg.version });
      expect(crd.served).toContain(crd.expected);
    }
    const warnings: string[] = v.cluster.warnings;
    expect(warnings).toContain(
      `operator ${OPNS}/scone-controller-manager runs ${OLD_OPERATOR}, this client is ${v.version} (different minor version): run 'scone operator install --reconcile --update' with this client`,
    );
    expect(warnings.filter((w) => w.startsWith("CRD"))).toEqual([]);
    const text = await scone(["version", "--kubeconfig", kubeconfig()], home);
    expect(text.stdout).toContain(`kubernetes v${cluster.k8sVersion}\n`);
    expect(text.stdout).toMatch(
      new RegExp(`${OPNS}/scone-controller-manager\\s+${OLD_OPERATOR.replaceAll(".", "\\.")}\\s+6\\.0\\.6`),
    );
    expect(text.stdout).toContain(`warning: operator ${OPNS}/scone-controller-manager runs ${OLD_OPERATOR}`);
  }, 60_000);

  test("version with a cluster that does not answer: the client only, why, exit 0", async () => {
    // The test cluster's kubeconfig pointed at a closed loopback port.
    const dead = join(home, "dead.kubeconfig");
    writeFileSync(
      dead,
      readFileSync(kubeconfig(), "utf8").replace(/server: https:\/\/127\.0\.0\.1:\d+/, "server: https://127.0.0.1:9"),
    );
    const started = Date.now();
    const r = await scone(["version", "--kubeconfig", dead], home);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^scone \S+ \(commit \S+, bun [\d.]+\)\ncluster: not reachable, showing the client only \(.+\)\n$/,
    );
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 60_000);
});
