// The image pull secrets upstream's installer creates with `kubectl create secret docker-registry`:
// scone-operator-pull (operator, LAS, SGX plugin) and sconeapps (CAS and applications). Pure rendering; the token
// is only inside `data`, and the annotation holds a hash of the credentials so a changed token is noticed
// without reading or printing the old one.
import type { V1Secret } from "@kubernetes/client-node";
import { OPERATOR_PULL_SECRET } from "../../install/names.ts";
import type { RegistryCredentials } from "./options.ts";

export const APPS_PULL_SECRET = "sconeapps";
export const PULL_SECRET_NAMES = [OPERATOR_PULL_SECRET, APPS_PULL_SECRET] as const;
/** sha256 over registry, user, token and e-mail: equal means the secret holds these credentials. */
export const AUTH_HASH_ANNOTATION = "scone.cloud/registry-auth-hash";

export function registryAuthHash(c: RegistryCredentials): string {
  return new Bun.CryptoHasher("sha256")
    .update(JSON.stringify([c.registry, c.username, c.accessToken, c.email]))
    .digest("hex");
}

/** The .dockerconfigjson document, as `kubectl create secret docker-registry` writes it. */
export function dockerConfigJson(c: RegistryCredentials): string {
  const auth = Buffer.from(`${c.username}:${c.accessToken}`).toString("base64");
  return JSON.stringify({
    auths: { [c.registry]: { username: c.username, password: c.accessToken, email: c.email, auth } },
  });
}

export function renderPullSecrets(
  namespace: string,
  credentials: RegistryCredentials,
  labels: Readonly<Record<string, string>>,
): V1Secret[] {
  const data = { ".dockerconfigjson": Buffer.from(dockerConfigJson(credentials)).toString("base64") };
  const hash = registryAuthHash(credentials);
  return PULL_SECRET_NAMES.map((name) => ({
    apiVersion: "v1",
    kind: "Secret",
    type: "kubernetes.io/dockerconfigjson",
    metadata: { name, namespace, labels: { ...labels }, annotations: { [AUTH_HASH_ANNOTATION]: hash } },
    data: { ...data },
  }));
}
