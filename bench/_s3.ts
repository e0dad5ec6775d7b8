// The S3 server of a bench (versitygw, hack/s3): started under the bench's temporary directory with one bucket, and
// the credentials a backup target needs to reach it. The bench stops it when done (and removes its directory).
import { join } from "node:path";
import { startS3Server } from "../hack/s3/server.ts";
import { type S3Credentials, s3CredentialsFromEnv } from "../src/backup/s3-credentials.ts";

export interface BenchS3 {
  readonly credentials: S3Credentials;
  stop(): Promise<void>;
}

/** An S3 server whose data lives in `root`/s3, with `bucket` created. */
export async function startBenchS3(root: string, bucket: string): Promise<BenchS3> {
  const server = await startS3Server({ dataDir: join(root, "s3"), ownerPid: process.pid });
  try {
    await server.createBucket(bucket);
  } catch (error) {
    await server.stop();
    throw error;
  }
  const credentials = s3CredentialsFromEnv({
    AWS_ACCESS_KEY_ID: server.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
    AWS_REGION: server.region,
    AWS_ENDPOINT_URL: server.endpoint,
  });
  return { credentials, stop: () => server.stop() };
}
