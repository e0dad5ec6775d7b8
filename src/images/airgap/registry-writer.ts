// The write half of the OCI distribution protocol, on top of the signature checker's read-only client (same auth,
// CA and loopback rules): blob existence (HEAD), monolithic blob upload (POST + PUT ?digest=), manifest PUT, and a
// blob streamed to a file with its digest checked before the file is given its final name.

import { createHash } from "node:crypto";
import { closeSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { parseChallenge, RegistryClient, RegistryError } from "../signature/registry.ts";

export class RegistryWriter extends RegistryClient {
  protected override scopeActions = "pull,push";

  /**
   * A request with the current authorization; one retry after answering a 401 challenge (bodies are Blobs).
   * Redirects are not followed: the authorization must not travel to another host, and registries answer
   * uploads and manifests themselves (a 3xx is reported as a failure).
   */
  private async send(method: string, url: string, repository: string, init: RequestInit = {}): Promise<Response> {
    const once = () => {
      const headers = {
        ...(init.headers as Record<string, string>),
        ...(this.authorization ? { authorization: this.authorization } : {}),
      };
      const req: RequestInit & { tls?: { ca: string } } = {
        ...init,
        method,
        headers,
        redirect: "manual",
        // Blob uploads take as long as the bytes take; everything else is bounded.
        ...(init.body instanceof Blob ? {} : { signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000) }),
        ...(this.opts.ca ? { tls: { ca: this.opts.ca } } : {}),
      };
      return fetch(url, req).catch((e: unknown) => {
        throw new RegistryError(`${method} ${url}: ${e instanceof Error ? e.message : String(e)}`);
      });
    };
    const res = await once();
    if (res.status !== 401) return res;
    const challenge = res.headers.get("www-authenticate");
    await res.body?.cancel();
    if (!challenge) return res;
    await this.authenticate(parseChallenge(challenge), repository);
    return once();
  }

  async hasBlob(repository: string, digest: string): Promise<boolean> {
    const res = await this.send("HEAD", `${this.base}/v2/${repository}/blobs/${digest}`, repository);
    await res.body?.cancel();
    if (res.status === 404) return false;
    await this.expectOk(res, `${this.registry}/${repository}@${digest} (blob)`);
    return true;
  }

  async putBlob(repository: string, digest: string, body: Blob): Promise<void> {
    const what = `${this.registry}/${repository}@${digest} (blob upload)`;
    const start = await this.send("POST", `${this.base}/v2/${repository}/blobs/uploads/`, repository);
    await start.body?.cancel();
    await this.expectOk(start, what);
    const location = start.headers.get("location");
    if (!location) throw new RegistryError(`${what}: the registry named no upload location`);
    const url = new URL(location, this.base);
    if (url.origin !== this.base) throw new RegistryError(`${what}: the upload location ${url.origin} is another host`);
    url.searchParams.set("digest", digest);
    const put = await this.send("PUT", url.toString(), repository, {
      body,
      headers: { "content-type": "application/octet-stream" },
    });
    await this.expectOk(put, what);
    await put.body?.cancel();
  }

  async putManifest(repository: string, reference: string, mediaType: string, bytes: Uint8Array): Promise<void> {
    const res = await this.send("PUT", `${this.base}/v2/${repository}/manifests/${reference}`, repository, {
      body: bytes,
      headers: { "content-type": mediaType },
    });
    await this.expectOk(res, `${this.registry}/${repository}:${reference} (manifest upload)`);
    await res.body?.cancel();
  }

  /** Streams a blob into `path` (via path.part): the file exists only once its bytes match `digest`. */
  async blobToFile(repository: string, digest: string, path: string): Promise<number> {
    const what = `${this.registry}/${repository}@${digest} (blob)`;
    const res = await this.get(`/v2/${repository}/blobs/${digest}`, repository, {});
    await this.expectOk(res, what);
    const part = `${path}.part`;
    const fd = openSync(part, "w", 0o600);
    const hash = createHash("sha256");
    let size = 0;
    try {
      const reader = res.body?.getReader();
      for (;;) {
        const chunk = await reader?.read();
        if (!chunk || chunk.done) break;
        hash.update(chunk.value);
        writeSync(fd, chunk.value);
        size += chunk.value.byteLength;
      }
    } finally {
      closeSync(fd);
    }
    if (`sha256:${hash.digest("hex")}` !== digest) {
      rmSync(part, { force: true });
      throw new RegistryError(`${what}: the content does not match its digest`);
    }
    renameSync(part, path);
    return size;
  }
}
