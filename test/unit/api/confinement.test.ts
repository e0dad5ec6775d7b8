// Issue 11 item 5: API tokens act only where they may. Backup targets under the backup root, S3 only from the
// allow-list, restores of confined catalog backups into their own namespace (unless admin), the DCAP key only from a
// Secret of the CAS's namespace, tokens limited to namespaces, secret-bearing fields redacted below admin.

import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  confinement,
  isWithin,
  parseS3Allow,
  refuseBackupLocation,
  refuseLocation,
} from "../../../src/api/operations/confine.ts";
import { sqliteOperationRecords } from "../../../src/api/operations/records.ts";
import type { OperationRunner } from "../../../src/api/operations/runner.ts";
import { LAST_APPLIED, REDACTED, redactResource } from "../../../src/api/redact.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { createBackup, updateBackup } from "../../../src/store/backups.ts";
import { createOperation } from "../../../src/store/operations.ts";
import type { TokenScope } from "../../../src/store/schema.ts";
import { createToken } from "../../../src/store/tokens.ts";
import { problemOf, type TestApi, testApi } from "./helpers.ts";

const dirs: string[] = [];
let api: TestApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const noop: OperationRunner = { run: async () => ({}) };
const runners = { provision: noop, backup: noop, restore: noop, upgrade: noop, evict: noop };

function open(s3Allow: string[] = []): TestApi {
  const dir = mkdtempSync(join(tmpdir(), "scone-api-confine-"));
  dirs.push(dir);
  api = testApi({ runners, stateDir: dir, confine: confinement({ backupRoot: join(dir, "backups"), s3Allow }) });
  return api;
}

function limitedToken(a: TestApi, name: string, scope: TokenScope, namespaces: string[]): string {
  return createToken(a.store.db, { name, scope, namespaces, now: a.clock.now }).token;
}

/** A completed catalog backup of CAS `namespace/name` stored at `target`. */
function catalogBackup(a: TestApi, namespace: string, target: string): string {
  const b = createBackup(a.store.db, { namespace, name: "cas", target, phase: "running" });
  updateBackup(a.store.db, b.id, { phase: "completed", files: {} });
  return b.id;
}

const post = (a: TestApi, token: string, body: unknown) =>
  a.request("/api/v1/operations", { token, method: "POST", body });

const backupTo = (a: TestApi, target: string) =>
  post(a, a.tokens.operate, { kind: "backup", namespace: "prod", name: "cas", params: { target } });
const restoreFrom = (a: TestApi, from: string) =>
  post(a, a.tokens.operate, { kind: "restore", namespace: "prod", name: "r1", params: { from } });
const provisionWith = (a: TestApi, dcapKeyRef: Record<string, string>) =>
  post(a, a.tokens.operate, { kind: "provision", namespace: "prod", name: "cas", params: { dcapKeyRef } });

async function fields(res: Response): Promise<string[]> {
  return ((await problemOf(res)).errors ?? []).map((e) => e.field);
}

describe("confine.ts decisions", () => {
  const c = confinement({ backupRoot: "/srv/backups", s3Allow: ["s3://team-bucket/scone", "s3://whole-bucket"] });

  test("local directories: at or under the root only, after resolving '..'", () => {
    expect(refuseLocation(c, "/srv/backups")).toBeUndefined();
    expect(refuseLocation(c, "/srv/backups/prod/cas")).toBeUndefined();
    expect(refuseLocation(c, "/etc")).toContain("outside the backup root /srv/backups");
    expect(refuseLocation(c, "/srv/backups/../../etc")).toContain("/etc is outside the backup root");
    expect(refuseLocation(c, "/srv/backups-evil")).toContain("outside the backup root");
    expect(refuseLocation(c, "backups")).toContain("absolute directory");
    expect(refuseLocation(c, "/srv/backups/a\0b")).toContain("NUL");
    expect(isWithin("/a", "/a/b")).toBe(true);
    expect(isWithin("/a", "/ab")).toBe(false);
    expect(isWithin("/a", "/a/..b")).toBe(true);
  });

  test("S3: at or under an allow-list entry only, on segment boundaries", () => {
    expect(refuseLocation(c, "s3://team-bucket/scone")).toBeUndefined();
    expect(refuseLocation(c, "s3://team-bucket/scone/prod")).toBeUndefined();
    expect(refuseLocation(c, "s3://whole-bucket/any/thing")).toBeUndefined();
    expect(refuseLocation(c, "s3://team-bucket/scone-other")).toContain("is not allowed");
    expect(refuseLocation(c, "s3://team-bucket")).toContain("is not allowed");
    expect(refuseLocation(c, "s3://attacker-bucket/x")).toContain("allowed: s3://team-bucket/scone, s3://whole-bucket");
    expect(refuseLocation(c, "s3://team-bucket/scone/../x")).toContain('"." or ".."');
    const none = confinement({ backupRoot: "/srv/backups" });
    expect(refuseLocation(none, "s3://team-bucket/scone")).toContain("allows no S3 location");
    expect(refuseLocation(none, "s3://team-bucket/scone")).toContain("--s3-allow");
  });

  test("--s3-allow entries are s3:// URLs; --backup-root is absolute", () => {
    expect(parseS3Allow("s3://b-1/p/q/")).toEqual({ bucket: "b-1", prefix: "p/q" });
    expect(() => parseS3Allow("/srv")).toThrow("--s3-allow");
    expect(() => parseS3Allow("s3://x")).toThrow("--s3-allow");
    expect(() => confinement({ backupRoot: "rel/dir" })).toThrow("--backup-root");
  });

  test("a symbolic link inside the root that leads out is refused", () => {
    const dir = mkdtempSync(join(tmpdir(), "scone-confine-link-"));
    dirs.push(dir);
    const root = join(dir, "root");
    mkdirSync(root);
    mkdirSync(join(dir, "outside"));
    symlinkSync(join(dir, "outside"), join(root, "escape"));
    const linked = confinement({ backupRoot: root });
    expect(refuseLocation(linked, join(root, "escape", "x"))).toBeUndefined();
    expect(refuseBackupLocation(linked, join(root, "escape", "x"))).toContain("through a symbolic link");
    expect(refuseBackupLocation(linked, join(root, "not-yet", "deeper"))).toBeUndefined();
  });
});

describe("POST /operations is confined", () => {
  test("an operate token backing up to /etc is a 400 naming body.params.target; under the root it is accepted", async () => {
    const a = open();
    const bad = await backupTo(a, "/etc");
    expect(bad.status).toBe(400);
    const p = await problemOf(bad);
    expect(p.errors?.map((e) => e.field)).toEqual(["body.params.target"]);
    expect(p.errors?.[0]?.message).toContain(`outside the backup root ${join(a.dir, "backups")}`);
    const traversal = await backupTo(a, `${a.dir}/backups/../../../etc`);
    expect(await fields(traversal)).toEqual(["body.params.target"]);
    const ok = await backupTo(a, join(a.dir, "backups", "prod"));
    expect(ok.status).toBe(202);
  });

  test("an S3 destination outside the allow-list is a 400 naming body.params.target", async () => {
    const a = open(["s3://scone-backups/prod"]);
    const bad = await backupTo(a, "s3://attacker-bucket/loot");
    expect(bad.status).toBe(400);
    expect(await fields(bad)).toEqual(["body.params.target"]);
    const ok = await backupTo(a, "s3://scone-backups/prod/daily");
    expect(ok.status).toBe(202);
  });

  test("a restore from a catalog backup stored outside the root is a 400 naming body.params.from", async () => {
    const a = open();
    const outside = catalogBackup(a, "prod", "/tmp/elsewhere/set-1");
    const res = await restoreFrom(a, outside);
    expect(res.status).toBe(400);
    const p = await problemOf(res);
    expect(p.errors?.map((e) => e.field)).toEqual(["body.params.from"]);
    expect(p.errors?.[0]?.message).toContain("outside the backup root");
    const unknown = await restoreFrom(a, "bk-not-in-catalog");
    expect(await fields(unknown)).toEqual(["body.params.from"]);
    const inside = catalogBackup(a, "prod", join(a.dir, "backups", "set-2"));
    const ok = await restoreFrom(a, inside);
    expect(ok.status).toBe(202);
  });

  test("a restore goes only into the namespace the backup came from, unless the caller is an admin", async () => {
    const a = open();
    const id = catalogBackup(a, "team-a", join(a.dir, "backups", "set-a"));
    const body = { kind: "restore", namespace: "team-b", name: "stolen", params: { from: id } };
    const refused = await post(a, a.tokens.operate, body);
    expect(refused.status).toBe(403);
    expect((await problemOf(refused)).detail).toContain('restores only into "team-a"');
    expect((await post(a, a.tokens.admin, body)).status).toBe(202);
  });

  test("the DCAP key reference names a Secret of the CAS's namespace: no path, no other namespace", async () => {
    const a = open();
    for (const name of ["../../kube-system/secrets/x", "..", "a/b"]) {
      const res = await provisionWith(a, { name, key: "apiKey" });
      expect(await fields(res)).toEqual(["body.params.dcapKeyRef.name"]);
    }
    const badKey = await provisionWith(a, { name: "dcap", key: "../x" });
    expect(await fields(badKey)).toEqual(["body.params.dcapKeyRef.key"]);
    const extra = await provisionWith(a, { name: "dcap", key: "apiKey", namespace: "kube-system" });
    expect(extra.status).toBe(400);
  });
});

describe("tokens limited to namespaces", () => {
  test("act in their namespaces; another namespace is a 403 naming it", async () => {
    const a = open();
    const opA = limitedToken(a, "team-a-ops", "operate", ["team-a"]);
    const onB = await post(a, opA, { kind: "evict", namespace: "team-b", name: "cas" });
    expect(onB.status).toBe(403);
    expect((await problemOf(onB)).detail).toContain('namespace "team-b"');
    expect((await post(a, opA, { kind: "evict", namespace: "team-a", name: "cas" })).status).toBe(202);

    const readA = limitedToken(a, "team-a-read", "read", ["team-a"]);
    const other = createOperation(a.store.db, { kind: "evict", namespace: "team-b", name: "x", createdBy: "cli" });
    const byId = await a.request(`/api/v1/operations/${other.id}`, { token: readA });
    expect(byId.status).toBe(403);
    expect((await problemOf(byId)).detail).toContain('"team-b"');
    const listed = (await (await a.request("/api/v1/operations", { token: readA })).json()) as {
      items: { namespace: string }[];
    };
    expect(listed.items.map((o) => o.namespace)).toEqual(["team-a"]);
    expect((await a.request("/api/v1/operations?namespace=team-b", { token: readA })).status).toBe(403);
    expect((await a.request("/api/v1/backups?namespace=team-b", { token: readA })).status).toBe(403);
    expect((await a.request("/api/v1/history?namespace=team-b", { token: readA })).status).toBe(403);
    expect((await a.request("/api/v1/audit?namespace=team-b&name=cas", { token: readA })).status).toBe(403);
    // The unlimited read token still sees both.
    const all = (await (await a.request("/api/v1/operations", { token: a.tokens.read })).json()) as {
      items: unknown[];
    };
    expect(all.items).toHaveLength(2);
  });

  test("resources: other namespaces and cluster-scoped kinds are 403, lists keep to the token's namespaces", async () => {
    const a = open();
    const cas = (ns: string): KubeObject => ({
      apiVersion: "services.scone.cloud/v1beta1",
      kind: "CAS",
      metadata: { name: "cas", namespace: ns },
    });
    a.cache.add("CAS", cas("team-a"));
    a.cache.add("CAS", cas("team-b"));
    a.cache.add("LAS", { apiVersion: "base.scone.cloud/v1beta1", kind: "LAS", metadata: { name: "las" } });
    const readA = limitedToken(a, "team-a-read", "read", ["team-a"]);
    expect((await a.request("/api/v1/namespaces/team-a/resources/cas/cas", { token: readA })).status).toBe(200);
    const b = await a.request("/api/v1/namespaces/team-b/resources/cas/cas", { token: readA });
    expect(b.status).toBe(403);
    expect((await problemOf(b)).detail).toContain('"team-b"');
    // Existence in another namespace is not revealed either.
    expect((await a.request("/api/v1/namespaces/team-b/resources/cas/nope", { token: readA })).status).toBe(403);
    const list = (await (await a.request("/api/v1/resources/cas", { token: readA })).json()) as {
      items: KubeObject[];
    };
    expect(list.items.map((o) => o.metadata?.namespace)).toEqual(["team-a"]);
    expect((await a.request("/api/v1/resources/cas?namespace=team-b", { token: readA })).status).toBe(403);
    const las = await a.request("/api/v1/resources/las/las", { token: readA });
    expect(las.status).toBe(403);
    expect((await problemOf(las)).detail).toContain("cluster-scoped");
    expect((await a.request("/api/v1/resources/las", { token: readA })).status).toBe(403);
  });

  test("created through POST /tokens and listed; an admin token cannot be limited", async () => {
    const a = open();
    const created = await a.request("/api/v1/tokens", {
      token: a.tokens.admin,
      method: "POST",
      body: { name: "ci", scope: "operate", namespaces: ["team-a", "team-c", "team-a"] },
    });
    expect(created.status).toBe(201);
    expect(((await created.json()) as { namespaces: string[] }).namespaces).toEqual(["team-a", "team-c"]);
    const admin = await a.request("/api/v1/tokens", {
      token: a.tokens.admin,
      method: "POST",
      body: { name: "boss", scope: "admin", namespaces: ["team-a"] },
    });
    expect(await fields(admin)).toEqual(["body.namespaces"]);
    const bad = await a.request("/api/v1/tokens", {
      token: a.tokens.admin,
      method: "POST",
      body: { name: "x", scope: "read", namespaces: ["Not_A_Label"] },
    });
    expect(await fields(bad)).toEqual(["body.namespaces.0"]);
    const listed = (await (await a.request("/api/v1/tokens", { token: a.tokens.admin })).json()) as {
      items: { name: string; namespaces: string[] | null }[];
    };
    expect(listed.items.find((t) => t.name === "ci")?.namespaces).toEqual(["team-a", "team-c"]);
    expect(listed.items.find((t) => t.name === "t-read")?.namespaces).toBeNull();
  });
});

describe("secret-bearing fields are redacted below admin", () => {
  const las: KubeObject = {
    apiVersion: "base.scone.cloud/v1beta1",
    kind: "LAS",
    metadata: {
      name: "las",
      annotations: { [LAST_APPLIED]: '{"spec":{"dcapKey":"pcs-secret-key"}}', keep: "me" },
    },
    spec: { dcapKey: "pcs-secret-key", hostPort: 18766 },
  } as KubeObject;
  const cas: KubeObject = {
    apiVersion: "services.scone.cloud/v1beta1",
    kind: "CAS",
    metadata: { name: "cas", namespace: "prod" },
    spec: { ownerConfig: "[owner]\nsecret = 1\n", ownerCertificate: "-----BEGIN CERTIFICATE-----" },
  } as KubeObject;

  test("read and operate see <redacted>, admin sees the value; lists too; the cached object is untouched", async () => {
    const a = open();
    a.cache.add("LAS", las);
    a.cache.add("CAS", cas);
    for (const scope of ["read", "operate"] as const) {
      const got = (await (await a.request("/api/v1/resources/las/las", { token: a.tokens[scope] })).json()) as {
        spec: Record<string, unknown>;
        metadata: { annotations: Record<string, string> };
      };
      expect(got.spec.dcapKey).toBe(REDACTED);
      expect(got.spec.hostPort).toBe(18766);
      expect(got.metadata.annotations[LAST_APPLIED]).toBe(REDACTED);
      expect(got.metadata.annotations.keep).toBe("me");
      const listed = await (await a.request("/api/v1/resources/cas", { token: a.tokens[scope] })).text();
      expect(listed).not.toContain("secret = 1");
      expect(JSON.parse(listed).items[0].spec.ownerConfig).toBe(REDACTED);
      expect(JSON.parse(listed).items[0].spec.ownerCertificate).toBe("-----BEGIN CERTIFICATE-----");
    }
    const admin = (await (await a.request("/api/v1/resources/las/las", { token: a.tokens.admin })).json()) as {
      spec: Record<string, unknown>;
    };
    expect(admin.spec.dcapKey).toBe("pcs-secret-key");
    expect((las as { spec: { dcapKey: string } }).spec.dcapKey).toBe("pcs-secret-key");
  });

  test("absent fields stay absent; Vault environment values are redacted, their names kept", () => {
    const bare = { apiVersion: "base.scone.cloud/v1beta1", kind: "LAS", metadata: { name: "l" }, spec: {} };
    expect(redactResource("LAS", bare as KubeObject)).toBe(bare as KubeObject);
    const vault = {
      apiVersion: "services.scone.cloud/v1beta1",
      kind: "Vault",
      metadata: { name: "v", namespace: "p" },
      spec: { server: { extraEnvironmentVars: { AWS_SECRET_ACCESS_KEY: "k", REGION: "eu" } } },
    };
    const out = redactResource("Vault", vault as KubeObject) as unknown as typeof vault;
    expect(out.spec.server.extraEnvironmentVars).toEqual({ AWS_SECRET_ACCESS_KEY: REDACTED, REGION: REDACTED });
    expect(vault.spec.server.extraEnvironmentVars.AWS_SECRET_ACCESS_KEY).toBe("k");
  });
});

describe("the runners check again when they run", () => {
  test("a backup stored with a target outside the root (older version, other flags) fails without touching it", async () => {
    const { backupRunner } = await import("../../../src/api/operations/cas/backup.ts");
    const { OperationExecutor } = await import("../../../src/api/operations/executor.ts");
    const { getOperation } = await import("../../../src/store/operations.ts");
    const { quietLog } = await import("./helpers.ts");
    const a = open();
    const deps = {
      // Never reached: the refusal comes before any cluster call.
      client: {} as import("../../../src/kube/client.ts").KubeClient,
      stateDir: a.dir,
      db: a.store.db,
      log: quietLog,
      confine: confinement({ backupRoot: join(a.dir, "backups") }),
      casSource: { description: "never reached", connect: () => Promise.reject(new Error("never reached")) },
    };
    const executor = new OperationExecutor(
      sqliteOperationRecords(a.store.db),
      { backup: backupRunner(deps) },
      quietLog,
    );
    const op = createOperation(a.store.db, {
      kind: "backup",
      namespace: "prod",
      name: "cas",
      params: { target: "/etc" },
      createdBy: "older-scone",
    });
    expect(await executor.resumeUnfinished()).toBe(1);
    await executor.idle();
    const failed = getOperation(a.store.db, op.id);
    expect(failed?.phase).toBe("failed");
    expect(failed?.error).toContain("params.target /etc is outside the backup root");
  });
});
