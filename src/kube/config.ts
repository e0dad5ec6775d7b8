// Kubeconfig and in-cluster configuration → one ClusterConnection. Loading order (controller-runtime's):
// --kubeconfig path, then KUBECONFIG (merged the kubectl way), then in-cluster, then ~/.kube/config.
// Parsing and merging are pure; only loadKubeConfig touches the file system and the environment.
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { type CredentialProvider, type ExecConfig, execCredential, staticToken, tokenFile } from "./credentials.ts";

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

// ---- parsed kubeconfig (paths already resolved against the file that named them) ----

export interface KubeCluster {
  server: string;
  certificateAuthority?: string;
  certificateAuthorityData?: string;
  insecureSkipTlsVerify: boolean;
  tlsServerName?: string;
  proxyUrl?: string;
}

export interface KubeUser {
  clientCertificate?: string;
  clientCertificateData?: string;
  clientKey?: string;
  clientKeyData?: string;
  token?: string;
  tokenFile?: string;
  username?: string;
  password?: string;
  exec?: ExecConfig;
  authProvider?: string;
}

export interface KubeContext {
  cluster: string;
  user: string;
  namespace?: string;
}

export interface KubeConfig {
  clusters: Map<string, KubeCluster>;
  users: Map<string, KubeUser>;
  contexts: Map<string, KubeContext>;
  currentContext?: string;
  /** Files that contributed, in precedence order. */
  sources: string[];
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

class FieldReader {
  constructor(
    readonly source: string,
    readonly where: string,
    readonly obj: Obj,
  ) {}
  str(key: string): string | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null || v === "") return undefined;
    if (typeof v !== "string") throw this.fail(key, "must be a string");
    return v;
  }
  bool(key: string): boolean {
    const v = this.obj[key];
    if (v === undefined || v === null) return false;
    if (typeof v !== "boolean") throw this.fail(key, "must be true or false");
    return v;
  }
  fail(key: string, what: string): Error {
    return new Error(`kubeconfig ${this.source}: ${this.where}.${key} ${what}`);
  }
}

function resolvePath(path: string | undefined, baseDir: string): string | undefined {
  if (path === undefined) return undefined;
  if (path.startsWith("~/")) return join(homedir(), path.slice(2));
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

function namedEntries(doc: Obj, listKey: string, itemKey: string, source: string): [string, FieldReader][] {
  const list = doc[listKey];
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new Error(`kubeconfig ${source}: ${listKey} must be a list`);
  return list.map((entry, i) => {
    if (!isObj(entry) || typeof entry.name !== "string" || entry.name === "") {
      throw new Error(`kubeconfig ${source}: ${listKey}[${i}].name must be a non-empty string`);
    }
    const body = entry[itemKey] ?? {};
    if (!isObj(body)) throw new Error(`kubeconfig ${source}: ${listKey}[${i}].${itemKey} must be a mapping`);
    return [entry.name, new FieldReader(source, `${listKey}[${entry.name}].${itemKey}`, body)];
  });
}

function parseExec(r: FieldReader, baseDir: string): ExecConfig | undefined {
  const raw = r.obj.exec;
  if (raw === undefined || raw === null) return undefined;
  if (!isObj(raw)) throw r.fail("exec", "must be a mapping");
  const e = new FieldReader(r.source, `${r.where}.exec`, raw);
  const command = e.str("command");
  if (!command) throw e.fail("command", "is required");
  const apiVersion = e.str("apiVersion");
  if (!apiVersion) throw e.fail("apiVersion", "is required (client.authentication.k8s.io/v1)");
  const args = raw.args ?? [];
  if (!Array.isArray(args) || !args.every((a) => typeof a === "string"))
    throw e.fail("args", "must be a list of strings");
  const envList = raw.env ?? [];
  if (!Array.isArray(envList)) throw e.fail("env", "must be a list of {name, value}");
  const env = envList.map((item, i) => {
    if (!isObj(item) || typeof item.name !== "string" || typeof item.value !== "string") {
      throw e.fail(`env[${i}]`, "must have string name and value");
    }
    return { name: item.name, value: item.value };
  });
  const mode = e.str("interactiveMode") ?? "IfAvailable";
  if (mode !== "Never" && mode !== "IfAvailable" && mode !== "Always") {
    throw e.fail("interactiveMode", `is ${mode}; use Never, IfAvailable or Always`);
  }
  // client-go: a command containing a path separator is relative to the kubeconfig file; a bare name uses PATH.
  const resolvedCommand = command.includes("/") ? (resolvePath(command, baseDir) ?? command) : command;
  return {
    apiVersion,
    command: resolvedCommand,
    args: args as string[],
    env,
    interactiveMode: mode,
    provideClusterInfo: e.bool("provideClusterInfo"),
    installHint: e.str("installHint"),
  };
}

/** Parses one kubeconfig document (YAML or JSON). `source` is its path: relative paths resolve against it. */
export async function parseKubeConfig(text: string, source: string): Promise<KubeConfig> {
  const { parse } = await import("yaml");
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new Error(`kubeconfig ${source}: not valid YAML: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) doc = {};
  if (!isObj(doc)) throw new Error(`kubeconfig ${source}: top level must be a mapping`);
  const baseDir = dirname(resolve(source));
  const config: KubeConfig = { clusters: new Map(), users: new Map(), contexts: new Map(), sources: [source] };

  for (const [name, r] of namedEntries(doc, "clusters", "cluster", source)) {
    const server = r.str("server");
    if (!server) throw r.fail("server", "is required (https://host:port of the API server)");
    config.clusters.set(name, {
      server: server.replace(/\/+$/, ""),
      certificateAuthority: resolvePath(r.str("certificate-authority"), baseDir),
      certificateAuthorityData: r.str("certificate-authority-data"),
      insecureSkipTlsVerify: r.bool("insecure-skip-tls-verify"),
      tlsServerName: r.str("tls-server-name"),
      proxyUrl: r.str("proxy-url"),
    });
  }
  for (const [name, r] of namedEntries(doc, "users", "user", source)) {
    const authProvider = r.obj["auth-provider"];
    config.users.set(name, {
      clientCertificate: resolvePath(r.str("client-certificate"), baseDir),
      clientCertificateData: r.str("client-certificate-data"),
      clientKey: resolvePath(r.str("client-key"), baseDir),
      clientKeyData: r.str("client-key-data"),
      token: r.str("token"),
      tokenFile: resolvePath(r.str("tokenFile"), baseDir),
      username: r.str("username"),
      password: r.str("password"),
      exec: parseExec(r, baseDir),
      authProvider: isObj(authProvider) && typeof authProvider.name === "string" ? authProvider.name : undefined,
    });
  }
  for (const [name, r] of namedEntries(doc, "contexts", "context", source)) {
    const cluster = r.str("cluster");
    const user = r.str("user");
    if (!cluster) throw r.fail("cluster", "is required");
    config.contexts.set(name, { cluster, user: user ?? "", namespace: r.str("namespace") });
  }
  const current = doc["current-context"];
  if (typeof current === "string" && current !== "") config.currentContext = current;
  return config;
}

/**
 * Merges kubeconfigs in KUBECONFIG order the kubectl way: for clusters, users and contexts the first file that
 * defines a name wins, and the first file that sets current-context wins.
 */
export function mergeKubeConfigs(configs: KubeConfig[]): KubeConfig {
  const merged: KubeConfig = { clusters: new Map(), users: new Map(), contexts: new Map(), sources: [] };
  for (const c of configs) {
    for (const [k, v] of c.clusters) if (!merged.clusters.has(k)) merged.clusters.set(k, v);
    for (const [k, v] of c.users) if (!merged.users.has(k)) merged.users.set(k, v);
    for (const [k, v] of c.contexts) if (!merged.contexts.has(k)) merged.contexts.set(k, v);
    merged.currentContext ??= c.currentContext;
    merged.sources.push(...c.sources);
  }
  return merged;
}

export interface SelectedContext {
  contextName: string;
  cluster: KubeCluster;
  user: KubeUser;
  namespace: string;
}

/** Picks the context named by --context, else current-context; errors name what exists and how to fix it. */
export function selectContext(config: KubeConfig, contextName?: string): SelectedContext {
  const where = config.sources.join(":") || "(no kubeconfig files)";
  const name = contextName ?? config.currentContext;
  const known = [...config.contexts.keys()];
  if (!name) {
    throw new Error(
      `kubeconfig ${where}: no current-context set; pass --context (one of: ${known.join(", ") || "none defined"})`,
    );
  }
  const ctx = config.contexts.get(name);
  if (!ctx) {
    throw new Error(`kubeconfig ${where}: context "${name}" not found; known contexts: ${known.join(", ") || "none"}`);
  }
  const cluster = config.clusters.get(ctx.cluster);
  if (!cluster)
    throw new Error(`kubeconfig ${where}: context "${name}" names cluster "${ctx.cluster}", which is not defined`);
  const user = ctx.user === "" ? {} : config.users.get(ctx.user);
  if (!user) throw new Error(`kubeconfig ${where}: context "${name}" names user "${ctx.user}", which is not defined`);
  return { contextName: name, cluster, user, namespace: ctx.namespace ?? "default" };
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
