// Kubeconfig documents with everything embedded (no file references), so a copy keeps working anywhere.
import { chmod, writeFile } from "node:fs/promises";
import { stringify } from "yaml";

export type KubeconfigCredentials =
  | { readonly clientCertPem: string; readonly clientKeyPem: string }
  | { readonly token: string };

export interface KubeconfigSpec {
  readonly name: string;
  readonly server: string;
  readonly caPem: string;
  readonly credentials: KubeconfigCredentials;
  readonly namespace?: string;
}

const b64 = (text: string) => Buffer.from(text).toString("base64");

export function renderKubeconfig(spec: KubeconfigSpec): string {
  const user =
    "token" in spec.credentials
      ? { token: spec.credentials.token }
      : {
          "client-certificate-data": b64(spec.credentials.clientCertPem),
          "client-key-data": b64(spec.credentials.clientKeyPem),
        };
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      { name: "scone-local", cluster: { server: spec.server, "certificate-authority-data": b64(spec.caPem) } },
    ],
    users: [{ name: spec.name, user }],
    contexts: [
      {
        name: spec.name,
        context: { cluster: "scone-local", user: spec.name, ...(spec.namespace ? { namespace: spec.namespace } : {}) },
      },
    ],
    "current-context": spec.name,
    preferences: {},
  });
}

/** Kubeconfigs hold keys or tokens: owner-only. */
export async function writeKubeconfig(path: string, spec: KubeconfigSpec): Promise<void> {
  await writeFile(path, renderKubeconfig(spec), { mode: 0o600 });
  await chmod(path, 0o600);
}
