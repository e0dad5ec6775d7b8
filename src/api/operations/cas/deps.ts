// What the CAS operation runners share: the API's kube client (its kubeconfig or in-cluster account), the state
// directory (owner identities, default backup location, backup owner files) and the store (backup catalog).
import { join } from "node:path";
import type { CasDriverSource } from "../../../cas/driver/reach.ts";
import type { KubeClient } from "../../../kube/client.ts";
import type { Logger } from "../../../log.ts";
import type { StoreDb } from "../../../store/open.ts";
import type { Confinement } from "../confine.ts";
import { OperationStopped } from "../runner.ts";

export interface CasRunnerDeps {
  readonly client: KubeClient;
  readonly stateDir: string;
  readonly db: StoreDb;
  readonly log: Logger;
  /** Checked again when an operation runs: it may have been stored by an older version or before a restart. */
  readonly confine: Confinement;
  /** The one way to a CAS (src/cas/driver/reach.ts): the sconecli pod, or `scone api --scone-cli PATH`. */
  readonly casSource: CasDriverSource;
}

/**
 * Where the API keeps the owner identity of a CAS it provisions: `<state-dir>/cas-owners/<namespace>/<name>` (the
 * provisioning flow's `$TARGET_DIR`). Decided by the server, never by the client: the identity is the CAS owner's
 * secret, and a client-chosen path would let a caller write files anywhere the API may.
 */
export function casOwnerDirectory(stateDir: string, cas: { namespace: string; name: string }): string {
  return join(stateDir, "cas-owners", cas.namespace, cas.name);
}

/**
 * The kube client, refusing every call once the API shuts down: a flow waiting for a state (pod Running, HEALTHY)
 * then fails at its next poll instead of holding the shutdown up; the operation stays `running` and resumes later.
 */
export function stoppableKube<T extends object>(kube: T, signal: AbortSignal): T {
  return new Proxy(kube, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) =>
        signal.aborted ? Promise.reject(new OperationStopped("the API is shutting down")) : value.apply(target, args);
    },
  });
}
