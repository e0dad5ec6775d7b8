// A read-only OCI distribution client: manifests and blobs by reference, with the registry token dance
// (401 + WWW-Authenticate: Bearer → token endpoint, or Basic) and bounded reads. Only what signature checks need;
// what it returns is untrusted: digests are computed here, never taken from the registry's headers.

import { createHash } from "node:crypto";
import type { RegistryCredentials } from "./credentials.ts";
import { apiHost } from "./reference.ts";

export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_REDIRECTS = 5;
const MAX_TOKEN_BYTES = 64 * 1024;

export const MANIFEST_ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

export interface RegistryClientOptions {
  /** Credentials for a registry host, e.g. from the docker config; undefined → anonymous. */
  readonly credentials?: (host: string) => RegistryCredentials | undefined;
  /** PEM CA bundle the registry's certificate must chain to (a mirror with its own CA). */
  readonly ca?: string;
  /** Per-request timeout. */
  readonly timeoutMs?: number;
  /** Default: plain HTTP for loopback registries, HTTPS for every other. */
  readonly scheme?: "https" | "http";
}

export interface Manifest {
  readonly bytes: Uint8Array;
  readonly mediaType: string;
  /** sha256 of the bytes, computed here. */
  readonly digest: string;
}

/** The registry refused or failed; the message names the registry and what was asked. */
export class RegistryError extends Error {
  override name = "RegistryError";
}

/** Loopback registries (crane registry serve, a port-forward) speak plain HTTP, as docker allows for them. */
export function isLoopbackHost(registry: string): boolean {
  const host = registry.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** `Bearer realm="…",service="…"` → scheme and parameters (pure). */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  const params: Record<string, string> = {};
  for (const p of (m?.[2] ?? "").matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    params[(p[1] as string).toLowerCase()] = p[2] ?? p[3] ?? "";
  }
  return { scheme: (m?.[1] ?? "").toLowerCase(), params };
}

export const sha256Digest = (bytes: Uint8Array): string => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

async function readCapped(res: Response, max: number, what: string): Promise<Uint8Array> {
  const declared = Number(res.headers.get("content-length") ?? "0");
  if (declared > max) throw new RegistryError(`${what}: ${declared} bytes, more than the ${max} allowed`);
  const reader = res.body?.getReader();
  if (!reader) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw new RegistryError(`${what}: more than the ${max} bytes allowed`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

export class RegistryClient {
  protected readonly base: string;
  private readonly host: string;
  protected authorization: string | undefined;
  /** Token scope actions: a writer (src/images/airgap) asks for pull,push. */
  protected scopeActions = "pull";

  constructor(
    protected readonly registry: string,
    protected readonly opts: RegistryClientOptions = {},
  ) {
    this.host = apiHost(registry);
    this.base = `${opts.scheme ?? (isLoopbackHost(registry) ? "http" : "https")}://${this.host}`;
  }

  /** The manifest at a tag or digest; undefined when the registry has none (404). */
  async manifest(repository: string, reference: string): Promise<Manifest | undefined> {
    const what = `${this.registry}/${repository}:${reference} (manifest)`;
    const res = await this.get(`/v2/${repository}/manifests/${reference}`, repository, { accept: MANIFEST_ACCEPT });
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    await this.expectOk(res, what);
    const bytes = await readCapped(res, MAX_MANIFEST_BYTES, what);
    const digest = sha256Digest(bytes);
    if (reference.startsWith("sha256:") && digest !== reference)
      throw new RegistryError(`${what}: the registry answered a manifest whose digest is ${digest}`);
    return { bytes, mediaType: res.headers.get("content-type") ?? "", digest };
  }

  /** A blob, checked against its digest, at most `max` bytes. */
  async blob(repository: string, digest: string, max: number): Promise<Uint8Array> {
    const what = `${this.registry}/${repository}@${digest} (blob)`;
    const res = await this.get(`/v2/${repository}/blobs/${digest}`, repository, {});
    await this.expectOk(res, what);
    const bytes = await readCapped(res, max, what);
    if (sha256Digest(bytes) !== digest) throw new RegistryError(`${what}: the content does not match its digest`);
    return bytes;
  }

  protected async expectOk(res: Response, what: string): Promise<void> {
    if (res.ok) return;
    const body = (await res.text().catch(() => "")).slice(0, 300).replace(/\s+/g, " ");
    const hint =
      res.status === 401 || res.status === 403
        ? " (log in with 'docker login HOST', or give the pull credentials)"
        : "";
    throw new RegistryError(
      `${what}: the registry answered ${res.status} ${res.statusText}${hint}${body ? `: ${body}` : ""}`,
    );
  }

  private fetchOnce(url: string, headers: Record<string, string>): Promise<Response> {
    const init: RequestInit & { tls?: { ca: string } } = {
      headers,
      redirect: "manual",
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
      ...(this.opts.ca ? { tls: { ca: this.opts.ca } } : {}),
    };
    return fetch(url, init).catch((e: unknown) => {
      throw new RegistryError(`${url}: ${e instanceof Error ? e.message : String(e)}`);
    });
  }

  /** GET with the current authorization, following redirects (credentials only ever sent to the registry itself). */
  private async getFollowing(path: string, extra: Record<string, string>): Promise<Response> {
    let url = `${this.base}${path}`;
    for (let i = 0; i <= MAX_REDIRECTS; i++) {
      const sameOrigin = new URL(url).origin === this.base;
      const headers = { ...extra, ...(sameOrigin && this.authorization ? { authorization: this.authorization } : {}) };
      const res = await this.fetchOnce(url, headers);
      const location = res.headers.get("location");
      if (res.status < 300 || res.status >= 400 || !location) return res;
      await res.body?.cancel();
      url = new URL(location, url).toString();
    }
    throw new RegistryError(`${this.base}${path}: more than ${MAX_REDIRECTS} redirects`);
  }

  protected async get(path: string, repository: string, extra: Record<string, string>): Promise<Response> {
    const res = await this.getFollowing(path, extra);
    if (res.status !== 401) return res;
    const challenge = res.headers.get("www-authenticate");
    await res.body?.cancel();
    if (!challenge) return this.getFollowing(path, extra);
    await this.authenticate(parseChallenge(challenge), repository);
    return this.getFollowing(path, extra);
  }

  protected async authenticate(c: { scheme: string; params: Record<string, string> }, repository: string) {
    const creds = this.opts.credentials?.(this.registry);
    const basic = creds ? `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString("base64")}` : undefined;
    if (c.scheme === "basic") {
      if (!basic)
        throw new RegistryError(
          `${this.registry} asks for a user and password: log in with 'docker login ${this.registry}'`,
        );
      this.authorization = basic;
      return;
    }
    if (c.scheme !== "bearer" || !c.params.realm)
      throw new RegistryError(`${this.registry}: unsupported authentication challenge '${c.scheme}'`);
    const realm = new URL(c.params.realm);
    if (realm.protocol !== "https:" && !isLoopbackHost(realm.host))
      throw new RegistryError(
        `${this.registry}: its token service ${realm.origin} is not HTTPS; refusing to send credentials there`,
      );
    if (c.params.service) realm.searchParams.set("service", c.params.service);
    realm.searchParams.set("scope", c.params.scope ?? `repository:${repository}:${this.scopeActions}`);
    const init: RequestInit & { tls?: { ca: string } } = {
      headers: basic ? { authorization: basic } : {},
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
      ...(this.opts.ca ? { tls: { ca: this.opts.ca } } : {}),
    };
    const res = await fetch(realm, init).catch((e: unknown) => {
      throw new RegistryError(`${realm.origin}: ${e instanceof Error ? e.message : String(e)}`);
    });
    await this.expectOk(res, `${this.registry} token for ${repository}`);
    let token: unknown;
    try {
      const doc = JSON.parse(new TextDecoder().decode(await readCapped(res, MAX_TOKEN_BYTES, "token"))) as Record<
        string,
        unknown
      >;
      token = doc.token ?? doc.access_token;
    } catch {
      token = undefined;
    }
    if (typeof token !== "string" || token === "")
      throw new RegistryError(`${this.registry}: its token service answered no token`);
    this.authorization = `Bearer ${token}`;
  }
}
