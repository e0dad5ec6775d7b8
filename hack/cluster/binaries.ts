// Where the control-plane binaries live: hack/kube-binaries.sh builds them once per version into a shared cache.
import { access, constants } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

export const DEFAULT_K8S_VERSION = "1.37.2";
const ETCD_VERSION = process.env.SCONE_ETCD_VERSION ?? "3.7.3";
const KWOK_VERSION = process.env.SCONE_KWOK_VERSION ?? "0.8.0";
const BUILD_SCRIPT = resolve(import.meta.dir, "../kube-binaries.sh");

export interface KubeBinaries {
  readonly k8sVersion: string;
  readonly etcd: string;
  readonly kubeApiserver: string;
  readonly kubeControllerManager: string;
  readonly kubeScheduler: string;
  readonly kubectl: string;
  readonly kwok: string;
  /** kwokctl's default node and pod Stages, extracted by the build script from the kwok module. */
  readonly kwokStages: string;
  /** kwok's PortForward CRD, likewise extracted: tests route a simulated pod's port to a local server with it. */
  readonly kwokPortForwardCrd: string;
  /** kwok's Logs and Exec CRDs: per-pod `kubectl logs`/`exec` routes (sim/kwok-cas uses them for CAS pods). */
  readonly kwokLogsCrd: string;
  readonly kwokExecCrd: string;
}

/** The version asked for through SCONE_K8S_VERSION, checked so a typo fails here and not in a Go build. */
export function requestedK8sVersion(env: Record<string, string | undefined> = process.env): string {
  const version = (env.SCONE_K8S_VERSION ?? DEFAULT_K8S_VERSION).replace(/^v/, "");
  if (!/^\d+\.\d+\.\d+$/.test(version)) {
    throw new Error(`SCONE_K8S_VERSION=${env.SCONE_K8S_VERSION}: expected a release like ${DEFAULT_K8S_VERSION}`);
  }
  return version;
}

/** SCONE_REAL_NODE=1 (or true): the cluster gets a real worker node too. Anything else but unset/0/false fails. */
export function requestedRealNode(env: Record<string, string | undefined> = process.env): boolean {
  const value = (env.SCONE_REAL_NODE ?? "").trim().toLowerCase();
  if (value === "" || value === "0" || value === "false") return false;
  if (value === "1" || value === "true") return true;
  throw new Error(`SCONE_REAL_NODE=${env.SCONE_REAL_NODE}: expected 1 (a real node) or 0 (KWOK nodes only)`);
}

export function kubeCacheDir(env: Record<string, string | undefined> = process.env): string {
  return env.SCONE_KUBE_CACHE ?? join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "scone", "kube");
}

export function binaryPaths(k8sVersion: string, cache = kubeCacheDir()): KubeBinaries {
  const k8s = join(cache, `k8s-v${k8sVersion}`);
  const kwok = join(cache, `kwok-v${KWOK_VERSION}`);
  return {
    k8sVersion,
    etcd: join(cache, `etcd-v${ETCD_VERSION}`, "etcd"),
    kubeApiserver: join(k8s, "kube-apiserver"),
    kubeControllerManager: join(k8s, "kube-controller-manager"),
    kubeScheduler: join(k8s, "kube-scheduler"),
    kubectl: join(k8s, "kubectl"),
    kwok: join(kwok, "kwok"),
    kwokStages: join(kwok, "default-stages.yaml"),
    kwokPortForwardCrd: join(kwok, "crd-portforwards.yaml"),
    kwokLogsCrd: join(kwok, "crd-logs.yaml"),
    kwokExecCrd: join(kwok, "crd-execs.yaml"),
  };
}

async function missing(paths: KubeBinaries): Promise<string[]> {
  const files = [
    paths.etcd,
    paths.kubeApiserver,
    paths.kubeControllerManager,
    paths.kubeScheduler,
    paths.kubectl,
    paths.kwok,
  ];
  const absent: string[] = [];
  for (const file of files) {
    if (
      !(await access(file, constants.X_OK).then(
        () => true,
        () => false,
      ))
    )
      absent.push(file);
  }
  for (const file of [paths.kwokStages, paths.kwokPortForwardCrd, paths.kwokLogsCrd, paths.kwokExecCrd]) {
    if (!(await Bun.file(file).exists())) absent.push(file);
  }
  return absent;
}

/** The cached binaries for a version; builds them first (minutes, once per machine) when any is missing. */
export async function ensureBinaries(k8sVersion: string, log: (line: string) => void): Promise<KubeBinaries> {
  const paths = binaryPaths(k8sVersion);
  const absent = await missing(paths);
  if (absent.length === 0) return paths;
  log(`building Kubernetes ${k8sVersion} binaries (missing: ${absent.join(", ")}); this takes minutes once`);
  const build = Bun.spawn(["bash", BUILD_SCRIPT, k8sVersion], { stdout: "pipe", stderr: "inherit" });
  const code = await build.exited;
  if (code !== 0) throw new Error(`hack/kube-binaries.sh ${k8sVersion} failed with exit code ${code}`);
  const stillAbsent = await missing(paths);
  if (stillAbsent.length > 0) {
    throw new Error(`hack/kube-binaries.sh ${k8sVersion} succeeded but left out: ${stillAbsent.join(", ")}`);
  }
  return paths;
}
