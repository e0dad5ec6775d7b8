// The CAS flows of issue 13 (test/harness/cas-flows-walk.ts) through a local stand-in CLI binary: the compiled
// sim/scone-cli (.build/scone-cli-sim) given to the compiled binary as `--scone-cli PATH` (upstream's --no-docker) and
// to the operator's production local source, reaching each CAS pod's client port over a port-forward. On the KWOK
// cluster: no sconecli pod is created anywhere. Needs dist/scone.
import { expect } from "bun:test";
import { join } from "node:path";
import { ensureSimCli } from "../../hack/image/sconecli-image.ts";
import { cliPodSelector } from "../../src/cas/driver/cli-pod.ts";
import { casDriverSource } from "../../src/cas/driver/source.ts";
import { ENCRYPTED_POLICY_TYPE } from "../../src/operator/policies/controller.ts";
import type { EncryptedPolicy } from "../../src/resources/policies.ts";
import { describeCasFlows } from "../harness/cas-flows-walk.ts";
import { clusterAvailable, sharedCluster } from "../harness/cluster.ts";
import { binaryPresent } from "../harness/flows.ts";

const SIM_CLI = join(import.meta.dir, "../../.build/scone-cli-sim");

if (clusterAvailable() && !binaryPresent) console.warn("cas-flows-local.test.ts skipped: no dist/scone (make build)");

describeCasFlows({
  title: "the CAS flows through a local stand-in CLI binary (--scone-cli)",
  via: "run locally (--scone-cli)",
  enabled: clusterAvailable() && binaryPresent,
  cluster: sharedCluster,
  async reach(_cluster, { admin, operatorClient, namespace, work }) {
    ensureSimCli(SIM_CLI);
    const local = ["--scone-cli", SIM_CLI];
    const source = casDriverSource({ kube: operatorClient, stateDir: join(work, "operator-state"), sconeCli: SIM_CLI });
    return {
      driverFlags: local,
      cliFlags: local,
      source,
      verifiedBy: "scone-cli-sim",
      async expectCliPods(name) {
        const pods = await admin.list(
          { apiVersion: "v1", kind: "Pod" },
          { namespace, labelSelector: cliPodSelector(name) },
        );
        expect(pods.items).toEqual([]);
      },
      expectReached: () => undefined,
      // A local CLI's `session encrypt` needs the CAS (`--cas`, over a port-forward) or its key: `scone policy
      // encrypt` takes only the key, which no scone command prints; so the driver's `session encrypt --cas`, as
      // the owner, through the same production local source.
      async encrypt(file, target) {
        const conn = await source.connect(
          { namespace, name: "cas" },
          { kind: "owner", configPath: join(target, "identity", "config.json") },
        );
        try {
          const out = JSON.parse(await conn.driver.encryptSession(await Bun.file(file).text(), conn.address)) as {
            encrypted_session: string;
            encryption_key: string;
          };
          return {
            ...ENCRYPTED_POLICY_TYPE,
            kind: "EncryptedPolicy",
            metadata: { name: "encrypted-here" },
            spec: {
              casAddress: `https://cas.${namespace}:8081`,
              policy: out.encrypted_session,
              encryptionKey: out.encryption_key,
            },
          } as EncryptedPolicy;
        } finally {
          await conn.release();
        }
      },
      stop: async () => undefined,
    };
  },
});
