// The real ports of the provisioning flow: the kube client, the CAS driver source (src/cas/driver/reach.ts: a SCONE
// CLI pod, or a local SCONE CLI with a port-forward — the source decides and gives the address).
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
  };
}
