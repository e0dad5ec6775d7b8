import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalDirectoryTarget } from "../../../../src/backup/local-target.ts";
import { sha256Hex } from "../../../../src/backup/manifest.ts";
import { runCasBackup } from "../../../../src/flows/backup/flow.ts";
import { ownerFile } from "../../../../src/flows/backup/owner.ts";
import { writeTar } from "../../../../src/flows/restore/tar-writer.ts";
import type { DayTwoKube, PodExec } from "../../../../src/flows/status/observe.ts";
import { createBackup, getBackup } from "../../../../src/store/backups.ts";
import { openStore, type Store } from "../../../../src/store/open.ts";
import { FakeKube, healthyCas } from "../../../harness/fake-kube.ts";

const DB = new TextEncoder().encode("db bytes");
const KEYS = new TextEncoder().encode("key store bytes");

describe("runCasBackup", () => {
  let root: string;
  let store: Store;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "scone-backup-flow-"));
    store = openStore({ stateDir: join(root, "state") });
  });
  afterAll(async () => {
    store.close();
    await rm(root, { recursive: true, force: true });
  });

  /** NAME-0's exec: readlink of last-completed, tar of the snapshot. */
  const exec: PodExec = async ({ command }) => {
    if (command[0] === "readlink")
      return { exitCode: 0, stdout: new TextEncoder().encode("snapshot-42\n"), stderr: "" };
    if (command[0] === "tar")
      return {
        exitCode: 0,
        stdout: writeTar([
          { name: "cas.db", data: DB },
          { name: "cas.key-store", data: KEYS },
        ]),
        stderr: "",
      };
    return { exitCode: 127, stdout: new Uint8Array(), stderr: "not found" };
  };
  const kube = () => {
    const k = new FakeKube();
    k.put(healthyCas("prod", "cas", "registry.scontain.com/scone.cloud/cas:6.0.6"));
    return k as unknown as DayTwoKube;
  };
  const target = () => new LocalDirectoryTarget(join(root, "backups"));

  test("copies the pod's last snapshot, verifies both files and catalogs it", async () => {
    const outcome = await runCasBackup(
      { kube: kube(), exec },
      { namespace: "prod", name: "cas", target: target(), store },
    );
    expect(outcome).toMatchObject({ ok: true, problems: [] });
    expect(outcome.record).toMatchObject({ phase: "completed", snapshotMarker: "snapshot-42" });
    expect(outcome.record?.files["cas.db"]?.sha256).toBe(sha256Hex(DB));
    expect(outcome.record?.files["cas.key-store"]?.sha256).toBe(sha256Hex(KEYS));
  });

  test("a missing CAS is refused; nothing is catalogued", async () => {
    await expect(
      runCasBackup(
        { kube: new FakeKube() as unknown as DayTwoKube, exec },
        { namespace: "prod", name: "nope", target: target(), store },
      ),
    ).rejects.toThrow("CAS prod/nope does not exist");
  });

  test("a backup whose process was killed is given up at once by the next run (its owner pid is gone)", async () => {
    const stale = createBackup(store.db, {
      namespace: "prod",
      name: "cas",
      target: "/x",
      phase: "running",
      startedAt: Date.now(),
    });
    const owner = ownerFile(join(root, "state"), { namespace: "prod", name: "cas" });
    await owner.claim();
    await writeFile(owner.path, `${Bun.spawnSync(["true"]).pid}\n`);
    const outcome = await runCasBackup(
      { kube: kube(), exec },
      { namespace: "prod", name: "cas", target: target(), store, owner },
    );
    expect(outcome.ok).toBe(true);
    expect(getBackup(store.db, stale.id)).toMatchObject({
      phase: "failed",
      error: expect.stringContaining("abandoned"),
    });
  });

  test("while the owner is alive, a running backup blocks the next one", async () => {
    createBackup(store.db, { namespace: "prod", name: "busy", target: "/x", phase: "running", startedAt: Date.now() });
    const k = new FakeKube();
    k.put(healthyCas("prod", "busy", "registry.scontain.com/scone.cloud/cas:6.0.6"));
    await expect(
      runCasBackup(
        { kube: k as unknown as DayTwoKube, exec },
        { namespace: "prod", name: "busy", target: target(), store },
      ),
    ).rejects.toThrow("backups of one CAS run one at a time");
  });
});
