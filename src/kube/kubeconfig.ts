// Kubeconfig documents: parse (YAML or JSON, yaml loaded lazily), merge the kubectl way, select a context.
// Pure apart from the lazy import: reading files and building a connection is config.ts's job.
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { trimTrailingSlashes } from "../runtime/text.ts";
import type { ExecConfig } from "./credentials.ts";

/** Parsed kubeconfig; relative paths are already resolved against the file that named them. */
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

/** A kubeconfig that cannot be used: the message names the file, the field and what it must be. */
export class KubeConfigError extends Error {
  override readonly name = "KubeConfigError";
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
    return new KubeConfigError(`kubeconfig ${this.source}: ${this.where}.${key} ${what}`);
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
  if (!Array.isArray(list)) throw new KubeConfigError(`kubeconfig ${source}: ${listKey} must be a list`);
  return list.map((entry, i) => {
    if (!isObj(entry) || typeof entry.name !== "string" || entry.name === "") {
      throw new KubeConfigError(`kubeconfig ${source}: ${listKey}[${i}].name must be a non-empty string`);
    }
    const body = entry[itemKey] ?? {};
    if (!isObj(body)) throw new KubeConfigError(`kubeconfig ${source}: ${listKey}[${i}].${itemKey} must be a mapping`);
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
    doc = parse(text, { logLevel: "error" });
  } catch (err) {
    throw new KubeConfigError(`kubeconfig ${source}: not valid YAML: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) doc = {};
  if (!isObj(doc)) throw new KubeConfigError(`kubeconfig ${source}: top level must be a mapping`);
  const baseDir = dirname(resolve(source));
  const config: KubeConfig = { clusters: new Map(), users: new Map(), contexts: new Map(), sources: [source] };

  for (const [name, r] of namedEntries(doc, "clusters", "cluster", source)) {
    const server = r.str("server");
    if (!server) throw r.fail("server", "is required (https://host:port of the API server)");
    config.clusters.set(name, {
      server: trimTrailingSlashes(server),
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
    throw new KubeConfigError(
      `kubeconfig ${where}: no current-context set; pass --context (one of: ${known.join(", ") || "none defined"})`,
    );
  }
  const ctx = config.contexts.get(name);
  if (!ctx) {
    throw new KubeConfigError(
      `kubeconfig ${where}: context "${name}" not found; known contexts: ${known.join(", ") || "none"}`,
    );
  }
  const cluster = config.clusters.get(ctx.cluster);
  if (!cluster)
    throw new KubeConfigError(
      `kubeconfig ${where}: context "${name}" names cluster "${ctx.cluster}", which is not defined`,
    );
  const user = ctx.user === "" ? {} : config.users.get(ctx.user);
  if (!user)
    throw new KubeConfigError(`kubeconfig ${where}: context "${name}" names user "${ctx.user}", which is not defined`);
  return { contextName: name, cluster, user, namespace: ctx.namespace ?? "default" };
}
