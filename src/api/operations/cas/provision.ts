// POST /operations kind=provision: the provisioning flow (src/flows/provision runProvisionOperation) with the ports
// `scone cas provision` builds — the API's kube client and a port-forward to NAME-0 — and the owner identity in a
// directory the server decides (deps.ts casOwnerDirectory). The Intel DCAP API key, when given, is read from the
// referenced Secret at run time: it is never part of the stored params.
import { mkdir } from "node:fs/promises";
import type { KubeClient } from "../../../kube/client.ts";
import type { KubeObject } from "../../../kube/types.ts";
import type { OperationRunner } from "../runner.ts";
import { type CasRunnerDeps, casOwnerDirectory, stoppableKube } from "./deps.ts";

export function provisionRunner(deps: CasRunnerDeps): OperationRunner {
  return {
    async run(op, report) {
      const [{ ProvisionParams }, { provisionOptionsFromFlags }, { realProvisionPorts }, { runProvisionOperation }] =
        await Promise.all([
          import("../params.ts"),
          import("../../../flows/provision/options.ts"),
          import("../../../flows/provision/ports.ts"),
          import("../../../flows/provision/operation.ts"),
        ]);
      const params = ProvisionParams.parse(op.params);
      const cas = { namespace: op.namespace, name: op.name };
      const dcapKey = params.dcapKeyRef ? await secretValue(deps.client, op.namespace, params.dcapKeyRef) : undefined;
      const target = casOwnerDirectory(deps.stateDir, cas);
      await mkdir(target, { recursive: true, mode: 0o700 });
      const options = provisionOptionsFromFlags({
        ...cas,
        target,
        "set-version": params.version,
        "image-registry": params.imageRegistry,
        nonce: params.nonce,
        "dcap-api": dcapKey,
        webhook: params.webhook,
        backup: params.backup,
        // Done means HEALTHY, as with `--wait`; without a backup controller a CAS never gets there (upstream refuses
        // --wait with --no-backup too), so then done means provisioned.
        wait: params.backup,
      });
      const log = deps.log.child({ operation: op.id });
      const ports = {
        ...realProvisionPorts(deps.client, options, {
          warn: (message) => log.warn(message),
          casSource: deps.casSource,
        }),
        kube: stoppableKube(deps.client, report.signal),
      };
      return runProvisionOperation(options, ports, report);
    },
  };
}

/** One key of a Secret in the operation's namespace; the error names the param, never the value. */
async function secretValue(
  client: KubeClient,
  namespace: string,
  ref: { readonly name: string; readonly key: string },
): Promise<string> {
  const secret = await client.tryGet<KubeObject & { data?: Record<string, string> }>({
    apiVersion: "v1",
    kind: "Secret",
    namespace,
    name: ref.name,
  });
  if (!secret) throw new Error(`params.dcapKeyRef: Secret ${namespace}/${ref.name} does not exist`);
  // Only the CAS's own namespace: a name that slipped past the schema must not have reached another object.
  if (secret.kind !== "Secret" || secret.metadata?.namespace !== namespace || secret.metadata?.name !== ref.name) {
    throw new Error(`params.dcapKeyRef: ${ref.name} is not a Secret of namespace ${namespace}`);
  }
  const encoded = secret.data?.[ref.key];
  if (encoded === undefined)
    throw new Error(`params.dcapKeyRef: Secret ${namespace}/${ref.name} has no key ${ref.key}`);
  const value = Buffer.from(encoded, "base64").toString("utf8").trim();
  if (value === "") throw new Error(`params.dcapKeyRef: key ${ref.key} of Secret ${namespace}/${ref.name} is empty`);
  return value;
}
