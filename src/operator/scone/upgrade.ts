// The upgrade order the managed service documents: CAS first (owner-only, with the provisioning tool), then LAS and
// SGX plugin. While a provisioned CAS still runs another version than the stack asks for, the LAS and the SGX plugin
// stay at the version last deployed and the status says what to run (pure).
import type { Scone } from "../../resources/scone.ts";

export interface CasFacts {
  readonly provisioned?: string;
  /** CAS status.version ("unknown" until the CAS answered). */
  readonly version?: string;
}

export interface NodeAgentVersion {
  /** The version the LAS and SGX plugin images get now. */
  readonly version: string;
  /** Why the version is held back, with the command that lets it go on. */
  readonly waitingFor?: string;
}

export function nodeAgentVersion(
  scone: Pick<Scone, "status">,
  target: string,
  cas: CasFacts | undefined,
  casRef: { readonly namespace: string; readonly name: string },
): NodeAgentVersion {
  const deployed = scone.status?.deployedVersion;
  const casVersion = cas?.version;
  const holds =
    deployed !== undefined &&
    deployed !== target &&
    cas?.provisioned === "Yes" &&
    casVersion !== undefined &&
    casVersion !== "unknown" &&
    casVersion !== target;
  if (!holds) return { version: target };
  return {
    version: deployed,
    waitingFor: `CAS ${casRef.namespace}/${casRef.name} runs ${casVersion}: upgrade it first (scone cas upgrade ${casRef.name} -n ${casRef.namespace} --to-version ${target}); LAS and SGX plugin stay at ${deployed} until then`,
  };
}
