// The test suite's real S3 server (versitygw, hack/s3): one per `bun test` process, started lazily by the first
// caller on a free loopback port with a temporary data directory, stopped by test/preload.ts after every file
// has run. A watchdog stops it should this process die without that (SIGKILL).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ProcessRecord } from "../../hack/cluster/process.ts";
import type { S3Server } from "../../hack/s3/server.ts";

/** endpoint is http://127.0.0.1:PORT; use path-style requests. */
export interface SharedS3 extends Pick<S3Server, "endpoint" | "accessKeyId" | "secretAccessKey" | "region"> {
  /** Creates the bucket if it does not exist yet (names: 3-63 characters, a-z 0-9 . -). */
  bucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

interface Running {
  readonly server: S3Server;
  readonly dir: string;
  /** The server process, told apart from a later process that reuses its pid. */
  readonly process: ProcessRecord;
}

let shared: Promise<Running> | undefined;

async function start(): Promise<Running> {
  // Loaded here, not at the top: test/preload.ts imports this file in every run, unit runs included.
  const { startS3Server } = await import("../../hack/s3/server.ts");
  const { recordOf } = await import("../../hack/cluster/process.ts");
  const dir = await mkdtemp(join(tmpdir(), "scone-test-s3-"));
  // The data dir is the temp dir itself, so the watchdog removes all of it should this process die.
  const server = await startS3Server({ dataDir: dir, ownerPid: process.pid }).catch(async (error: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw error;
  });
  return { server, dir, process: recordOf(server.pid) };
}

async function stopAndRemove(running: Running): Promise<void> {
  await running.server.stop();
  await rm(running.dir, { recursive: true, force: true });
}

/**
 * The process-wide S3 server (memoized). A server that died since the last call is replaced by a new one (new
 * endpoint, keys and data): bun kills the child processes of a test or hook that times out, and one timeout must
 * not fail every later file. Callers create their buckets after this call, so they find them on the new server.
 */
export async function sharedS3(): Promise<SharedS3> {
  const { isRunning } = await import("../../hack/cluster/process.ts");
  // A failed start is not memoized, and a caller that was waiting for it tries once more itself.
  for (let attempt = 1; ; attempt++) {
    shared ??= start();
    const pending = shared;
    let running: Running;
    try {
      running = await pending;
    } catch (error) {
      if (shared === pending) shared = undefined;
      if (attempt >= 3) throw error;
      continue;
    }
    const { server } = running;
    if (!isRunning(running.process)) {
      if (shared === pending) shared = undefined;
      await stopAndRemove(running);
      if (attempt >= 3) throw new Error(`the S3 server (pid ${server.pid}) exited again right after its start`);
      continue;
    }
    return {
      endpoint: server.endpoint,
      accessKeyId: server.accessKeyId,
      secretAccessKey: server.secretAccessKey,
      region: server.region,
      bucket: (name) => server.createBucket(name),
      stop: stopSharedS3,
    };
  }
}

/** Stops the shared S3 server if one was started (test/preload.ts afterAll). */
export async function stopSharedS3(): Promise<void> {
  const started = shared;
  shared = undefined;
  const running = await started?.catch(() => undefined);
  if (running) await stopAndRemove(running);
}
