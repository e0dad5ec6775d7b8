// Kubeconfig and in-cluster configuration → one ClusterConnection. Loading order (controller-runtime's):
// --kubeconfig path, then KUBECONFIG (merged the kubectl way), then in-cluster, then ~/.kube/config.
// Parsing and merging live in kubeconfig.ts (pure); this module reads files and the environment.
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { type CredentialProvider, execCredential, staticToken, tokenFile } from "./credentials.ts";
import {
  type KubeConfig,
  mergeKubeConfigs,
  parseKubeConfig,
  type SelectedContext,
  selectContext,
} from "./kubeconfig.ts";

export { mergeKubeConfigs, parseKubeConfig, selectContext } from "./kubeconfig.ts";

export interface ClusterConnection {
  /** https://host:port of the API server, without trailing slash. */
  server: string;
  caPem?: string;
  insecureSkipTlsVerify: boolean;
  tlsServerName?: string;
  clientCertPem?: string;
  clientKeyPem?: string;
  credentials?: CredentialProvider;
  basicAuth?: { username: string; password: string };
  proxyUrl?: string;
  /** Namespace of the selected context (or of the service account in-cluster); "default" otherwise. */
  namespace: string;
  /** Where this came from, for messages: "kubeconfig <path> context <name>" or "in-cluster". */
  source: string;
}

function decodeBase64(data: string, what: string): string {
  const clean = data.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) throw new Error(`kubeconfig ${what} is not valid base64`);
  return Buffer.from(clean, "base64").toString("utf8");
}

async function readPem(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    throw new Error(
      `kubeconfig ${what}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

/** Turns a selected context into a connection: reads CA/cert/key files and sets up token sources. */
export async function connectionFromContext(
  selected: SelectedContext,
  source: string,
  options: { namespace?: string } = {},
): Promise<ClusterConnection> {
  const { cluster, user, contextName } = selected;
  const label = `context ${contextName}`;
  if (user.authProvider) {
    throw new Error(
      `kubeconfig ${label}: auth-provider "${user.authProvider}" is not supported; use an exec credential plugin instead`,
    );
  }
  const conn: ClusterConnection = {
    server: cluster.server,
    insecureSkipTlsVerify: cluster.insecureSkipTlsVerify,
    tlsServerName: cluster.tlsServerName,
    proxyUrl: cluster.proxyUrl,
    namespace: options.namespace ?? selected.namespace,
    source: `${source} ${label}`,
  };
  if (cluster.certificateAuthorityData)
    conn.caPem = decodeBase64(cluster.certificateAuthorityData, `${label} certificate-authority-data`);
  else if (cluster.certificateAuthority)
    conn.caPem = await readPem(cluster.certificateAuthority, `${label} certificate-authority`);

  if (user.clientCertificateData)
    conn.clientCertPem = decodeBase64(user.clientCertificateData, `${label} client-certificate-data`);
  else if (user.clientCertificate)
    conn.clientCertPem = await readPem(user.clientCertificate, `${label} client-certificate`);
  if (user.clientKeyData) conn.clientKeyPem = decodeBase64(user.clientKeyData, `${label} client-key-data`);
  else if (user.clientKey) conn.clientKeyPem = await readPem(user.clientKey, `${label} client-key`);
  if (Boolean(conn.clientCertPem) !== Boolean(conn.clientKeyPem)) {
    throw new Error(`kubeconfig ${label}: set both client-certificate(-data) and client-key(-data), or neither`);
  }

  if (user.token) conn.credentials = staticToken(user.token);
  else if (user.tokenFile) conn.credentials = tokenFile(user.tokenFile);
  else if (user.exec) {
    conn.credentials = execCredential(user.exec, {
      server: cluster.server,
      "certificate-authority-data": conn.caPem ? Buffer.from(conn.caPem).toString("base64") : undefined,
      "insecure-skip-tls-verify": cluster.insecureSkipTlsVerify || undefined,
      "tls-server-name": cluster.tlsServerName,
    });
  } else if (user.username !== undefined && user.password !== undefined) {
    conn.basicAuth = { username: user.username, password: user.password };
  }
  return conn;
}

// ---- in-cluster ----

export interface InClusterPaths {
  tokenPath: string;
  caPath: string;
  namespacePath: string;
}

export const DEFAULT_IN_CLUSTER_PATHS: InClusterPaths = {
  tokenPath: "/var/run/secrets/kubernetes.io/serviceaccount/token",
  caPath: "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
  namespacePath: "/var/run/secrets/kubernetes.io/serviceaccount/namespace",
};

export async function inClusterConnection(
  env: Record<string, string | undefined>,
  paths: InClusterPaths = DEFAULT_IN_CLUSTER_PATHS,
  options: { namespace?: string } = {},
): Promise<ClusterConnection> {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) throw new Error("not running in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set");
  const caPem = await readFile(paths.caPath, "utf8").catch((err: NodeJS.ErrnoException) => {
    throw new Error(`in-cluster config: cannot read CA ${paths.caPath}: ${err.code ?? err.message}`);
  });
  const credentials = tokenFile(paths.tokenPath);
  await credentials.get(); // fail now, with the path in the message, rather than on the first request
  const ns = options.namespace ?? (await readFile(paths.namespacePath, "utf8").catch(() => "default")).trim();
  const hostPart = host.includes(":") ? `[${host}]` : host; // IPv6 service IPs
  return {
    server: `https://${hostPart}:${port}`,
    caPem,
    insecureSkipTlsVerify: false,
    credentials,
    namespace: ns || "default",
    source: "in-cluster",
  };
}

// ---- the loader ----

export interface LoadOptions {
  /** --kubeconfig: use only this file. */
  kubeconfig?: string;
  /** --context */
  context?: string;
  /** --namespace: overrides the context's namespace. */
  namespace?: string;
  env?: Record<string, string | undefined>;
  homeDir?: string;
  inClusterPaths?: InClusterPaths;
}

/** The kubeconfig files that would be read, in precedence order (pure). */
export function kubeconfigPaths(options: LoadOptions): { paths: string[]; explicit: boolean } {
  if (options.kubeconfig) return { paths: [options.kubeconfig], explicit: true };
  const env = options.env ?? process.env;
  const list = (env.KUBECONFIG ?? "").split(":").filter((p) => p !== "");
  if (list.length > 0) return { paths: [...new Set(list)], explicit: true };
  return { paths: [join(options.homeDir ?? homedir(), ".kube", "config")], explicit: false };
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`kubeconfig ${path}: ${(err as Error).message}`);
  }
}

export async function loadKubeConfig(options: LoadOptions = {}): Promise<ClusterConnection> {
  const env = options.env ?? process.env;
  if (options.kubeconfig) {
    const text = await readIfExists(options.kubeconfig);
    if (text === undefined) throw new Error(`kubeconfig ${options.kubeconfig} does not exist (from --kubeconfig)`);
    const config = await parseKubeConfig(text, options.kubeconfig);
    return connectionFromContext(selectContext(config, options.context), options.kubeconfig, options);
  }
  const { paths, explicit } = kubeconfigPaths(options);
  if (!explicit && env.KUBERNETES_SERVICE_HOST && !options.context) {
    return inClusterConnection(env, options.inClusterPaths, options);
  }
  const configs: KubeConfig[] = [];
  for (const path of paths) {
    // kubectl skips KUBECONFIG entries that do not exist.
    const text = await readIfExists(path);
    if (text !== undefined) configs.push(await parseKubeConfig(text, path));
  }
  if (configs.length === 0) {
    throw new Error(
      `no kubeconfig found (looked at ${paths.join(", ")}); pass --kubeconfig, set KUBECONFIG, or run inside a cluster`,
    );
  }
  const merged = mergeKubeConfigs(configs);
  return connectionFromContext(selectContext(merged, options.context), merged.sources.join(":"), options);
}
