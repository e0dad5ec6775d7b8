// The smallest authenticated round trip: GET /version. The CLI's cluster-info command is wired to this.
import type { ClusterConnection } from "./config.ts";
import { Transport } from "./transport.ts";

export async function probeCluster(
  conn: ClusterConnection,
  options: { timeoutMs?: number } = {},
): Promise<{ serverVersion: string; server: string }> {
  const transport = new Transport(conn, { timeoutMs: options.timeoutMs ?? 10_000 });
  const v = await transport.requestJson<{ gitVersion?: string }>({ path: "/version" });
  return { serverVersion: v.gitVersion ?? "unknown", server: conn.server };
}
