// Loaded once per `bun test` run (bunfig.toml). The shared local cluster is started lazily by the first
// integration test that asks for it (test/harness) and stopped here after every file has run.
import { afterAll } from "bun:test";
import { stopSharedCluster } from "./harness/cluster.ts";

afterAll(async () => {
  await stopSharedCluster();
}, 60_000);
