// The test suite's real S3 server (versitygw, hack/s3): one per `bun test` process, started lazily by the first
// caller on a free loopback port with a temporary data directory, stopped by test/preload.ts after every file
// has run. A watchdog stops it should this process die without that (SIGKILL).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { S3Server } from "../../hack/s3/server.ts";

/** endpoint is http://127.0.0.1:PORT; use path-style requests. */
export interface SharedS3 extends Pick<S3Server, "endpoint" | "accessKeyId" | "secretAccessKey" | "region"> {
  /** Creates the bucket if it does not exist yet (names: 3-63 characters, a-z 0-9 . -). */
  bucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

let shared: Promise<{ server: S3Server; dir: string }> | undefined;

async function start(): Promise<{ server: S3Server; dir: string }> {
  // Loaded here, not at the top: test/preload.ts imports this file in every run, unit runs included.
  const { startS3Server } = await import("../../hack/s3/server.ts");
  const dir = await mkdtemp(join(tmpdir(), "scone-test-s3-"));
  // The data dir is the temp dir itself, so the watchdog removes all of it should this process die.
  const server = await startS3Server({ dataDir: dir, ownerPid: process.pid });
  return { server, dir };
}

export async function sharedS3(): Promise<SharedS3> {
  shared ??= start();
  const { server } = await shared;
  return {
    endpoint: server.endpoint,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    region: server.region,
    bucket: (name) => server.createBucket(name),
    stop: stopSharedS3,
  };
}

/** Stops the shared S3 server if one was started (test/preload.ts afterAll). */
export async function stopSharedS3(): Promise<void> {
  const started = shared;
  shared = undefined;
  const running = await started?.catch(() => undefined);
  if (!running) return;
  await running.server.stop();
  await rm(running.dir, { recursive: true, force: true });
}
