// The pod source against a fake API server (pods, Secrets, one CAS) and a fake pod: an in-memory file system that
// interprets exactly the commands PodCliRunner execs, with a stand-in CLI that creates/changes its config.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { V1Pod, V1Secret } from "@kubernetes/client-node";
import {
  CLI_BINARY,
  choosePod,
  cliPodSelector,
  OPERATOR_CONFIG_IN_POD,
  operatorIdentitySecretName,
  renderCliPod,
  SPEC_HASH_ANNOTATION,
} from "../../../../src/cas/driver/cli-pod.ts";
import { ConfigChangedError } from "../../../../src/cas/driver/config-sync.ts";
import { LocalCasDriverSource } from "../../../../src/cas/driver/local-source.ts";
import { CliPodError, PodCasDriverSource, type PodSourceKube } from "../../../../src/cas/driver/pod-source.ts";
import type { CliPodExec } from "../../../../src/cas/driver/runner.ts";
import { casDriverSource, sconeCliProblem, sconecliImage } from "../../../../src/cas/driver/source.ts";
import type { KubeClient } from "../../../../src/kube/client.ts";
import { AlreadyExistsError } from "../../../../src/kube/errors.ts";
import { ExecError } from "../../../../src/kube/exec.ts";
import { casSelector } from "../../../../src/operator/cas/names.ts";

const root = mkdtempSync(join(tmpdir(), "scone-pod-source-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const OWNER = { apiVersion: "services.scone.cloud/v1beta1", name: "cas", namespace: "team", uid: "cas-uid" };
const KEY_HASH = "2".repeat(46);
const dec = (b: Uint8Array | string | undefined) => (typeof b === "string" ? b : new TextDecoder().decode(b));

/** A fake pod file system and CLI: `self show-key-hash` creates a config; `cas attest` adds to its cas_db. */
function fakePod(opts: { failCli?: boolean; onCli?: () => void; afterCli?: (config: string) => void } = {}) {
  const files = new Map<string, Uint8Array | string>();
  const calls: string[][] = [];
  const stdins: string[] = [];
  const rmDir = (dir: string) => {
    for (const k of [...files.keys()]) if (k.startsWith(`${dir}/`)) files.delete(k);
  };
  const pods: string[] = [];
  const exec: CliPodExec = async (o) => {
    const cmd = [...o.command];
    calls.push(cmd);
    pods.push(o.pod);
    if (o.stdin !== undefined) stdins.push(dec(o.stdin));
    const ok = (stdout = "") => ({ exitCode: 0, stdout: new TextEncoder().encode(stdout), stderr: "" });
    if (cmd[0] === "rm") {
      rmDir(cmd[3] as string);
      return ok();
    }
    const script = cmd[2] ?? "";
    if (script.includes("wc -c") && !script.includes("shift 5")) {
      files.set(cmd[4] as string, o.stdin ?? "");
      return ok();
    }
    if (script.includes("if [ -f")) {
      const f = files.get(cmd[4] as string);
      if (cmd[5]) rmDir(cmd[5]);
      return f === undefined ? { ...ok(), exitCode: 3 } : ok(dec(f));
    }
    if (script.includes("shift 5")) {
      const [dir, , clean, input] = cmd.slice(4, 8) as [string, string, string, string];
      if (input) files.set(input, o.stdin ?? "");
      const cli = cmd.slice(9);
      if (opts.failCli) throw new ExecError("exec failed: container not found");
      opts.onCli?.();
      const at = cli.indexOf(CLI_BINARY);
      const env = Object.fromEntries(cli.slice(3, at).map((a) => a.split("=", 2) as [string, string]));
      const args = cli.slice(at + 1);
      const path = env.SCONE_CLI_CONFIG as string;
      const config = files.has(path)
        ? (JSON.parse(dec(files.get(path))) as { identity: string; cas_db: Record<string, string> })
        : { identity: `id-${Math.random()}`, cas_db: {} };
      let out = `${KEY_HASH}\n`;
      if (args[0] === "--version") out = "scone 7.0.0\n";
      else {
        if (args[0] === "cas" && args[1] === "attest") config.cas_db[args[2] as string] = "attested";
        files.set(path, JSON.stringify(config));
      }
      opts.afterCli?.(path);
      if (clean === "rm") rmDir(dir);
      return ok(out);
    }
    throw new Error(`unexpected command ${cmd.join(" ")}`);
  };
  return { files, calls, stdins, exec, pods };
}

/** A fake API server: pods by generateName (Ready at once unless told), Secrets, one CAS. */
function fakeKube(opts: { ready?: boolean; waiting?: string } = {}) {
  const pods: V1Pod[] = [];
  const secrets: V1Secret[] = [];
  let n = 0;
  const kube = {
    get: async () => ({
      apiVersion: OWNER.apiVersion,
      kind: "CAS",
      metadata: { name: "cas", namespace: "team", uid: "cas-uid" },
      spec: { imagePullSecrets: [{ name: "pull" }] },
    }),
    tryGet: async (ref: { kind: string; name: string }) =>
      ref.kind === "Pod"
        ? pods.find((p) => p.metadata?.name === ref.name)
        : secrets.find((s) => s.metadata?.name === ref.name),
    list: async () => ({ metadata: {}, items: [...pods] }),
    create: async (obj: V1Pod | V1Secret) => {
      if (obj.kind === "Secret") {
        if (secrets.some((s) => s.metadata?.name === obj.metadata?.name))
          throw new AlreadyExistsError({} as never, {} as never);
        secrets.push(obj as V1Secret);
        return obj;
      }
      n++;
      const pod: V1Pod = {
        ...(obj as V1Pod),
        metadata: {
          ...obj.metadata,
          name: `${obj.metadata?.generateName}${n}`,
          uid: `pod-uid-${n}`,
          creationTimestamp: new Date() as never,
        },
        status:
          opts.ready === false
            ? {
                phase: "Pending",
                containerStatuses: opts.waiting
                  ? [
                      {
                        name: "sconecli",
                        ready: false,
                        restartCount: 0,
                        image: "",
                        imageID: "",
                        state: { waiting: { reason: opts.waiting } },
                      },
                    ]
                  : [],
              }
            : { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
      };
      pods.push(pod);
      return pod;
    },
    delete: async (ref: { name: string }) => {
      const i = pods.findIndex((p) => p.metadata?.name === ref.name);
      if (i >= 0) pods.splice(i, 1);
      return {};
    },
  };
  return { kube: kube as unknown as PodSourceKube, pods, secrets };
}

const source = (kube: PodSourceKube, exec: CliPodExec, startTimeoutMs = 60_000) =>
  new PodCasDriverSource({ kube, exec, image: () => "reg.example/pfx-sconecli:7.0.0", startTimeoutMs, pollMs: 1 });

describe("renderCliPod", () => {
  const pod = renderCliPod(
    { ...OWNER, imagePullSecrets: [{ name: "pull" }] },
    "mirror.local:5000/scone/osc-sconecli:6.0.6",
  );
  const c = pod.spec?.containers[0];

  test("owned by the CAS, labelled for the CAS instance but never selected by the CAS Service", () => {
    expect(pod.metadata?.ownerReferences).toEqual([
      { apiVersion: OWNER.apiVersion, kind: "CAS", name: "cas", uid: "cas-uid", controller: true },
    ]);
    expect(pod.metadata?.generateName).toBe("cas-sconecli-");
    expect(pod.metadata?.namespace).toBe("team");
    expect(cliPodSelector("cas")).toBe("app.kubernetes.io/name=sconecli,app.kubernetes.io/instance=cas");
    const labels = pod.metadata?.labels ?? {};
    const casServiceSelects = Object.entries(casSelector("cas")).every(([k, v]) => labels[k] === v);
    expect(casServiceSelects).toBe(false);
  });

  test("the image and pull secrets given, a restricted security context, no API token", () => {
    expect(c?.image).toBe("mirror.local:5000/scone/osc-sconecli:6.0.6");
    expect(pod.spec?.imagePullSecrets).toEqual([{ name: "pull" }]);
    expect(pod.spec?.automountServiceAccountToken).toBe(false);
    expect(pod.spec?.securityContext).toMatchObject({
      runAsNonRoot: true,
      fsGroup: 1000,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(c?.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
  });

  test("the operator identity Secret is mounted 0440 (group: the CLI user) and copied into a private tmpfs at start; /tmp is a tmpfs", () => {
    const secretVol = pod.spec?.volumes?.find((v) => v.secret);
    expect(secretVol?.secret).toMatchObject({
      secretName: "cas-sconecli-operator",
      optional: true,
      defaultMode: 0o440,
    });
    expect(pod.spec?.volumes?.find((v) => v.name === "tmp")?.emptyDir?.medium).toBe("Memory");
    const start = c?.command?.[2] ?? "";
    expect(start).toStartWith("umask 077 && ");
    expect(start).toContain(`> ${OPERATOR_CONFIG_IN_POD}`);
  });

  test("the spec hash changes with the image (an upgrade replaces the pod)", () => {
    const other = renderCliPod(OWNER, "mirror.local:5000/scone/osc-sconecli:6.0.7");
    expect(other.metadata?.annotations?.[SPEC_HASH_ANNOTATION]).not.toBe(
      pod.metadata?.annotations?.[SPEC_HASH_ANNOTATION],
    );
  });
});

describe("choosePod", () => {
  const now = Date.parse("2026-01-01T00:10:00Z");
  const pod = (name: string, hash: string, status: V1Pod["status"], created = "2026-01-01T00:09:00Z"): V1Pod => ({
    metadata: { name, annotations: { [SPEC_HASH_ANNOTATION]: hash }, creationTimestamp: created as never },
    status,
  });
  const ready = { phase: "Running", conditions: [{ type: "Ready", status: "True" }] };
  test("uses the Ready pod of the wanted spec and removes the rest", () => {
    const a = pod("a", "h", ready);
    const old = pod("old", "g", ready);
    const c = choosePod([old, a], "h", now, 60_000);
    expect(c).toEqual({ kind: "use", pod: a, remove: [old] });
  });
  test("waits for a young starting pod; replaces one too old, stuck on its image, or finished", () => {
    expect(choosePod([pod("s", "h", { phase: "Pending" })], "h", now, 120_000).kind).toBe("wait");
    expect(choosePod([pod("s", "h", { phase: "Running" })], "h", now, 120_000).kind).toBe("wait");
    expect(choosePod([pod("s", "h", { phase: "Pending" })], "h", now, 30_000).kind).toBe("create");
    const stuck = pod("s", "h", {
      phase: "Pending",
      containerStatuses: [
        {
          name: "c",
          ready: false,
          restartCount: 0,
          image: "",
          imageID: "",
          state: { waiting: { reason: "ImagePullBackOff" } },
        },
      ],
    });
    expect(choosePod([stuck], "h", now, 120_000)).toEqual({ kind: "create", remove: [stuck] });
    const done = pod("d", "h", { phase: "Failed" });
    expect(choosePod([done], "h", now, 120_000)).toEqual({ kind: "create", remove: [done] });
    expect(choosePod([], "h", now, 120_000)).toEqual({ kind: "create", remove: [] });
  });
});

describe("PodCasDriverSource", () => {
  test("creates one pod on first use and reuses it; the address is the CAS Service", async () => {
    const k = fakeKube();
    const p = fakePod();
    const s = source(k.kube, p.exec);
    const a = await s.connect({ namespace: "team", name: "cas", clientPort: 9000 }, { kind: "operator" });
    expect(a.address).toBe("cas.team.svc:9000");
    expect((await a.driver.cliVersion()).text).toBe("7.0.0");
    const b = await s.connect({ namespace: "team", name: "cas" }, { kind: "operator" });
    await b.driver.cliVersion();
    expect(k.pods.length).toBe(1);
    expect(k.pods[0]?.spec?.containers[0]?.image).toBe("reg.example/pfx-sconecli:7.0.0");
    expect(k.pods[0]?.spec?.imagePullSecrets).toEqual([{ name: "pull" }]);
    expect(
      p.calls.filter((c) => c[0] === "env").every((c) => c.includes(`SCONE_CLI_CONFIG=${OPERATOR_CONFIG_IN_POD}`)),
    ).toBe(true);
  });

  test("a pod that only looks like the CLI pod (labels and spec annotation copied, another image) is never exec'd into", async () => {
    const k = fakeKube();
    const p = fakePod();
    const warnings: string[] = [];
    const s = new PodCasDriverSource({
      kube: k.kube,
      exec: p.exec,
      image: () => "reg.example/pfx-sconecli:7.0.0",
      startTimeoutMs: 60_000,
      pollMs: 1,
      warn: (m) => warnings.push(m),
    });
    const genuine = await s.connect({ namespace: "team", name: "cas" }, { kind: "operator" });
    await genuine.driver.cliVersion();
    const ours = k.pods[0] as V1Pod;
    // A tenant who may create pods in the namespace plants a look-alike and removes ours.
    const planted = structuredClone(ours);
    planted.metadata = {
      ...planted.metadata,
      name: "cas-sconecli-planted",
      uid: "evil",
      creationTimestamp: new Date(Date.now() + 1000) as never,
    };
    if (planted.spec?.containers[0]) planted.spec.containers[0].image = "evil.example/steal:1";
    k.pods.splice(0, 1, planted);
    const next = await s.connect({ namespace: "team", name: "cas" }, { kind: "operator" });
    await next.driver.cliVersion();
    expect(p.pods).not.toContain("cas-sconecli-planted");
    expect(p.pods.at(-1)).toBe(k.pods[1]?.metadata?.name);
    expect(k.pods.map((x) => x.metadata?.name)).toContain("cas-sconecli-planted"); // left alone, not ours to delete
    expect(k.pods.length).toBe(2); // a genuine pod was created beside it
    expect(warnings.join("\n")).toContain("ignoring pod team/cas-sconecli-planted");
    expect(warnings.join("\n")).toContain("its container differs");
  });

  test("a pod a mutating webhook changes on creation (an injected sidecar) is removed and refused, naming the change", async () => {
    const k = fakeKube();
    const create = k.kube.create.bind(k.kube);
    (k.kube as { create: typeof create }).create = (async (obj: V1Pod) => {
      const made = (await create(obj as never)) as V1Pod;
      made.spec?.containers.push({ name: "istio-proxy", image: "proxy:1" });
      return made;
    }) as typeof create;
    const s = source(k.kube, fakePod().exec);
    await expect(s.connect({ namespace: "team", name: "cas" }, { kind: "operator" })).rejects.toThrow(
      /was changed on creation \(it does not run exactly the CLI container\).*exclude pods labelled/,
    );
    expect(k.pods.length).toBe(0);
  });

  test("owner identity: the config goes in on stdin (never argv) and changes come back, 0600 atomically", async () => {
    const k = fakeKube();
    const p = fakePod();
    const s = source(k.kube, p.exec);
    const cfg = join(root, "owner1", "identity", "config.json");
    const conn = await s.connect({ namespace: "team", name: "cas" }, { kind: "owner", configPath: cfg });
    expect(await conn.driver.keyHash()).toBe(KEY_HASH); // creates the identity in the pod → saved locally
    const created = JSON.parse(readFileSync(cfg, "utf8")) as { identity: string };
    expect(statSync(cfg).mode & 0o777).toBe(0o600);
    await conn.driver.attest({ address: conn.address, retries: 0 }).catch(() => undefined);
    const after = JSON.parse(readFileSync(cfg, "utf8")) as { identity: string; cas_db: Record<string, string> };
    expect(after.identity).toBe(created.identity);
    expect(after.cas_db["cas.team.svc:8081"]).toBe("attested");
    // The identity travelled on stdin, never in argv; no operator identity Secret for an owner.
    expect(p.stdins.some((x) => x.includes(created.identity))).toBe(true);
    expect(p.calls.flat().some((a) => a.includes(created.identity))).toBe(false);
    expect(k.secrets).toEqual([]);
  });

  test("a local config changed during the call is not overwritten", async () => {
    const k = fakeKube();
    const cfg = join(root, "owner2", "config.json");
    const p = fakePod({
      onCli: () => {
        mkdirSync(join(root, "owner2"), { recursive: true });
        writeFileSync(cfg, '{"identity":"changed by upstream"}');
      },
    });
    const conn = await source(k.kube, p.exec).connect(
      { namespace: "team", name: "cas" },
      { kind: "owner", configPath: cfg },
    );
    await expect(conn.driver.keyHash()).rejects.toBeInstanceOf(ConfigChangedError);
    expect(readFileSync(cfg, "utf8")).toBe('{"identity":"changed by upstream"}');
  });

  test("a config read back empty (a cut-off stream) does not replace the local file", async () => {
    const k = fakeKube();
    const cfg = join(root, "owner4", "config.json");
    await Bun.write(cfg, '{"identity":"mine","cas_db":{}}');
    const p = fakePod({ afterCli: (config) => p.files.set(config, "") });
    const conn = await source(k.kube, p.exec).connect(
      { namespace: "team", name: "cas" },
      { kind: "owner", configPath: cfg },
    );
    await expect(conn.driver.attest({ address: conn.address, retries: 0 })).rejects.toThrow(/not a JSON object/);
    expect(readFileSync(cfg, "utf8")).toBe('{"identity":"mine","cas_db":{}}');
  });

  test("exec failing: the call fails and the local config stays as it was", async () => {
    const k = fakeKube();
    const cfg = join(root, "owner3", "config.json");
    await Bun.write(cfg, '{"identity":"mine","cas_db":{}}');
    const conn = await source(k.kube, fakePod({ failCli: true }).exec).connect(
      { namespace: "team", name: "cas" },
      { kind: "owner", configPath: cfg },
    );
    await expect(conn.driver.attest({ address: conn.address, retries: 0 })).rejects.toThrow(/container not found/);
    expect(readFileSync(cfg, "utf8")).toBe('{"identity":"mine","cas_db":{}}');
  });

  test("a pod that never becomes Ready fails the connect naming the cause; the next connect replaces it", async () => {
    const k = fakeKube({ ready: false, waiting: "ErrImagePull" });
    const s = source(k.kube, fakePod().exec);
    await expect(s.connect({ namespace: "team", name: "cas" }, { kind: "operator" })).rejects.toThrow(
      /did not become Ready \(ErrImagePull\)/,
    );
    const first = k.pods[0]?.metadata?.name;
    await expect(s.connect({ namespace: "team", name: "cas" }, { kind: "operator" })).rejects.toBeInstanceOf(
      CliPodError,
    );
    expect(k.pods.map((x) => x.metadata?.name)).not.toContain(first);
    expect(k.pods.length).toBe(1);
  });

  test("concurrent first connections share one new pod", async () => {
    const k = fakeKube();
    const s = source(k.kube, fakePod().exec);
    const ref = { namespace: "team", name: "cas" };
    await Promise.all([s.connect(ref, { kind: "operator" }), s.connect(ref, { kind: "operator" })]);
    expect(k.pods.length).toBe(1);
  });

  test("a pod deleted between calls is recreated", async () => {
    const k = fakeKube();
    const s = source(k.kube, fakePod().exec);
    await s.connect({ namespace: "team", name: "cas" }, { kind: "operator" });
    k.pods.splice(0);
    await s.connect({ namespace: "team", name: "cas" }, { kind: "operator" });
    expect(k.pods.map((x) => x.metadata?.uid)).toEqual(["pod-uid-2"]);
  });

  test("operator identity: saved once as a Secret owned by the CAS, from the config the CLI made in the pod", async () => {
    const k = fakeKube();
    const p = fakePod();
    const conn = await source(k.kube, p.exec).connect({ namespace: "team", name: "cas" }, { kind: "operator" });
    await conn.driver.cliVersion(); // makes no config: nothing saved
    expect(k.secrets).toEqual([]);
    await conn.driver.keyHash();
    await conn.driver.keyHash();
    expect(k.secrets.length).toBe(1);
    const secret = k.secrets[0];
    expect(secret?.metadata?.name).toBe(operatorIdentitySecretName("cas"));
    expect(secret?.metadata?.ownerReferences?.[0]?.uid).toBe("cas-uid");
    const saved = Buffer.from(secret?.data?.["config.json"] ?? "", "base64").toString();
    expect(saved).toBe(dec(p.files.get(OPERATOR_CONFIG_IN_POD)));
  });

  test("operator identity, once saved: calls that only read the config run side by side; the first runs alone", async () => {
    const k = fakeKube();
    const p = fakePod();
    // Each CLI run waits until released, so the calls the source lets through at once can be counted.
    let running = 0;
    let most = 0;
    const held: (() => void)[] = [];
    const exec: CliPodExec = async (o) => {
      if (!(o.command[2] ?? "").includes("shift 5")) return p.exec(o);
      running++;
      most = Math.max(most, running);
      await new Promise<void>((r) => held.push(r));
      running--;
      return p.exec(o);
    };
    const until = async (what: () => boolean) => {
      for (let i = 0; i < 2000 && !what(); i++) await Bun.sleep(1);
      expect(what()).toBe(true);
    };
    const conn = await source(k.kube, exec).connect({ namespace: "team", name: "cas" }, { kind: "operator" });
    const first = conn.driver.keyHash(); // creates the identity in the pod and saves it: alone
    await until(() => held.length === 1);
    held.shift()?.();
    await first;
    const reads = [conn.driver.keyHash(), conn.driver.keyHash(), conn.driver.keyHash()];
    await until(() => held.length === 3);
    expect(most).toBe(3);
    for (const r of held.splice(0)) r();
    await Promise.all(reads);
    // The first call ran alone (most was 1 then); a writing call (attest) takes the exclusive path: config-sync tests.
  });

  test("operator identity saved concurrently by another process with another key: the pod goes, the call fails", async () => {
    const k = fakeKube();
    k.secrets.push({
      metadata: { name: operatorIdentitySecretName("cas") },
      data: { "config.json": Buffer.from('{"identity":"another"}').toString("base64") },
    });
    const conn = await source(k.kube, fakePod().exec).connect({ namespace: "team", name: "cas" }, { kind: "operator" });
    await expect(conn.driver.keyHash()).rejects.toThrow(/another operator identity/);
    await Bun.sleep(0);
    expect(k.pods).toEqual([]);
  });
});

describe("casDriverSource", () => {
  const kube = { transport: { connection: {} } } as unknown as KubeClient;
  test("the pod source by default, the local one with --scone-cli; the image is mirror-aware", () => {
    expect(casDriverSource({ kube, stateDir: root })).toBeInstanceOf(PodCasDriverSource);
    expect(casDriverSource({ kube, stateDir: root, sconeCli: "/bin/sh" })).toBeInstanceOf(LocalCasDriverSource);
    expect(sconecliImage({ imageRepo: "mirror.local:5000/scone", imagePrefix: "osc-" }, "6.0.6")).toBe(
      "mirror.local:5000/scone/osc-sconecli:6.0.6",
    );
    expect(sconecliImage(undefined, "6.0.6")).toBe("registry.scontain.com/scone.cloud/sconecli:6.0.6");
  });

  test("a --scone-cli that is missing, a directory or not executable is refused, naming the flag", () => {
    expect(() => casDriverSource({ kube, stateDir: root, sconeCli: join(root, "nope") })).toThrow(
      /for --scone-cli: no such file/,
    );
    expect(sconeCliProblem(root)).toMatch(/not a regular file/);
    const plain = join(root, "plain");
    writeFileSync(plain, "", { mode: 0o644 });
    if (process.getuid?.() !== 0) expect(sconeCliProblem(plain)).toMatch(/not executable/);
    expect(sconeCliProblem("")).toMatch(/give the path/);
    expect(sconeCliProblem("/bin/sh")).toBeUndefined();
  });
});
