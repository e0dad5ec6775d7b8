// POST /operations kind=upgrade|evict|restore: the day-2 flows (src/flows/upgrade, evict, restore) with the ports
// the CLI builds (kube client, exec into the pod, the backup catalog of this state directory), their steps recorded
// through the operation (progress.ts). The flows observe the world before every effect, so a resumed operation
// continues where the cluster is.
import type { KubeClient } from "../../../kube/client.ts";
import type { JsonObject } from "../../../store/schema.ts";
import type { OperationRunner } from "../runner.ts";
import type { CasRunnerDeps } from "./deps.ts";
import { casOwnerDirectory, stoppableKube } from "./deps.ts";
import { runReportedFlow } from "./progress.ts";

export function upgradeRunner(deps: CasRunnerDeps): OperationRunner {
  return {
    async run(op, report) {
      const [{ UpgradeParams }, { runUpgrade }] = await Promise.all([
        import("../params.ts"),
        import("../../../flows/upgrade/flow.ts"),
      ]);
      const params = UpgradeParams.parse(op.params);
      const kube = stoppableKube(deps.client, report.signal);
      const cas = { namespace: op.namespace, name: op.name };
      const options = {
        ...cas,
        to: params.to,
        force: params.force,
        ...(params.backupMrenclave ? { backupMrenclave: params.backupMrenclave } : {}),
      };
      const outcome = await runReportedFlow(report, (progress) =>
        runUpgrade(kube, options, progress, {
          // The owner identity the provision operation wrote for this CAS.
          async openOwnerSessions() {
            const { openOwnerClient } = await import("../../../flows/provision/flow.ts");
            return openOwnerClient(
              deps.client,
              { ...cas, target: casOwnerDirectory(deps.stateDir, cas) },
              { kube, casSource: deps.casSource },
            );
          },
        }),
      );
      return { to: outcome.to, ...(outcome.from ? { from: outcome.from } : {}) };
    },
  };
}

export function evictRunner(deps: CasRunnerDeps): OperationRunner {
  return {
    async run(op, report) {
      const [{ EvictParams }, { runEvict }] = await Promise.all([
        import("../params.ts"),
        import("../../../flows/evict/flow.ts"),
      ]);
      const params = EvictParams.parse(op.params);
      const kube = stoppableKube(deps.client, report.signal);
      const outcome = await runReportedFlow(report, (progress) =>
        runEvict(
          kube,
          { namespace: op.namespace, name: op.name, ...(params.node ? { node: params.node } : {}) },
          progress,
        ),
      );
      const result: JsonObject = {};
      if (outcome.from) result.from = outcome.from;
      if (outcome.to) result.to = outcome.to;
      return result;
    },
  };
}

export function restoreRunner(deps: CasRunnerDeps): OperationRunner {
  return {
    async run(op, report) {
      const [
        { RestoreParams },
        { runRestore },
        { resolveRestoreSource },
        { DEFAULT_SCONE_SERVICE_VERSION },
        { getBackup },
        { refuseBackupLocation },
      ] = await Promise.all([
        import("../params.ts"),
        import("../../../flows/restore/flow.ts"),
        import("../../../backup/restore-source.ts"),
        import("../../../version.ts"),
        import("../../../store/backups.ts"),
        import("../confine.ts"),
      ]);
      const params = RestoreParams.parse(op.params);
      const ports = {
        kube: stoppableKube(deps.client, report.signal),
        exec: await podExec(deps.client),
        // Catalog ids only (params.ts), stored where this API may read (checked again: the confinement may have
        // changed since the POST). S3 credentials, when the set is on S3, come from the API's AWS_* variables.
        resolveSource: (spec: string) => {
          const record = getBackup(deps.db, spec);
          if (!record) throw new Error(`params.from: no backup ${spec} in the catalog`);
          const refused = refuseBackupLocation(deps.confine, record.target);
          if (refused) throw new Error(`params.from: backup ${spec} is stored where this API may not read: ${refused}`);
          return resolveRestoreSource(spec, { store: { db: deps.db } });
        },
      };
      const outcome = await runReportedFlow(report, (progress) =>
        runRestore(
          ports,
          {
            namespace: op.namespace,
            name: op.name,
            from: params.from,
            defaultVersion: DEFAULT_SCONE_SERVICE_VERSION,
          },
          progress,
        ),
      );
      const result: JsonObject = {};
      if (outcome.backupId) result.backupId = outcome.backupId;
      return result;
    },
  };
}

/** `kubectl exec` through the API's connection. */
export async function podExec(client: KubeClient): Promise<import("../../../flows/status/observe.ts").PodExec> {
  const { execInPod } = await import("../../../kube/exec.ts");
  return (o) => execInPod(client.transport.connection, o);
}
