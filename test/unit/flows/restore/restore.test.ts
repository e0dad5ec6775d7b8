import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalDirectoryTarget } from "../../../../src/backup/local-target.ts";
import { sha256Hex } from "../../../../src/backup/manifest.ts";
import { resolveRestoreSource } from "../../../../src/backup/restore-source.ts";
import { runBackup } from "../../../../src/backup/run.ts";
import { DirectorySnapshotSource } from "../../../../src/backup/snapshot-source.ts";
import { readTar } from "../../../../src/backup/tar.ts";
import { runRestore } from "../../../../src/flows/restore/flow.ts";
import {
  checkRestoreTarget,
  parseSha256sum,
  RESTORED_FROM_ANNOTATION,
  restoreProgress,
} from "../../../../src/flows/restore/plan.ts";
import { writeTar } from "../../../../src/flows/restore/tar-writer.ts";
import type { DayTwoKube, PodExec } from "../../../../src/flows/status/observe.ts";
import type { CAS } from "../../../../src/resources/cas.ts";
import { openStore, type Store } from "../../../../src/store/open.ts";
import { casPod, FakeKube } from "../../../harness/fake-kube.ts";

const NS = "prod";
const DB = new TextEncoder().encode("encrypted database bytes");
const KEYS = new TextEncoder().encode('{"format":"keys"}');

describe("restore planning", () => {
  test("a free name is created; an existing CAS or claim is refused; our own CAS is resumed", () => {
    const base = { cas: undefined, claim: undefined, claimName: "database-new-0", backupId: "bk-1" };
    expect(checkRestoreTarget(base)).toEqual({ action: "create" });
    const cas = (annotations: Record<string, string>) =>
      ({ metadata: { name: "new", namespace: NS, annotations } }) as unknown as CAS;
    expect(checkRestoreTarget({ ...base, cas: cas({}) })).toMatchObject({
      action: "refuse",
      reason: "CAS prod/new exists; choose a new name (restore never overwrites a CAS)",
    });
    expect(checkRestoreTarget({ ...base, cas: cas({ [RESTORED_FROM_ANNOTATION]: "bk-0" }) })).toMatchObject({
      action: "refuse",
    });
    expect(checkRestoreTarget({ ...base, cas: cas({ [RESTORED_FROM_ANNOTATION]: "bk-1" }) })).toMatchObject({
      action: "resume",
    });
    expect(checkRestoreTarget({ ...base, claim: {} })).toMatchObject({
      action: "refuse",
      reason: expect.stringContaining("PersistentVolumeClaim database-new-0 exists"),
    });
  });

  test("sha256sum output by file name; progress from the hashes", () => {
    const h = (c: string) => c.repeat(64);
    const out = `${h("a")}  /k/pods/root/etc/cas/db/cas.key-store\n${h("b")}  /etc/cas/db/last-snapshot-db\n`;
    expect(parseSha256sum(out)).toEqual({ "cas.key-store": h("a"), "last-snapshot-db": h("b") });
    const manifest = {
      files: { "cas.db": { sha256: h("b"), size: 1 }, "cas.key-store": { sha256: h("c"), size: 1 } },
    } as never;
    expect(restoreProgress({ "cas.key-store": h("c") }, manifest)).toBe("restored");
    expect(restoreProgress({ "last-snapshot-db": h("b"), "last-snapshot-cas.key-store": h("c") }, manifest)).toBe(
      "files-placed",
    );
    expect(restoreProgress({ "last-snapshot-db": h("b") }, manifest)).toBe("nothing");
  });

  test("the tar writer's archive reads back (names, bytes, mtime), several blocks long", () => {
    const big = new Uint8Array(1500).map((_, i) => i % 251);
    const entries = readTar(
      writeTar([
        { name: "last-snapshot-db", data: big, mtime: 1700000000 },
        { name: "k", data: KEYS },
      ]),
    );
    expect(entries.map((e) => e.name)).toEqual(["last-snapshot-db", "k"]);
    expect(entries[0]?.data).toEqual(big);
    expect(entries[0]?.mtime).toBe(1700000000);
    expect(entries[1]?.data).toEqual(KEYS);
    expect(() => writeTar([{ name: "a/b", data: KEYS }])).toThrow("not a short file name");
  });
});

describe("runRestore", () => {
  let root: string;
  let store: Store;
  let setDir: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "scone-restore-unit-"));
    const snap = join(root, "snap");
    await mkdir(snap);
    await writeFile(join(snap, "cas.db"), DB);
    await writeFile(join(snap, "cas.key-store"), KEYS);
    store = openStore({ stateDir: join(root, "state") });
    const record = await runBackup({
      cas: { namespace: NS, name: "cas", version: "6.0.6", provisioned: true },
      source: new DirectorySnapshotSource(snap),
      target: new LocalDirectoryTarget(join(root, "backups")),
      store,
    });
    setDir = record.target;
  });

  afterAll(async () => {
    store.close();
    await rm(root, { recursive: true, force: true });
  });

  /** A pod file system in memory, the fake operator (pods, status) and the fake CAS (restart-cas applies the files). */
  function world() {
    const kube = new FakeKube();
    const files = new Map<string, Uint8Array>([["cas.key-store", new TextEncoder().encode("fresh keys")]]);
    const calls: string[] = [];
    /** Whether the backup controller, once enabled, registers the CAS on the two migration nodes. */
    const backupController = { registers: true };
    const setStatus = (provisioned: string) => {
      const c = kube.peek<CAS>({ kind: "CAS", namespace: NS, name: "new" });
      if (!c) return;
      const registered = c.spec?.["backup-controller"]?.enabled === true && backupController.registers;
      c.status = {
        phase: provisioned === "Yes" ? "HEALTHY" : "Unprovisioned",
        state: provisioned === "Yes" ? "HEALTHY" : "PENDING",
        provisioned,
        migrationNodeRatio: registered ? "2/2" : "0/2",
        observedGeneration: c.metadata.generation,
      } as never;
      kube.put(c);
    };
    kube.react = (w, k) => {
      if (!w.key.startsWith(`CAS/${NS}/new`)) return;
      const c = k.peek<CAS>({ kind: "CAS", namespace: NS, name: "new" });
      k.put(casPod(NS, "new", "node-1", c?.spec?.image ?? "", `uid-${k.writes.length}`));
      const keys = files.get("cas.key-store");
      setStatus(keys && sha256Hex(keys) === sha256Hex(KEYS) ? "Yes" : "No");
    };
    const exec: PodExec = async ({ command, stdin }) => {
      calls.push(command.join(" "));
      const [cmd, ...args] = command;
      if (cmd === "sha256sum") {
        const lines = args
          .map((p) => p.slice(p.lastIndexOf("/") + 1))
          .filter((f) => files.has(f))
          .map((f) => `${sha256Hex(files.get(f) as Uint8Array)}  /etc/cas/db/${f}`);
        return { exitCode: 0, stdout: new TextEncoder().encode(lines.join("\n")), stderr: "" };
      }
      if (cmd === "sh" && args[1]?.includes("| tar -xf - -C /etc/cas/db")) {
        const size = Number(/head -c (\d+)/.exec(args[1] ?? "")?.[1]);
        expect(size).toBe(stdin?.length ?? -1);
        for (const e of readTar(stdin ?? new Uint8Array())) files.set(e.name, e.data);
        return { exitCode: 0, stdout: new Uint8Array(), stderr: "" };
      }
      if (cmd === "bash") {
        files.set("cas.db", files.get("last-snapshot-db") as Uint8Array);
        files.set("cas.key-store", files.get("last-snapshot-cas.key-store") as Uint8Array);
        files.delete("last-snapshot-db");
        files.delete("last-snapshot-cas.key-store");
        setStatus("Yes");
        return { exitCode: 0, stdout: new Uint8Array(), stderr: "" };
      }
      return { exitCode: 127, stdout: new Uint8Array(), stderr: `${cmd}: not found` };
    };
    return { kube, files, calls, exec, backupController };
  }

  const options = (from: string) => ({
    namespace: NS,
    name: "new",
    from,
    defaultVersion: "6.0.6",
    timeoutMs: 50,
    pollMs: 1,
  });
  const ports = (w: ReturnType<typeof world>) => ({
    kube: w.kube as unknown as DayTwoKube,
    exec: w.exec,
    resolveSource: (spec: string) => resolveRestoreSource(spec, { store }),
  });

  test("creates the CAS with the recovery image, places the snapshot, restarts, switches back to cas, HEALTHY", async () => {
    const w = world();
    const outcome = await runRestore(ports(w), options(setDir));
    expect(outcome).toMatchObject({ ok: true });
    expect(w.files.get("cas.db")).toEqual(DB);
    expect(w.files.get("cas.key-store")).toEqual(KEYS);
    expect(w.calls.filter((c) => !c.startsWith("sha256sum"))).toEqual([
      expect.stringContaining("| tar -xf - -C /etc/cas/db"),
      "bash restart-cas",
    ]);
    const created = w.kube.writes[0]?.body as CAS;
    expect(created.spec?.image).toBe("registry.scontain.com/scone.cloud/cas-recovery:6.0.6");
    expect(created.metadata.annotations?.[RESTORED_FROM_ANNOTATION]).toBe(outcome.backupId);
    expect(w.kube.peek<CAS>({ kind: "CAS", namespace: NS, name: "new" })?.spec?.image).toBe(
      "registry.scontain.com/scone.cloud/cas:6.0.6",
    );
    // A rerun finds everything done and creates nothing.
    const writes = w.kube.writes.length;
    const again = await runRestore(ports(w), options(setDir));
    expect(again.ok).toBe(true);
    expect(w.kube.writes.length).toBe(writes);
  });

  test("the restored CAS's backup controller is enabled (upstream's session) and registers it before the image switch", async () => {
    const w = world();
    expect(await runRestore(ports(w), options(setDir))).toMatchObject({ ok: true });
    const cas = w.kube.peek<CAS>({ kind: "CAS", namespace: NS, name: "new" });
    expect(cas?.spec?.["backup-controller"]).toMatchObject({
      enabled: true,
      session: "cas-owner/primary-backup/register",
      image: "registry.scontain.com/scone.cloud/backup-controller:6.0.6",
    });
    const patches = w.kube.writes.filter((x) => x.verb === "patch").map((x) => JSON.stringify(x.body));
    expect(patches).toEqual([
      expect.stringContaining('"backup-controller":{"enabled":true'),
      expect.stringContaining('"image":"registry.scontain.com/scone.cloud/cas:6.0.6"'),
    ]);
  });

  test("no registration from the backup controller: the restore stops before replacing the recovery pod", async () => {
    const w = world();
    w.backupController.registers = false;
    const outcome = await runRestore(ports(w), options(setDir));
    expect(outcome.ok).toBe(false);
    expect(outcome.steps.at(-1)?.name).toBe("backup-controller");
    expect(outcome.error).toContain("to register it on every migration node");
    expect(w.kube.peek<CAS>({ kind: "CAS", namespace: NS, name: "new" })?.spec?.image).toBe(
      "registry.scontain.com/scone.cloud/cas-recovery:6.0.6",
    );
    w.backupController.registers = true;
    expect((await runRestore(ports(w), options(setDir))).ok).toBe(true);
  });

  test("killed after the CAS was created: the rerun continues with it", async () => {
    const w = world();
    w.kube.failNext = "patch"; // dies when switching the image back
    expect((await runRestore(ports(w), options(setDir))).ok).toBe(false);
    const second = await runRestore(ports(w), options(setDir));
    expect(second.ok).toBe(true);
    expect(second.steps.find((s) => s.name === "create-cas")?.outcome).toBe("skipped");
    expect(w.kube.writes.filter((x) => x.verb === "create")).toHaveLength(1);
  });

  test("a corrupted backup is refused before anything is created", async () => {
    const copy = join(root, "corrupt");
    await mkdir(copy, { recursive: true });
    for (const f of ["cas.db", "cas.key-store", "backup.json"])
      await Bun.write(join(copy, f), Bun.file(join(setDir, f)));
    await writeFile(join(copy, "cas.db"), new TextEncoder().encode("tampered database"));
    const w = world();
    const outcome = await runRestore(ports(w), options(copy));
    expect(outcome).toMatchObject({ ok: false, refused: true });
    expect(outcome.error).toContain("cas.db");
    expect(w.kube.writes).toEqual([]);
    expect(w.calls).toEqual([]);
  });

  test("an incomplete backup (no manifest) is refused before anything is created", async () => {
    const partial = join(root, "partial");
    await mkdir(partial, { recursive: true });
    await writeFile(join(partial, "cas.db"), DB);
    const w = world();
    const outcome = await runRestore(ports(w), options(partial));
    expect(outcome).toMatchObject({ ok: false, refused: true });
    expect(outcome.error).toContain("incomplete or interrupted backup");
    expect(w.kube.writes).toEqual([]);
  });

  test("an existing CAS of that name is refused before anything is created", async () => {
    const w = world();
    w.kube.put({ apiVersion: "services.scone.cloud/v1beta1", kind: "CAS", metadata: { name: "new", namespace: NS } });
    const outcome = await runRestore(ports(w), options(setDir));
    expect(outcome).toMatchObject({ ok: false, refused: true });
    expect(outcome.error).toContain("CAS prod/new exists");
    expect(w.kube.writes).toEqual([]);
  });
});
