// BackupTarget on S3 (any S3-compatible server), through Bun's built-in client (Bun.S3Client, SigV4), path-style
// requests when an endpoint is given. A PUT is atomic in S3: an object is visible only once completely written.
import { BackupTargetError, messageOf } from "./errors.ts";
import { checkKey, joinKey, MAX_SNAPSHOT_FILE_BYTES, unsafeKeyReason } from "./layout.ts";
import type { S3Credentials } from "./s3-credentials.ts";
import type { BackupTarget } from "./target.ts";

function s3CodeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** Errors of the connection, not of S3: the message should name the endpoint. */
const NETWORK_CODES = new Set([
  "ConnectionRefused",
  "ConnectionClosed",
  "ConnectionReset",
  "FailedToOpenSocket",
  "UnableToConnect",
  "Timeout",
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
]);

export class S3Target implements BackupTarget {
  private readonly client: Bun.S3Client;

  constructor(
    readonly bucket: string,
    /** Key prefix without leading or trailing "/" ("" = bucket root). */
    readonly prefix: string,
    private readonly credentials: S3Credentials,
  ) {
    this.client = new Bun.S3Client({
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      sessionToken: credentials.sessionToken,
      region: credentials.region,
      endpoint: credentials.endpoint,
      bucket,
      virtualHostedStyle: false,
    });
  }

  get location(): string {
    return this.prefix === "" ? `s3://${this.bucket}` : `s3://${this.bucket}/${this.prefix}`;
  }

  locationOf(key: string): string {
    const k = this.objectKey(key);
    return k === "" ? `s3://${this.bucket}` : `s3://${this.bucket}/${k}`;
  }

  /**
   * The full object key of a key below the prefix, checked first: the client resolves "." and ".." segments like a
   * URL path, so `set/../../x` would read, write or delete an object outside the set.
   */
  private objectKey(key: string): string {
    return joinKey(this.prefix, checkKey(key));
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    const k = this.objectKey(key);
    await this.call("write", k, () => this.client.write(k, data, { type: "application/octet-stream" }));
  }

  async get(key: string, limit = MAX_SNAPSHOT_FILE_BYTES): Promise<Uint8Array | null> {
    const k = this.objectKey(key);
    if (limit <= 0) return (await this.call("read", k, () => this.client.file(k).exists())) ? new Uint8Array(0) : null;
    try {
      // A range request: an object larger than `limit` is never transferred whole.
      return await this.client.file(k).slice(0, limit).bytes();
    } catch (error) {
      const code = s3CodeOf(error);
      if (code === "NoSuchKey") return null;
      if (code === "InvalidRange") return new Uint8Array(0); // the object exists and is empty
      throw this.wrap("read", k, error);
    }
  }

  async list(prefix: string): Promise<string[]> {
    const base = this.objectKey(prefix);
    // A trailing "/" keeps "ns/cas-1" from matching "ns/cas-10/…".
    const query = base === "" ? "" : `${base}/`;
    const keys: string[] = [];
    let continuationToken: string | undefined;
    do {
      const page = await this.call("list", query, () =>
        this.client.list({ prefix: query, ...(continuationToken ? { continuationToken } : {}) }),
      );
      for (const entry of page.contents ?? []) {
        // Only keys the server was asked for, each safe to name again: a key holding ".." segments (which some
        // servers accept) or one outside the prefix is never returned, so never read or deleted.
        if (!entry.key.startsWith(query)) continue;
        const rel = this.prefix === "" ? entry.key : entry.key.slice(this.prefix.length + 1);
        if (unsafeKeyReason(rel) === undefined) keys.push(rel);
      }
      continuationToken = page.isTruncated ? page.nextContinuationToken : undefined;
    } while (continuationToken);
    return keys.sort();
  }

  async delete(key: string): Promise<void> {
    const k = this.objectKey(key);
    try {
      await this.client.delete(k);
    } catch (error) {
      if (s3CodeOf(error) === "NoSuchKey") return;
      throw this.wrap("delete", k, error);
    }
  }

  private async call<T>(op: string, key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw this.wrap(op, key, error);
    }
  }

  private wrap(op: string, key: string, error: unknown): BackupTargetError {
    const code = s3CodeOf(error);
    const where = `s3://${this.bucket}/${key}`;
    const endpoint = this.credentials.endpoint ?? `AWS S3 in ${this.credentials.region}`;
    const hint =
      code === "NoSuchBucket"
        ? ": create the bucket first or fix the bucket name"
        : code === "SignatureDoesNotMatch" || code === "InvalidAccessKeyId" || code === "AccessDenied"
          ? ` (credentials from ${this.credentials.origin})`
          : code !== undefined && NETWORK_CODES.has(code)
            ? ` (is ${endpoint} reachable? the endpoint comes from ${this.credentials.origin})`
            : "";
    const message = `S3 ${op} ${where} failed: ${code ? `${code}: ` : ""}${messageOf(error)}${hint}`;
    return new BackupTargetError(this.credentials.redact(message), code);
  }
}
