// The pull secrets: the same .dockerconfigjson `kubectl create secret docker-registry` writes, and an annotation
// that changes with the token without revealing it.
import { describe, expect, test } from "bun:test";
import {
  AUTH_HASH_ANNOTATION,
  dockerConfigJson,
  registryAuthHash,
  renderPullSecrets,
} from "../../../../src/flows/install/pull-secrets.ts";

const creds = { registry: "registry.scontain.com", username: "alice", accessToken: "s3cr3t-token", email: "a@x" };

describe("pull secrets", () => {
  test("scone-operator-pull and sconeapps of type dockerconfigjson in the operator namespace", () => {
    const secrets = renderPullSecrets("scone-system", creds, { l: "v" });
    expect(secrets.map((s) => [s.metadata?.name, s.metadata?.namespace, s.type])).toEqual([
      ["scone-operator-pull", "scone-system", "kubernetes.io/dockerconfigjson"],
      ["sconeapps", "scone-system", "kubernetes.io/dockerconfigjson"],
    ]);
    const doc = JSON.parse(Buffer.from(secrets[0]?.data?.[".dockerconfigjson"] ?? "", "base64").toString());
    expect(doc).toEqual(JSON.parse(dockerConfigJson(creds)));
    expect(doc.auths["registry.scontain.com"]).toEqual({
      username: "alice",
      password: "s3cr3t-token",
      email: "a@x",
      auth: Buffer.from("alice:s3cr3t-token").toString("base64"),
    });
  });

  test("the annotation is a hash that follows the token and never contains it", () => {
    const [secret] = renderPullSecrets("ns", creds, {});
    const annotation = secret?.metadata?.annotations?.[AUTH_HASH_ANNOTATION] ?? "";
    expect(annotation).toMatch(/^[0-9a-f]{64}$/);
    expect(annotation).toBe(registryAuthHash(creds));
    expect(registryAuthHash({ ...creds, accessToken: "other" })).not.toBe(annotation);
    expect(JSON.stringify(secret?.metadata)).not.toContain("s3cr3t-token");
  });
});
