import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  inClusterConnection,
  kubeconfigPaths,
  loadKubeConfig,
  mergeKubeConfigs,
  parseKubeConfig,
  selectContext,
} from "../../../src/kube/config.ts";
import { tokenFile } from "../../../src/kube/credentials.ts";

const dir = mkdtempSync(join(tmpdir(), "scone-kubeconfig-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const b64 = (s: string) => Buffer.from(s).toString("base64");

const fileA = `
apiVersion: v1
kind: Config
current-context: a
clusters:
- name: shared
  cluster:
    server: https://a.example:6443/
    certificate-authority: certs/ca.crt
    tls-server-name: kubernetes
- name: only-a
  cluster: { server: https://only-a:6443, insecure-skip-tls-verify: true }
users:
- name: admin
  user:
    client-certificate-data: ${b64("CERT-A")}
    client-key-data: ${b64("KEY-A")}
contexts:
- name: a
  context: { cluster: shared, user: admin, namespace: team-a }
- name: insecure
  context: { cluster: only-a, user: admin }
`;

const fileB = `
current-context: b
clusters:
- name: shared
  cluster: { server: https://b-loses.example:6443 }
- name: cluster-b
  cluster: { server: https://b.example:6443, certificate-authority-data: ${b64("CA-B")} }
users:
- name: admin
  user: { token: loses }
- name: robot
  user: { token: robot-token }
contexts:
- name: b
  context: { cluster: cluster-b, user: robot }
`;

describe("parseKubeConfig", () => {
  test("resolves relative paths against the file and trims the server's trailing slash", async () => {
    const cfg = await parseKubeConfig(fileA, "/etc/kube/a.yaml");
    const shared = cfg.clusters.get("shared");
    expect(shared?.server).toBe("https://a.example:6443");
    expect(shared?.certificateAuthority).toBe("/etc/kube/certs/ca.crt");
    expect(shared?.tlsServerName).toBe("kubernetes");
    expect(cfg.clusters.get("only-a")?.insecureSkipTlsVerify).toBe(true);
    expect(cfg.currentContext).toBe("a");
  });

  test("names the bad field and file", async () => {
    const bad = "clusters:\n- name: x\n  cluster: { certificate-authority-data: 42 }\n";
    await expect(parseKubeConfig(bad, "/k/bad.yaml")).rejects.toThrow(
      /\/k\/bad.yaml: clusters\[x\]\.cluster\.server is required/,
    );
    const wrongType = "clusters:\n- name: x\n  cluster: { server: https://x, insecure-skip-tls-verify: 'yes' }\n";
    await expect(parseKubeConfig(wrongType, "/k/bad.yaml")).rejects.toThrow(
      /insecure-skip-tls-verify must be true or false/,
    );
  });

  test("parses exec plugins; a command with a slash is relative to the kubeconfig", async () => {
    const text = `
users:
- name: e
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./bin/plugin
      args: [get-token, --x]
      env: [{ name: FOO, value: bar }]
      interactiveMode: Never
- name: p
  user: { exec: { apiVersion: client.authentication.k8s.io/v1beta1, command: aws } }
`;
    const cfg = await parseKubeConfig(text, "/home/u/.kube/config");
    expect(cfg.users.get("e")?.exec).toMatchObject({
      command: "/home/u/.kube/bin/plugin",
      args: ["get-token", "--x"],
      env: [{ name: "FOO", value: "bar" }],
      interactiveMode: "Never",
    });
    expect(cfg.users.get("p")?.exec?.command).toBe("aws");
    expect(cfg.users.get("p")?.exec?.interactiveMode).toBe("IfAvailable");
    await expect(
      parseKubeConfig(
        "users:\n- name: e\n  user: { exec: { command: x, apiVersion: v, interactiveMode: Sometimes } }",
        "/f",
      ),
    ).rejects.toThrow(/interactiveMode is Sometimes; use Never, IfAvailable or Always/);
  });
});

describe("merging and context selection", () => {
  test("first file to define a name wins; first current-context wins", async () => {
    const merged = mergeKubeConfigs([await parseKubeConfig(fileA, "/a"), await parseKubeConfig(fileB, "/b")]);
    expect(merged.currentContext).toBe("a");
    expect(merged.clusters.get("shared")?.server).toBe("https://a.example:6443");
    expect(merged.users.get("admin")?.token).toBeUndefined();
    expect(merged.users.get("robot")?.token).toBe("robot-token");
    expect(merged.sources).toEqual(["/a", "/b"]);
    const sel = selectContext(merged, "b");
    expect(sel.cluster.server).toBe("https://b.example:6443");
    expect(sel.namespace).toBe("default");
    expect(selectContext(merged).namespace).toBe("team-a");
  });

  test("an unknown context lists the known ones", async () => {
    const cfg = await parseKubeConfig(fileA, "/a");
    expect(() => selectContext(cfg, "nope")).toThrow(/context "nope" not found; known contexts: a, insecure/);
  });

  test("a context naming a missing cluster says so", async () => {
    const cfg = await parseKubeConfig(
      "contexts:\n- name: c\n  context: { cluster: ghost, user: u }\ncurrent-context: c",
      "/c",
    );
    expect(() => selectContext(cfg)).toThrow(/names cluster "ghost", which is not defined/);
  });
});

describe("kubeconfigPaths", () => {
  test("--kubeconfig beats KUBECONFIG beats ~/.kube/config", () => {
    expect(kubeconfigPaths({ kubeconfig: "/x", env: { KUBECONFIG: "/y" } }).paths).toEqual(["/x"]);
    expect(kubeconfigPaths({ env: { KUBECONFIG: "/y::/z:/y" } }).paths).toEqual(["/y", "/z"]);
    expect(kubeconfigPaths({ env: {}, homeDir: "/h" })).toEqual({ paths: ["/h/.kube/config"], explicit: false });
  });
});

describe("loadKubeConfig", () => {
  writeFileSync(join(dir, "a.yaml"), fileA);
  writeFileSync(join(dir, "b.yaml"), fileB);

  test("merges KUBECONFIG (skipping missing files) and reads the certificate files", async () => {
    const conn = await loadKubeConfig({
      env: { KUBECONFIG: `${join(dir, "missing.yaml")}:${join(dir, "b.yaml")}:${join(dir, "a.yaml")}` },
    });
    // b.yaml comes first, so its current-context (b) wins.
    expect(conn.server).toBe("https://b.example:6443");
    expect(conn.caPem).toBe("CA-B");
    expect(await conn.credentials?.get()).toEqual({ token: "robot-token" });
    expect(conn.namespace).toBe("default");
  });

  test("--context and --namespace", async () => {
    const conn = await loadKubeConfig({ kubeconfig: join(dir, "a.yaml"), context: "insecure", namespace: "ns1" });
    expect(conn.insecureSkipTlsVerify).toBe(true);
    expect(conn.clientCertPem).toBe("CERT-A");
    expect(conn.clientKeyPem).toBe("KEY-A");
    expect(conn.namespace).toBe("ns1");
  });

  test("a missing certificate-authority file is reported with its path", async () => {
    await expect(loadKubeConfig({ kubeconfig: join(dir, "a.yaml") })).rejects.toThrow(
      new RegExp(`certificate-authority: cannot read ${join(dir, "certs/ca.crt")}: ENOENT`),
    );
  });

  test("no kubeconfig anywhere says where it looked and how to fix it", async () => {
    await expect(loadKubeConfig({ env: {}, homeDir: join(dir, "nohome") })).rejects.toThrow(
      /no kubeconfig found \(looked at .*nohome\/.kube\/config\); pass --kubeconfig/,
    );
  });

  test("in-cluster when KUBERNETES_SERVICE_HOST is set and no KUBECONFIG", async () => {
    const sa = join(dir, "sa");
    mkdirSync(sa, { recursive: true });
    writeFileSync(join(sa, "token"), "sa-token\n");
    writeFileSync(join(sa, "ca.crt"), "SA-CA");
    writeFileSync(join(sa, "namespace"), "scone-system");
    const paths = { tokenPath: join(sa, "token"), caPath: join(sa, "ca.crt"), namespacePath: join(sa, "namespace") };
    const conn = await loadKubeConfig({
      env: { KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" },
      homeDir: join(dir, "nohome"),
      inClusterPaths: paths,
    });
    expect(conn.server).toBe("https://[fd00::1]:443");
    expect(conn.caPem).toBe("SA-CA");
    expect(conn.namespace).toBe("scone-system");
    expect(await conn.credentials?.get()).toEqual({ token: "sa-token" });
    await expect(inClusterConnection({}, paths)).rejects.toThrow(/KUBERNETES_SERVICE_HOST\/PORT are not set/);
  });
});

describe("tokenFile", () => {
  test("re-reads a rotated token after maxAge, or at once after invalidate()", async () => {
    const path = join(dir, "rotating-token");
    writeFileSync(path, "one");
    let now = 1_000_000;
    const source = tokenFile(path, { now: () => now });
    expect((await source.get()).token).toBe("one");
    writeFileSync(path, "two");
    now += 30_000;
    expect((await source.get()).token).toBe("one");
    now += 31_000;
    expect((await source.get()).token).toBe("two");
    writeFileSync(path, "three");
    source.invalidate();
    expect((await source.get()).token).toBe("three");
  });
});
