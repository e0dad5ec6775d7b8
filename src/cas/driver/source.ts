// Which CasDriverSource a process uses: the CLI, the API and the operator all call casDriverSource(). A local SCONE
// CLI when one is named (`--scone-cli PATH`, upstream's `--no-docker`); otherwise — the default — the CLI pod per CAS.
import { resolve } from "node:path";
import type { KubeClient } from "../../kube/client.ts";
import { consoleField } from "../../operator/cas/console.ts";
import { CAS_CONTAINER, names } from "../../operator/cas/names.ts";
import type { CAS } from "../../resources/cas.ts";
import { defaultImage, type ImageMirror } from "../../resources/defaults.ts";
import { DEFAULT_SCONE_SERVICE_VERSION } from "../../version.ts";
import { sconeCliProblem } from "./cli-path.ts";
import { LocalCasDriverSource } from "./local-source.ts";
import { PodCasDriverSource } from "./pod-source.ts";
import type { CasDriverSource } from "./reach.ts";

export { sconeCliProblem };

export interface CasDriverSourceOptions {
  readonly kube: KubeClient;
  /** `--scone-cli PATH`: a local SCONE CLI binary (absolute, or relative to the working directory). */
  readonly sconeCli?: string;
  /** The state directory: the operator identity's config for the local source. */
  readonly stateDir: string;
  /** Registry and prefix of the sconecli image (the operator's mirror, or the CLI's --image-registry/--image-prefix). */
  readonly imageMirror?: ImageMirror;
  /** Tag of the sconecli image (default: the SCONE version scone deploys). */
  readonly serviceVersion?: string;
  /** Node labels the CLI pods must run on (pod source; default any node). */
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /** Variables every local CLI call gets (e.g. SCONE_CLI_RETRIES); ignored by the pod. */
  readonly env?: Readonly<Record<string, string>>;
  readonly warn?: (message: string) => void;
}

/** The sconecli image (src/install/images.ts's naming): `<registry>/<prefix>sconecli:<version>`, mirror-aware. */
export function sconecliImage(mirror: ImageMirror | undefined, serviceVersion: string): string {
  return defaultImage("sconecli", { serviceVersion, ...mirror });
}

export function casDriverSource(o: CasDriverSourceOptions): CasDriverSource {
  if (o.sconeCli !== undefined) {
    // Checked again here: the API and the operator reach this without the CLI's flag check.
    const problem = sconeCliProblem(o.sconeCli);
    if (problem) throw new Error(`invalid value ${JSON.stringify(o.sconeCli)} for --scone-cli: ${problem}`);
    if (o.nodeSelector && Object.keys(o.nodeSelector).length > 0)
      throw new Error(
        "--cli-node-selector places the sconecli pod, which --scone-cli does not use: leave one of them out",
      );
    const conn = o.kube.transport.connection;
    return new LocalCasDriverSource({
      binary: [resolve(o.sconeCli)],
      stateDir: o.stateDir,
      portForward: async (options) => (await import("../../kube/port-forward.ts")).startPortForward(conn, options),
      // The console's `CAS key hash` line (SCONE-INTERFACE §10.2 step 7): the pin provisioning and the probe use.
      casKeyHash: async (cas, signal) =>
        consoleField(
          await o.kube.podLogs(
            { namespace: cas.namespace, name: names(cas.name).pod },
            { container: CAS_CONTAINER, ...(signal ? { signal } : {}) },
          ),
          "CAS key hash",
        ),
      ...(o.env ? { env: o.env } : {}),
      ...(o.warn ? { warn: o.warn } : {}),
    });
  }
  const conn = o.kube.transport.connection;
  const image = sconecliImage(o.imageMirror, o.serviceVersion ?? DEFAULT_SCONE_SERVICE_VERSION);
  return new PodCasDriverSource({
    kube: o.kube,
    exec: async (options) => (await import("../../kube/exec.ts")).execInPod(conn, options),
    image: (_cas: CAS) => image,
    ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
    ...(o.warn ? { warn: o.warn } : {}),
  });
}
