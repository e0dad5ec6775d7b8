// API replicas sharing operation records (kube-records.ts): every replica accepts, lists and shows operations; one
// executes them, the holder of the Lease `scone-api-operations` (leader election as the operator's). A new leader
// resumes what the previous one left pending or running, and, while it leads, picks up the operations the other
// replicas accepted every `pollMs`. Losing the lease pauses the running operations at their next step.
import { hostname } from "node:os";
import type { KubeClient } from "../../kube/client.ts";
import type { Logger } from "../../log.ts";
import { kubeLeaseStore } from "../../operator/lease-store.ts";
import { LeaderElector } from "../../runtime/leader-election.ts";
import type { OperationExecutor } from "./executor.ts";

export const OPERATIONS_LEASE = "scone-api-operations";

export interface ReplicaOptions {
  /** Where the Lease lives: the API's own namespace (the operator's, with `--with-api`). */
  readonly namespace: string;
  readonly log: Logger;
  readonly pollMs?: number;
  readonly identity?: string;
}

/** Starts competing for the Lease; returns the stop function (releases the Lease, pauses operations). */
export function executeWhileLeading(executor: OperationExecutor, client: KubeClient, opts: ReplicaOptions) {
  const pollMs = opts.pollMs ?? 2000;
  let poll: ReturnType<typeof setInterval> | undefined;
  const pickUp = () =>
    executor.activate().then(
      (count) => {
        if (count > 0) opts.log.info("executing operations", { started: count });
      },
      (err: unknown) => opts.log.warn("could not list unfinished operations", { error: String(err) }),
    );
  const stopPolling = () => {
    if (poll) clearInterval(poll);
    poll = undefined;
  };
  const elector = new LeaderElector(kubeLeaseStore(client), {
    namespace: opts.namespace,
    name: OPERATIONS_LEASE,
    identity: opts.identity ?? `${hostname()}_${crypto.randomUUID()}`,
    onStartedLeading: () => {
      opts.log.info("this replica executes the operations", { lease: `${opts.namespace}/${OPERATIONS_LEASE}` });
      void pickUp();
      poll = setInterval(() => void pickUp(), pollMs);
    },
    onStoppedLeading: () => {
      opts.log.warn("lost the operations lease: pausing operations");
      stopPolling();
      void executor.deactivate();
    },
    onError: (err) => opts.log.warn("operations lease", { error: String(err) }),
  });
  elector.start();
  return async () => {
    stopPolling();
    await executor.deactivate();
    await elector.stop();
  };
}
