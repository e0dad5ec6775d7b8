// The real helm (hack/helm-binaries.sh, built from the Go module proxy and cached) and the chart, for helm.test.ts
// and realnode/helm.test.ts.
import { spawnSync } from "node:child_process";
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "../..");
export const CHART = join(ROOT, "charts/scone-operator");

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export const run = (cmd: string, args: readonly string[], timeoutMs = 120_000): Run => {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8", timeout: timeoutMs, env: { ...process.env } });
  return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
};

/** The helm binary, built on first use (flock'ed and cached by the script). */
export function helmBinary(): string {
  const r = run("bash", ["hack/helm-binaries.sh"], 1_800_000);
  if (r.code !== 0) throw new Error(`hack/helm-binaries.sh failed:\n${r.stderr}`);
  return r.stdout.trim().split("\n").at(-1) ?? "";
}

/**
 * `helm install <release> <chart> --wait` into a namespace it creates, then `values` (--set … pairs). A suite
 * shares its cluster: other files created the CRDs with their own field managers, hence --force-conflicts
 * (docs/helm.md).
 */
export function installArgs(release: string, values: readonly string[]): string[] {
  return ["install", release, CHART, "--force-conflicts", "--create-namespace", "--wait", "--timeout", "4m", ...values];
}
