// S3 credentials from the environment (AWS_* variables) or from a Kubernetes Secret (keys accessKeyId,
// secretAccessKey, endpoint, region, bucket). The secret parts never appear in logs, JSON, inspect output or
// error messages: they live in private fields, and errors name the variable or key, never a value.
import type { V1Secret } from "@kubernetes/client-node";
import type { KubeClient } from "../kube/client.ts";
import { S3CredentialsError } from "./errors.ts";

export interface S3CredentialFields {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  region?: string;
  endpoint?: string;
  bucket?: string;
}

const DEFAULT_REGION = "us-east-1";
const REDACTED = "[redacted]";

export class S3Credentials {
  readonly #secretAccessKey: string;
  readonly #sessionToken: string | undefined;
  readonly accessKeyId: string;
  readonly region: string;
  /** e.g. http://127.0.0.1:9000 or https://s3.example.com; undefined = AWS itself. */
  readonly endpoint: string | undefined;
  /** Bucket named by the Secret, if any (s3:// URLs name their own). */
  readonly bucket: string | undefined;
  /** Where they came from, for messages: "environment" or "Secret ns/name". */
  readonly origin: string;

  constructor(fields: S3CredentialFields, origin: string) {
    this.#secretAccessKey = fields.secretAccessKey;
    this.#sessionToken = fields.sessionToken;
    this.accessKeyId = fields.accessKeyId;
    this.region = fields.region ?? DEFAULT_REGION;
    this.endpoint = fields.endpoint;
    this.bucket = fields.bucket;
    this.origin = origin;
  }

  get secretAccessKey(): string {
    return this.#secretAccessKey;
  }

  get sessionToken(): string | undefined {
    return this.#sessionToken;
  }

  /** Replaces every secret part (and the access key id) found in `text`. */
  redact(text: string): string {
    let out = text;
    for (const value of [this.#secretAccessKey, this.#sessionToken, this.accessKeyId]) {
      if (value && value.length >= 4) out = out.split(value).join(REDACTED);
    }
    return out;
  }

  toJSON(): Record<string, string | undefined> {
    return { origin: this.origin, region: this.region, endpoint: this.endpoint, bucket: this.bucket };
  }

  toString(): string {
    return `S3Credentials(${this.origin})`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

type Env = Record<string, string | undefined>;

function nonEmpty(value: string | undefined): string | undefined {
  const v = value?.trim();
  return v ? v : undefined;
}

function checkEndpoint(endpoint: string | undefined, where: string): string | undefined {
  if (endpoint === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new S3CredentialsError(`${where} is not a URL: give e.g. https://s3.example.com or http://127.0.0.1:9000`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new S3CredentialsError(`${where} must be an http:// or https:// URL`);
  }
  if (url.username || url.password) {
    throw new S3CredentialsError(`${where} must not carry credentials; use the access key variables instead`);
  }
  return endpoint.replace(/\/+$/, "");
}

/**
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN), AWS_REGION or AWS_DEFAULT_REGION, and the
 * endpoint from AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL or S3_ENDPOINT.
 */
export function s3CredentialsFromEnv(env: Env = process.env): S3Credentials {
  const accessKeyId = nonEmpty(env.AWS_ACCESS_KEY_ID);
  const secretAccessKey = nonEmpty(env.AWS_SECRET_ACCESS_KEY);
  const missing = [
    accessKeyId ? undefined : "AWS_ACCESS_KEY_ID",
    secretAccessKey ? undefined : "AWS_SECRET_ACCESS_KEY",
  ].filter((v) => v !== undefined);
  if (!accessKeyId || !secretAccessKey) {
    throw new S3CredentialsError(
      `S3 credentials missing: ${missing.join(" and ")} not set; export them, or name a Kubernetes Secret ` +
        "with keys accessKeyId and secretAccessKey",
    );
  }
  const endpointVar = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "S3_ENDPOINT"].find((v) => nonEmpty(env[v]));
  return new S3Credentials(
    {
      accessKeyId,
      secretAccessKey,
      sessionToken: nonEmpty(env.AWS_SESSION_TOKEN),
      region: nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION),
      endpoint: endpointVar ? checkEndpoint(nonEmpty(env[endpointVar]), endpointVar) : undefined,
    },
    "environment",
  );
}

/** The Secret keys read (the layout of the Scone resource's spec.backup.s3Creds.secret). */
export const SECRET_KEYS = ["accessKeyId", "secretAccessKey", "endpoint", "region", "bucket"] as const;

/** Credentials from a Secret's data (base64 values, as the API server returns them). */
export function s3CredentialsFromSecret(secret: V1Secret): S3Credentials {
  const ref = `Secret ${secret.metadata?.namespace ?? ""}/${secret.metadata?.name ?? ""}`;
  const data = secret.data ?? {};
  const read = (key: string): string | undefined => {
    const encoded = data[key];
    return encoded === undefined ? undefined : nonEmpty(Buffer.from(encoded, "base64").toString("utf8"));
  };
  const accessKeyId = read("accessKeyId");
  const secretAccessKey = read("secretAccessKey");
  if (!accessKeyId || !secretAccessKey) {
    const missing = [accessKeyId ? undefined : "accessKeyId", secretAccessKey ? undefined : "secretAccessKey"];
    throw new S3CredentialsError(
      `${ref} lacks ${missing.filter((m) => m).join(" and ")}: add the key(s) (see the keys ${SECRET_KEYS.join(", ")})`,
    );
  }
  return new S3Credentials(
    {
      accessKeyId,
      secretAccessKey,
      region: read("region"),
      endpoint: checkEndpoint(read("endpoint"), `${ref} key endpoint`),
      bucket: read("bucket"),
    },
    ref,
  );
}

/** Reads the Secret through the cluster; a missing Secret is an error naming it. */
export async function s3CredentialsFromKubeSecret(
  kube: Pick<KubeClient, "tryGet">,
  ref: { namespace: string; name: string },
): Promise<S3Credentials> {
  const secret = await kube.tryGet<V1Secret>({ apiVersion: "v1", kind: "Secret", ...ref });
  if (!secret) {
    throw new S3CredentialsError(
      `Secret ${ref.namespace}/${ref.name} not found: create it with keys accessKeyId, secretAccessKey (and endpoint, region, bucket)`,
    );
  }
  return s3CredentialsFromSecret(secret);
}
