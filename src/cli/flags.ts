// citty hands every command its parsed flags as unknown values; commands read them through these, not by casting.

export type ParsedFlags = Readonly<Record<string, unknown>>;

/** A text flag's value; undefined when the flag is absent or given empty. */
export function textFlag(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/**
 * The cluster a command talks to: `--kubeconfig` and `--context`, else kubectl's defaults (KUBECONFIG, ~/.kube);
 * `transport` bounds its requests (e.g. a timeout for a command that must answer without the cluster).
 */
export async function openKube(
  flags: ParsedFlags,
  transport: import("../kube/transport.ts").TransportOptions = {},
): Promise<import("../kube/client.ts").KubeClient> {
  // Loaded when a command needs the cluster, so `scone version` and `--help` stay small (bench/startup.ts).
  const { KubeClient } = await import("../kube/client.ts");
  return KubeClient.load({ ...transport, kubeconfig: textFlag(flags.kubeconfig), context: textFlag(flags.context) });
}
