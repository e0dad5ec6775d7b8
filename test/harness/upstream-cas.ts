// A CAS provisioned on the local cluster the way upstream's kubectl-provision plugin does it (SCONE-INTERFACE §10,
// steps 4–12): its manifest with the nonce, the console facts, its SCONE CLI outside the cluster over a port-forward
// (the stand-in, locally), its JSON patch, HEALTHY again, and its files in the target directory (~/.cas layout).
// For the tests that then continue such a CAS with scone.

import { LocalCliRunner } from "../../src/cas/driver/runner.ts";
import { applicablePatch, consoleFacts } from "../../src/flows/provision/steps.ts";
import {
  type JsonPatchOp,
  postProvisioningPatch,
  renderProvisioningManifest,
} from "../../src/flows/provision/templates.ts";
import { isHealthy } from "../../src/flows/status/health.ts";
import type { KubeClient } from "../../src/kube/client.ts";
import type { ClusterConnection } from "../../src/kube/config.ts";
import type { PortForward } from "../../src/kube/port-forward.ts";
import { startPortForward } from "../../src/kube/port-forward.ts";
import type { CAS } from "../../src/resources/cas.ts";
import { waitFor } from "./kube.ts";
import { STAND_IN_CLI } from "./stand-in-world.ts";
import { provisionAsUpstream, type UpstreamRun, upstreamFiles, writeUpstreamCopies } from "./upstream-target.ts";

export interface UpstreamCas {
  /** The run (address of the port-forward, the CLI) for going back to upstream's CLI afterwards. */
  readonly run: UpstreamRun & { cli(config: string, argv: string[]): Promise<string> };
  /** The CAS key upstream's CLI attested. */
  readonly casKey: string;
  /** The files upstream leaves in the target directory, relative to it, sorted. */
  readonly files: string[];
  /** The CAS before the post-provisioning patch, the patch, and the CAS after it. */
  readonly before: CAS;
  readonly patch: JsonPatchOp[];
  readonly patched: CAS;
}

export async function provisionCasAsUpstream(o: {
  readonly kube: KubeClient;
  readonly conn: ClusterConnection;
  readonly name: string;
  readonly namespace: string;
  readonly target: string;
  readonly version: string;
  readonly nonce: string;
  /** The port-forward is added here; the caller closes it. */
  readonly forwards: PortForward[];
  readonly timeoutMs: number;
}): Promise<UpstreamCas> {
  const { kube, name, namespace, version } = o;
  const ref = { apiVersion: "services.scone.cloud/v1beta1", kind: "CAS", namespace, name };
  // Step 4: the unprovisioned CAS from cas_provisioning.yaml with the nonce appended.
  const manifest = renderProvisioningManifest({
    name,
    namespace,
    image: `registry.scontain.com/scone.cloud/cas:${version}`,
    nonce: o.nonce,
  });
  await kube.apply(manifest.object, { fieldManager: "kubectl-provision-test" });
  // Step 7: the console facts.
  const facts = await waitFor(
    `${name}-0 prints its CAS key hash and token`,
    async () => {
      const log = await kube.podLogs({ namespace, name: `${name}-0` }, { container: "cas" }).catch(() => "");
      const f = consoleFacts(log);
      return f?.token ? { casKeyHash: f.keyHash, token: f.token } : undefined;
    },
    o.timeoutMs,
  );
  // Step 10/11 through upstream's port-forward, with upstream's CLI (the stand-in).
  const forward = await startPortForward(o.conn, { namespace, pod: `${name}-0`, port: 8081 });
  o.forwards.push(forward);
  const run = {
    target: o.target,
    name,
    namespace,
    version,
    address: `127.0.0.1:${forward.localPort}`,
    clientPort: 8081,
    ...facts,
    async cli(config: string, argv: string[]) {
      const r = await new LocalCliRunner({ binary: STAND_IN_CLI, configPath: config }).run(argv, {}, []);
      if (r.exitCode !== 0) throw new Error(`${argv.slice(0, 2).join(" ")}: ${r.stderr}`);
      return r.stdout;
    },
  };
  const casKey = await provisionAsUpstream(run);
  // Step 12: the JSON patch (its replaces applied where the webhook left the field out, as scone does).
  const patch = postProvisioningPatch({
    backup: true,
    backupControllerImage: `registry.scontain.com/scone.cloud/backup-controller:${version}`,
  });
  const current = await kube.get<CAS>(ref);
  const patched = await kube.patch<CAS>(ref, applicablePatch(current, patch), "json", {
    fieldManager: "kubectl-provision-test",
  });
  // Upstream's --wait: HEALTHY again after the patch replaced the pod.
  await waitFor(`${name} HEALTHY`, async () => isHealthy(await kube.tryGet<CAS>(ref)) || undefined, o.timeoutMs);
  writeUpstreamCopies(run, { provisioningStep: manifest.text, patch, manifest: JSON.stringify(patched) });
  return { run, casKey, files: upstreamFiles(run), before: current, patch, patched };
}
