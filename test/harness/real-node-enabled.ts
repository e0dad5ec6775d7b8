// When the real-node tests run: asked for (SCONE_REAL_NODE=1, as `make test-realnode` does) and as root (kubelet,
// containerd and the pod network need it). Otherwise they skip, so `make test` stays as it was.
export function realNodeTestsEnabled(env: Record<string, string | undefined> = process.env): boolean {
  return env.SCONE_REAL_NODE === "1" && process.getuid?.() === 0;
}

/** True for an IPv4 address inside 198.18.0.0/15, the only range pods, services and the node may use. */
export function inBenchmarkRange(ip: string): boolean {
  const m = /^198\.(18|19)\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  return m !== null && Number(m[2]) <= 255 && Number(m[3]) <= 255;
}
