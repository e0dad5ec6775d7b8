// PodSnapshotSource with an exec that runs the pod's commands on this machine (readlink, tar), so the real tar
// stream is unpacked; the pod's snapshot root is a local directory laid out as the CAS writes it.
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { BackupNotPossibleError } from "../../../src/backup/errors.ts";
import { type PodExec, PodSnapshotSource } from "../../../src/backup/pod-snapshot-source.ts";
import { cleanup, localExec, snapshotRoot, tempDir } from "../../harness/backup-fixtures.ts";

afterEach(cleanup);

describe("PodSnapshotSource", () => {
  test("takes both files of the last-completed snapshot out of pod NAME-0, container cas", async () => {
    const snap = snapshotRoot("snapshot-2026-11-23T09-00-00-000Z-7");
    const calls: Parameters<PodExec>[0][] = [];
    const source = new PodSnapshotSource({
      namespace: "prod",
      name: "cas",
      exec: localExec(calls),
      snapshotDir: snap.root,
    });
    expect(source.description).toBe("pod prod/cas-0");
    const into = tempDir("into");
    const fetched = await source.fetch(into);
    expect(fetched.marker).toBe("snapshot-2026-11-23T09-00-00-000Z-7");
    expect(fetched.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    expect(new Uint8Array(readFileSync(join(into, "cas.db")))).toEqual(snap.db);
    expect(new Uint8Array(readFileSync(join(into, "cas.key-store")))).toEqual(snap.keyStore);
    expect(statSync(join(into, "cas.db")).mode & 0o777).toBe(0o600);
    expect(calls.map((c) => [c.namespace, c.pod, c.container])).toEqual([
      ["prod", "cas-0", "cas"],
      ["prod", "cas-0", "cas"],
    ]);
    // tar runs in the resolved snapshot directory, so both files come from the same snapshot.
    expect(calls[1]?.command).toEqual([
      "tar",
      "-cf",
      "-",
      "-C",
      join(snap.root, "snapshot-2026-11-23T09-00-00-000Z-7"),
      "cas.db",
      "cas.key-store",
    ]);
  });

  test("no snapshot in the pod yet: a clear error, nothing written", async () => {
    const source = new PodSnapshotSource({
      namespace: "prod",
      name: "cas",
      exec: localExec([]),
      snapshotDir: tempDir("empty"),
    });
    const error = await source.fetch(tempDir("into")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackupNotPossibleError);
    expect((error as Error).message).toContain("no complete CAS snapshot in pod prod/cas-0:");
    expect((error as Error).message).toContain("has the CAS taken a snapshot yet?");
  });
});
