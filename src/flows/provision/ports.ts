// The real ports of the provisioning flow: the kube client, a port-forward through the API server to NAME-0's client
// port (what upstream does with `kubectl port-forward`), or `--cas-address` when the caller can reach the CAS directly
// (in-cluster), and `kubectl exec tar` for --local-backup.
import { mkdir } from "node:fs/promises";
import type { KubeClient } from "../../kube/client.ts";
import type { CasEndpoint, ProvisionPorts } from "./context.ts";
import type { ProvisionOptions } from "./options.ts";

/** `ADDR`, `ADDR:PORT` or a URL → base URL of the client API. */
export function casAddressUrl(address: string, port: number): string {
  if (/^https?:\/\//.test(address)) return address.replace(/\/+$/, "");
  const hasPort = /:\d+$/.test(address) && !address.startsWith("[");
  return `https://${address}${hasPort ? "" : `:${port}`}`;
}

export function realProvisionPorts(
  client: KubeClient,
  options: ProvisionOptions,
  extra: Pick<ProvisionPorts, "warn"> = {},
): ProvisionPorts {
  return {
    kube: client,
    ...extra,
    async openCasEndpoint(target): Promise<CasEndpoint> {
      if (options.casAddress) {
        const url = casAddressUrl(options.casAddress, target.port);
        return { url, description: url, close: async () => {} };
      }
      const { startPortForward } = await import("../../kube/port-forward.ts");
      const forward = await startPortForward(client.transport.connection, {
        namespace: target.namespace,
        pod: target.pod,
        port: target.port,
        ...(options.localCasClientPort ? { localPort: options.localCasClientPort } : {}),
      });
      return {
        url: `https://127.0.0.1:${forward.localPort}`,
        // The CAS certificate names localhost (upstream's owner config lists it), not the loopback IP.
        serverName: "localhost",
        description: `port-forward to ${target.namespace}/${target.pod}:${target.port} (127.0.0.1:${forward.localPort})`,
        close: () => forward.close(),
      };
    },
    async copySnapshot({ namespace, name, into }) {
      const [{ PodSnapshotSource }, { execInPod }, { SNAPSHOT_FILES }] = await Promise.all([
        import("../../backup/pod-snapshot-source.ts"),
        import("../../kube/exec.ts"),
        import("../../backup/layout.ts"),
      ]);
      await mkdir(into, { recursive: true, mode: 0o700 });
      const source = new PodSnapshotSource({
        namespace,
        name,
        exec: (o) => execInPod(client.transport.connection, o),
      });
      await source.fetch(into);
      return [...SNAPSHOT_FILES];
    },
  };
}
