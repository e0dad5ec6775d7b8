import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadKubeConfig } from "../../../src/kube/config.ts";
import { execCredential, parseExecCredential } from "../../../src/kube/credentials.ts";

const dir = mkdtempSync(join(tmpdir(), "scone-exec-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The plugin appends one line per run (args, env, exec info) to a log, and prints a token whose expiry it
// reads from a file, so the test controls expiry without sleeping.
const plugin = join(dir, "plugin.sh");
writeFileSync(
  plugin,
  `#!/bin/sh
echo "run args=$* foo=$FOO info=$KUBERNETES_EXEC_INFO" >> "${dir}/runs.log"
n=$(wc -l < "${dir}/runs.log" | tr -d ' ')
exp=$(cat "${dir}/expiry" 2>/dev/null)
printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"token":"tok-%s"%s}}' "$API" "$n" "\${exp:+,\\"expirationTimestamp\\":\\"$exp\\"}"
`,
);
chmodSync(plugin, 0o755);

const runs = () => readFileSync(join(dir, "runs.log"), "utf8").trim().split("\n");
const reset = () => {
  rmSync(join(dir, "runs.log"), { force: true });
  rmSync(join(dir, "expiry"), { force: true });
};

describe("exec credential plugin", () => {
  test("runs the plugin with args and env, non-interactive, and caches the token until expirationTimestamp", async () => {
    reset();
    writeFileSync(join(dir, "expiry"), "2030-01-01T00:10:00Z");
    let now = Date.parse("2030-01-01T00:00:00Z");
    const source = execCredential(
      {
        apiVersion: "client.authentication.k8s.io/v1",
        command: plugin,
        args: ["token", "--cluster=c1"],
        env: [
          { name: "FOO", value: "bar" },
          { name: "API", value: "client.authentication.k8s.io/v1" },
        ],
        interactiveMode: "Never",
        provideClusterInfo: true,
      },
      { server: "https://k:6443" },
      { now: () => now, stdinIsTTY: true },
    );
    expect(await source.get()).toEqual({ token: "tok-1" });
    expect(await source.get()).toEqual({ token: "tok-1" });
    expect(runs()).toHaveLength(1);
    const line = runs()[0] ?? "";
    expect(line).toContain("args=token --cluster=c1 foo=bar");
    const info = JSON.parse(line.slice(line.indexOf("info=") + 5));
    expect(info).toEqual({
      apiVersion: "client.authentication.k8s.io/v1",
      kind: "ExecCredential",
      spec: { interactive: false, cluster: { server: "https://k:6443" } },
    });

    now = Date.parse("2030-01-01T00:10:01Z"); // past expiry: run again
    expect(await source.get()).toEqual({ token: "tok-2" });
    source.invalidate(); // a 401: run again even though not expired
    expect(await source.get()).toEqual({ token: "tok-3" });
  });

  test("concurrent callers share one plugin run", async () => {
    reset();
    const source = execCredential(
      {
        apiVersion: "client.authentication.k8s.io/v1beta1",
        command: plugin,
        args: [],
        env: [{ name: "API", value: "client.authentication.k8s.io/v1beta1" }],
        interactiveMode: "IfAvailable",
        provideClusterInfo: false,
      },
      { server: "https://k:6443" },
      { stdinIsTTY: false },
    );
    const tokens = await Promise.all([source.get(), source.get(), source.get()]);
    expect(tokens.map((t) => t.token)).toEqual(["tok-1", "tok-1", "tok-1"]);
    expect(runs()).toHaveLength(1);
    expect(runs()[0]).toContain('"spec":{"interactive":false}');
  });

  test("a failing plugin is an error with its stderr, and interactiveMode Always without a terminal is refused", async () => {
    const failing = join(dir, "fail.sh");
    writeFileSync(failing, "#!/bin/sh\necho 'login required' >&2\nexit 3\n");
    chmodSync(failing, 0o755);
    const base = { apiVersion: "client.authentication.k8s.io/v1", args: [], env: [], provideClusterInfo: false };
    await expect(
      execCredential({ ...base, command: failing, interactiveMode: "Never" }, { server: "s" }).get(),
    ).rejects.toThrow(/exited with 3: login required/);
    await expect(
      execCredential(
        { ...base, command: failing, interactiveMode: "Always" },
        { server: "s" },
        { stdinIsTTY: false },
      ).get(),
    ).rejects.toThrow(/needs an interactive terminal/);
    expect(() =>
      execCredential(
        { ...base, apiVersion: "client.authentication.k8s.io/v1alpha1", command: "x", interactiveMode: "Never" },
        { server: "s" },
      ),
    ).toThrow(/not supported/);
  });

  test("the plugin gets the user's environment without scone's own variables (SCONE_*, DCAP_KEY)", async () => {
    const envDump = join(dir, "env.out");
    const dumper = join(dir, "dump-env.sh");
    writeFileSync(
      dumper,
      `#!/bin/sh\nenv > "${envDump}"\nprintf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"t"}}'\n`,
    );
    chmodSync(dumper, 0o755);
    const held = {
      SCONE_API_TOKEN: "scone-secret-token",
      SCONE_LOG_LEVEL: "debug",
      DCAP_KEY: "dcap-secret",
      AWS_ACCESS_KEY_ID: "AKIA-user",
      HOME_LIKE_VAR: "kept",
    };
    const saved = Object.fromEntries(Object.keys(held).map((k) => [k, process.env[k]]));
    Object.assign(process.env, held);
    try {
      const source = execCredential(
        {
          apiVersion: "client.authentication.k8s.io/v1",
          command: dumper,
          args: [],
          env: [{ name: "SCONE_MODE", value: "set-by-kubeconfig" }],
          interactiveMode: "Never",
          provideClusterInfo: false,
        },
        { server: "https://k:6443" },
      );
      expect(await source.get()).toEqual({ token: "t" });
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    const seen = new Map(
      readFileSync(envDump, "utf8")
        .split("\n")
        .filter((l) => l.includes("="))
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const),
    );
    expect(seen.has("SCONE_API_TOKEN")).toBe(false);
    expect(seen.has("SCONE_LOG_LEVEL")).toBe(false);
    expect(seen.has("DCAP_KEY")).toBe(false);
    expect(seen.get("AWS_ACCESS_KEY_ID")).toBe("AKIA-user");
    expect(seen.get("HOME_LIKE_VAR")).toBe("kept");
    expect(seen.get("SCONE_MODE")).toBe("set-by-kubeconfig");
    expect(seen.has("KUBERNETES_EXEC_INFO")).toBe(true);
  });

  test("a kubeconfig exec user with a relative command resolves next to the kubeconfig", async () => {
    reset();
    writeFileSync(
      join(dir, "kubeconfig"),
      `current-context: c
clusters: [{ name: k, cluster: { server: "https://k:6443" } }]
contexts: [{ name: c, context: { cluster: k, user: e } }]
users:
- name: e
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./plugin.sh
      env: [{ name: API, value: client.authentication.k8s.io/v1 }]
      interactiveMode: Never
`,
    );
    const conn = await loadKubeConfig({ kubeconfig: join(dir, "kubeconfig") });
    expect(await conn.credentials?.get()).toEqual({ token: "tok-1" });
  });
});

describe("parseExecCredential", () => {
  const v1 = "client.authentication.k8s.io/v1";
  test("accepts a client certificate instead of a token", () => {
    const out = JSON.stringify({
      apiVersion: v1,
      kind: "ExecCredential",
      status: { clientCertificateData: "CERT", clientKeyData: "KEY" },
    });
    expect(parseExecCredential(out, v1)).toEqual({ credential: { clientCertPem: "CERT", clientKeyPem: "KEY" } });
  });
  test("rejects output without credentials, the wrong apiVersion, and non-JSON", () => {
    expect(() =>
      parseExecCredential(JSON.stringify({ apiVersion: v1, kind: "ExecCredential", status: {} }), v1),
    ).toThrow(/neither status.token nor/);
    expect(() =>
      parseExecCredential(JSON.stringify({ apiVersion: "x/v1", kind: "ExecCredential", status: { token: "t" } }), v1),
    ).toThrow(/answered apiVersion x\/v1/);
    expect(() => parseExecCredential("token=abc", v1)).toThrow(/did not print a JSON ExecCredential/);
  });
  test("the error for non-JSON output does not echo the output (it may be a secret)", () => {
    expect(() => parseExecCredential("s3cr3t-token", v1)).not.toThrow(/s3cr3t/);
  });
});
