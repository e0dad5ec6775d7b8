// S3Target without a server: keys and locations, and what an unreachable endpoint's error says.
import { describe, expect, test } from "bun:test";
import { createServer } from "node:net";
import { BackupTargetError } from "../../../src/backup/errors.ts";
import { S3Credentials } from "../../../src/backup/s3-credentials.ts";
import { S3Target } from "../../../src/backup/s3-target.ts";

const SECRET = "very-secret-access-key-42";

/** A loopback port nobody listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}

describe("S3 target", () => {
  test("locations name bucket and full key; the prefix is applied once", () => {
    const creds = new S3Credentials({ accessKeyId: "AKIDEXAMPLE1", secretAccessKey: SECRET }, "environment");
    const target = new S3Target("cas-backups", "eu/prod", creds);
    expect(target.location).toBe("s3://cas-backups/eu/prod");
    expect(target.locationOf("ns/cas/bk-1")).toBe("s3://cas-backups/eu/prod/ns/cas/bk-1");
    expect(new S3Target("cas-backups", "", creds).locationOf("")).toBe("s3://cas-backups");
  });

  test("an unreachable endpoint is named in the error, the credentials are not", async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const creds = new S3Credentials({ accessKeyId: "AKIDEXAMPLE1", secretAccessKey: SECRET, endpoint }, "environment");
    const error = await new S3Target("cas-backups", "p", creds).put("x", new Uint8Array([1])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackupTargetError);
    const message = (error as Error).message;
    expect(message).toStartWith("S3 write s3://cas-backups/p/x failed: ");
    expect(message).toContain(`(is ${endpoint} reachable? the endpoint comes from environment)`);
    expect(message).not.toContain(SECRET);
    expect(message).not.toContain("AKIDEXAMPLE1");
  });
});
