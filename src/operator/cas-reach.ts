// How the operator reaches a CAS's client API. In a pod: the CAS Service (DNS). As a local process (development,
// KWOK clusters, an operator run outside the cluster): a port-forward to NAME-0 through the API server, the way
// the CLI and upstream's `kubectl provision` reach it; opened for each probe and closed after it.
import type { KubeClient } from "../kube/client.ts";
import type { CAS } from "../resources/cas.ts";
import type { CasAddress } from "./cas/client-probe.ts";
import { names } from "./cas/names.ts";

/** The CAS renderer uses spec.service.clientPort as the container port too. */
const DEFAULT_CLIENT_PORT = 8081;

export function portForwardAddress(client: KubeClient) {
  return async (cas: CAS, _signal: AbortSignal): Promise<CasAddress> => {
    const { startPortForward } = await import("../kube/port-forward.ts");
    const name = cas.metadata.name ?? "";
    const forward = await startPortForward(client.transport.connection, {
      namespace: cas.metadata.namespace ?? "",
      pod: `${names(name).statefulSet}-0`,
      port: cas.spec?.service?.clientPort ?? DEFAULT_CLIENT_PORT,
    });
    // The CAS certificate names localhost (the owner config lists it), not the loopback IP.
    return { url: `https://127.0.0.1:${forward.localPort}`, serverName: "localhost", release: () => forward.close() };
  };
}
