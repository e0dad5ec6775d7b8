// The real ports of the provisioning flow: the kube client, the CAS driver source (src/cas/driver/reach.ts: a SCONE
// CLI pod, or a local SCONE CLI with a port-forward — the source decides and gives the address), and
// `kubectl exec tar` for --local-backup.
import { mkdir } from "node:fs/promises";
import type { CasDriverSource } from "../../cas/driver/reach.ts";
import type { KubeClient } from "../../kube/client.ts";
import type { ProvisionPorts } from "./context.ts";
import type { ProvisionOptions } from "./options.ts";

export function realProvisionPorts(
  client: KubeClient,
  _options: ProvisionOptions,
  extra: Pick<ProvisionPorts, "warn"> & { readonly casSource: CasDriverSource },
): ProvisionPorts {
  return {
    kube: client,
    ...extra,
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
