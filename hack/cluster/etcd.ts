// etcd's v3 HTTP/JSON gateway: enough for health and compaction without a gRPC client.

async function gateway(clientUrl: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${clientUrl}${path}`, {
    method: "POST",
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const json = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(`etcd ${path} answered ${response.status}: ${JSON.stringify(json)}`);
  return json;
}

export async function etcdHealthy(clientUrl: string): Promise<boolean> {
  try {
    const response = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(2000) });
    const body = (await response.json()) as { health?: string };
    return response.ok && body.health === "true";
  } catch {
    return false;
  }
}

export async function currentRevision(clientUrl: string): Promise<number> {
  // A range over a key that does not exist still answers the store's header revision.
  const reply = await gateway(clientUrl, "/v3/kv/range", {
    key: Buffer.from("\0scone-revision-probe").toString("base64"),
  });
  const revision = Number((reply.header as { revision?: string } | undefined)?.revision);
  if (!Number.isSafeInteger(revision) || revision <= 0) throw new Error(`etcd range reply had no revision`);
  return revision;
}

/** Compacts to the current revision: any older resourceVersion then answers 410 Gone on watch/list. */
export async function compactToCurrentRevision(clientUrl: string): Promise<number> {
  const revision = await currentRevision(clientUrl);
  await gateway(clientUrl, "/v3/kv/compaction", { revision: String(revision), physical: true });
  return revision;
}
