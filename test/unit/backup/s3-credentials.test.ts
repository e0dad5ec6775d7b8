import { describe, expect, test } from "bun:test";
import type { V1Secret } from "@kubernetes/client-node";
import { S3CredentialsError } from "../../../src/backup/errors.ts";
import {
  S3Credentials,
  s3CredentialsFromEnv,
  s3CredentialsFromKubeSecret,
  s3CredentialsFromSecret,
} from "../../../src/backup/s3-credentials.ts";

const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const KEY_ID = "AKIAIOSFODNN7EXAMPLE";

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    if (error instanceof Error) return error;
  }
  throw new Error("did not throw");
}

function secret(data: Record<string, string>): V1Secret {
  const encoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")]));
  return { apiVersion: "v1", kind: "Secret", metadata: { namespace: "scone-system", name: "s3" }, data: encoded };
}

describe("S3 credentials", () => {
  test("from the environment: keys, session token, region and endpoint by precedence", () => {
    const creds = s3CredentialsFromEnv({
      AWS_ACCESS_KEY_ID: KEY_ID,
      AWS_SECRET_ACCESS_KEY: SECRET,
      AWS_SESSION_TOKEN: "session-token-value",
      AWS_DEFAULT_REGION: "eu-central-1",
      AWS_ENDPOINT_URL: "http://127.0.0.1:9000/",
      S3_ENDPOINT: "http://ignored:1",
    });
    expect(creds.accessKeyId).toBe(KEY_ID);
    expect(creds.secretAccessKey).toBe(SECRET);
    expect(creds.sessionToken).toBe("session-token-value");
    expect(creds.region).toBe("eu-central-1");
    expect(creds.endpoint).toBe("http://127.0.0.1:9000");
    expect(creds.origin).toBe("environment");
    const minimal = s3CredentialsFromEnv({
      AWS_ACCESS_KEY_ID: KEY_ID,
      AWS_SECRET_ACCESS_KEY: SECRET,
      S3_ENDPOINT: "https://s3.example",
    });
    expect(minimal.region).toBe("us-east-1");
    expect(minimal.endpoint).toBe("https://s3.example");
  });

  test("missing variables are named, values never shown", () => {
    const error = thrown(() => s3CredentialsFromEnv({ AWS_ACCESS_KEY_ID: KEY_ID }));
    expect(error).toBeInstanceOf(S3CredentialsError);
    expect(error.message).toContain("AWS_SECRET_ACCESS_KEY not set");
    expect(error.message).not.toContain(KEY_ID);
    const both = thrown(() => s3CredentialsFromEnv({ AWS_SECRET_ACCESS_KEY: SECRET }));
    expect(both.message).toContain("AWS_ACCESS_KEY_ID not set");
    expect(both.message).not.toContain(SECRET);
    const badEndpoint = thrown(() =>
      s3CredentialsFromEnv({ AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET, AWS_ENDPOINT_URL: "not a url" }),
    );
    expect(badEndpoint.message).toContain("AWS_ENDPOINT_URL is not a URL");
    const userInfo = thrown(() =>
      s3CredentialsFromEnv({
        AWS_ACCESS_KEY_ID: KEY_ID,
        AWS_SECRET_ACCESS_KEY: SECRET,
        S3_ENDPOINT: "http://user:urlsecret99@host",
      }),
    );
    expect(userInfo.message).toContain("S3_ENDPOINT must not carry credentials");
    expect(userInfo.message).not.toContain("urlsecret99");
  });

  test("from a Secret's data (base64), with endpoint, region and bucket", () => {
    const creds = s3CredentialsFromSecret(
      secret({
        accessKeyId: KEY_ID,
        secretAccessKey: SECRET,
        endpoint: "https://minio.example:9000",
        region: "eu-west-1",
        bucket: "cas-backups",
      }),
    );
    expect(creds.secretAccessKey).toBe(SECRET);
    expect(creds).toMatchObject({
      accessKeyId: KEY_ID,
      region: "eu-west-1",
      endpoint: "https://minio.example:9000",
      bucket: "cas-backups",
      origin: "Secret scone-system/s3",
    });
    const error = thrown(() => s3CredentialsFromSecret(secret({ accessKeyId: KEY_ID })));
    expect(error.message).toBe(
      "Secret scone-system/s3 lacks secretAccessKey: add the key(s) (see the keys accessKeyId, secretAccessKey, endpoint, region, bucket)",
    );
  });

  test("a missing Secret is named", async () => {
    const kube = { tryGet: async () => undefined };
    const error = await s3CredentialsFromKubeSecret(kube as never, { namespace: "ns", name: "gone" }).catch((e) => e);
    expect(error).toBeInstanceOf(S3CredentialsError);
    expect((error as Error).message).toStartWith("Secret ns/gone not found");
    const found = { tryGet: async () => secret({ accessKeyId: KEY_ID, secretAccessKey: SECRET }) };
    const creds = await s3CredentialsFromKubeSecret(found as never, { namespace: "ns", name: "s3" });
    expect(creds.secretAccessKey).toBe(SECRET);
  });

  test("secrets stay out of JSON, inspect, string forms and redacted messages", () => {
    const creds = new S3Credentials(
      { accessKeyId: KEY_ID, secretAccessKey: SECRET, sessionToken: "tok-123456", endpoint: "http://h:1" },
      "environment",
    );
    for (const shown of [JSON.stringify(creds), Bun.inspect(creds), String(creds), JSON.stringify({ creds })]) {
      expect(shown).not.toContain(SECRET);
      expect(shown).not.toContain("tok-123456");
      expect(shown).not.toContain(KEY_ID);
    }
    expect(Object.keys(creds)).not.toContain("secretAccessKey");
    expect(creds.redact(`failed for ${KEY_ID} with ${SECRET} and tok-123456`)).toBe(
      "failed for [redacted] with [redacted] and [redacted]",
    );
  });
});
