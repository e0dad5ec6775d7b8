// Loaded once per `bun test` run (bunfig.toml). The shared local cluster is started lazily by the first
// integration test that asks for it (test/harness) and stopped here after every file has run.
import { afterAll } from "bun:test";
import { stopSharedCluster } from "./harness/cluster.ts";
import { stopSharedS3 } from "./harness/s3.ts";

afterAll(async () => {
  await stopSharedCluster();
}, 60_000);

// The shared S3 server (test/harness/s3.ts), started lazily by the backup tests.
afterAll(async () => {
  await stopSharedS3();
}, 15_000);
