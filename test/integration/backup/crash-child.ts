// Child process of backup.test.ts: starts a backup to S3 and dies by SIGKILL after the first data file is stored,
// as a crash or an OOM kill would.   crash-child.ts STATE_DIR SNAPSHOT_DIR S3_URL   (credentials: AWS_* variables)
import { openTarget } from "../../../src/backup/open-target.ts";
import { runBackup } from "../../../src/backup/run.ts";
import { DirectorySnapshotSource } from "../../../src/backup/snapshot-source.ts";
import type { BackupTarget } from "../../../src/backup/target.ts";
import { openStore } from "../../../src/store/open.ts";

const [stateDir, snapshotDir, url] = process.argv.slice(2);
if (!stateDir || !snapshotDir || !url) throw new Error("usage: crash-child.ts STATE_DIR SNAPSHOT_DIR S3_URL");
const s3 = openTarget(url);
const dying: BackupTarget = {
  location: s3.location,
  locationOf: (key) => s3.locationOf(key),
  get: (key) => s3.get(key),
  list: (prefix) => s3.list(prefix),
  delete: (key) => s3.delete(key),
  async put(key, data) {
    await s3.put(key, data);
    process.kill(process.pid, "SIGKILL");
  },
};
await runBackup({
  cas: { namespace: "prod", name: "cas" },
  source: new DirectorySnapshotSource(snapshotDir),
  target: dying,
  store: openStore({ stateDir }),
});
