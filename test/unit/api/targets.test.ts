// Two API replicas on separate stores read the same targets (issue 14): a backup set one of them (or the operator)
// wrote is listed by the other after GET /backups?refresh=true, and GET /audit on an index holding nothing of a CAS
// first rebuilds it from the audit archive shipped to a target. In a pod the API has no local backup root.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { confinement } from "../../../src/api/operations/confine.ts";
import { defaultBackupRoot } from "../../../src/api/run.ts";
import { LocalDirectoryTarget } from "../../../src/backup/local-target.ts";
import { writeAuditArchive, writeBackupSet } from "../../support/target-fixtures.ts";
import { problemOf, type TestApi, testApi } from "./helpers.ts";

const root = mkdtempSync(join(tmpdir(), "scone-api-targets-"));
const shared = join(root, "backups");
const apis: TestApi[] = [];
const replica = () => {
  const api = testApi({ confine: confinement({ backupRoot: shared }) });
  apis.push(api);
  return api;
};

afterAll(async () => {
  for (const a of apis) await a.close();
  rmSync(root, { recursive: true, force: true });
});

const CAS = { namespace: "ns1", name: "cas" };
const writeSet = (at: number) => writeBackupSet(new LocalDirectoryTarget(shared), CAS, at);

const ids = async (api: TestApi, query = "") => {
  const res = await api.request(`/api/v1/backups${query}`, { token: api.tokens.read });
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: { id: string }[] }).items.map((b) => b.id);
};

describe("API replicas share the targets' catalog and audit archive", () => {
  test("a set written to the target is listed by a second replica after ?refresh=true", async () => {
    const a = replica();
    const b = replica();
    const id = await writeSet(Date.parse("2026-11-20T10:00:00Z"));
    expect(await ids(b)).toEqual([]);
    expect(await ids(b, "?refresh=true")).toEqual([id]);
    // Without refresh the catalog is the store's: the other replica has not refilled yet.
    expect(await ids(a)).toEqual([]);
    expect(await ids(a, "?refresh=true&namespace=ns1")).toEqual([id]);
    const bad = await a.request("/api/v1/backups?refresh=yes", { token: a.tokens.read });
    expect((await problemOf(bad)).errors?.[0]?.field).toBe("query.refresh");
  });

  test("GET /audit on a missing index rebuilds it from the archive on the target, every entry once", async () => {
    const log = await writeAuditArchive(new LocalDirectoryTarget(shared), CAS, 6);
    const api = replica();
    const search = async () => {
      const res = await api.request("/api/v1/audit?namespace=ns1&name=cas&limit=100", { token: api.tokens.read });
      expect(res.status).toBe(200);
      return ((await res.json()) as { items: { seq: number; log: string }[] }).items;
    };
    const first = await search();
    expect(first.map((e) => e.seq)).toEqual([5, 4, 3, 2, 1, 0]);
    expect(new Set(first.map((e) => e.log))).toEqual(new Set([log]));
    // Present now: searched, not rebuilt again (no duplicates).
    expect((await search()).length).toBe(6);
    // A CAS with no archive anywhere: an empty page, not an error.
    const other = await api.request("/api/v1/audit?namespace=ns1&name=other", { token: api.tokens.read });
    expect(((await other.json()) as { items: unknown[] }).items).toEqual([]);
  });
});

describe("in a pod the API has no local backup root", () => {
  const location = (dir: string) => join(dir, "backups");

  test("default root: <state-dir>/backups on a host, none in a pod (its state directory is an emptyDir)", () => {
    expect(defaultBackupRoot("/s", location, {})).toBe("/s/backups");
    expect(defaultBackupRoot("/s", location, { KUBERNETES_SERVICE_HOST: "198.18.128.1" })).toBeNull();
  });

  test("without a root a backup must name an allowed s3:// target; a directory is refused naming --backup-root", async () => {
    const api = testApi({
      confine: confinement({ backupRoot: null, s3Allow: ["s3://bucket/scone-backups"] }),
      runners: { backup: { run: async () => undefined } },
    });
    apis.push(api);
    const post = (params: Record<string, string>) =>
      api.request("/api/v1/operations", {
        token: api.tokens.operate,
        method: "POST",
        body: { kind: "backup", namespace: "ns1", name: "cas", params },
      });
    const missing = await problemOf(await post({}));
    expect(missing.status).toBe(400);
    expect(missing.errors?.[0]).toMatchObject({ field: "body.params.target" });
    expect(missing.errors?.[0]?.message).toContain("--backup-root");
    const local = await problemOf(await post({ target: join(root, "anywhere") }));
    expect(local.errors?.[0]?.message).toContain("allows no local directory");
  });
});
