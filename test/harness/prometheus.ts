// prometheus and promtool (hack/prometheus-binaries.sh: built from the Go module proxy, cached, flock-serialised),
// a rule file written from src/metrics/rules.ts, and a real Prometheus on loopback for the monitoring tests.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { freePort } from "../../hack/cluster/ports.ts";
import { alertRuleGroups, type RuleOptions } from "../../src/metrics/rules.ts";
import { waitFor } from "./kube.ts";

const ROOT = join(import.meta.dir, "../..");

export interface PrometheusBinaries {
  readonly prometheus: string;
  readonly promtool: string;
}

/** Builds them on first use (many minutes on a small machine; `make prometheus-binaries` does it ahead). */
export function prometheusBinaries(): PrometheusBinaries {
  const r = spawnSync("bash", ["hack/prometheus-binaries.sh"], { cwd: ROOT, encoding: "utf8", timeout: 3_600_000 });
  if (r.status !== 0) throw new Error(`hack/prometheus-binaries.sh failed:\n${r.stderr}`);
  const dir = r.stdout.trim().split("\n").at(-1) ?? "";
  return { prometheus: join(dir, "prometheus"), promtool: join(dir, "promtool") };
}

/** A private directory (0700) removed by the returned function. */
export function scratchDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes the alert rules as a Prometheus rule file; returns its path. */
export function writeRuleFile(dir: string, opts: RuleOptions = {}, name = "scone-rules.yaml"): string {
  const path = join(dir, name);
  writeFileSync(path, stringify({ groups: alertRuleGroups(opts) }, { lineWidth: 0 }), { mode: 0o600 });
  return path;
}

export function promtool(bin: PrometheusBinaries, args: readonly string[]): { code: number; output: string } {
  const r = spawnSync(bin.promtool, [...args], { encoding: "utf8", timeout: 120_000 });
  return { code: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

export interface RunningPrometheus {
  readonly url: string;
  /** GET a path of the HTTP API, parsed; throws on a non-success answer. */
  api<T>(path: string): Promise<T>;
  stop(): Promise<void>;
}

/**
 * Prometheus on 127.0.0.1 (a free port), scraping `target` (host:port) every second and evaluating `ruleFile` every
 * second, its TSDB in `dir`. Resolves once it answers /-/ready.
 */
export async function startPrometheus(
  bin: PrometheusBinaries,
  opts: { readonly dir: string; readonly target: string; readonly ruleFile: string },
): Promise<RunningPrometheus> {
  const config = {
    global: { scrape_interval: "1s", evaluation_interval: "1s", scrape_timeout: "900ms" },
    rule_files: [opts.ruleFile],
    scrape_configs: [{ job_name: "scone-operator", static_configs: [{ targets: [opts.target] }] }],
  };
  const configPath = join(opts.dir, "prometheus.yml");
  writeFileSync(configPath, stringify(config), { mode: 0o600 });
  mkdirSync(join(opts.dir, "data"), { recursive: true, mode: 0o700 });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = Bun.spawn(
    [
      bin.prometheus,
      `--config.file=${configPath}`,
      `--storage.tsdb.path=${join(opts.dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdout: Bun.file(join(opts.dir, "prometheus.log")), stderr: Bun.file(join(opts.dir, "prometheus.err")) },
  );
  const stop = async () => {
    proc.kill("SIGTERM");
    await proc.exited;
  };
  try {
    await waitFor(
      "Prometheus ready",
      async () => {
        if (proc.exitCode !== null)
          throw new Error(
            `prometheus exited ${proc.exitCode}: ${await Bun.file(join(opts.dir, "prometheus.err")).text()}`,
          );
        const r = await fetch(`${url}/-/ready`).catch(() => undefined);
        return r?.ok ? true : undefined;
      },
      60_000,
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    url,
    async api<T>(path: string): Promise<T> {
      const r = await fetch(`${url}${path}`);
      const body = (await r.json()) as { status: string; data: T; error?: string };
      if (body.status !== "success") throw new Error(`${path}: ${body.error ?? r.status}`);
      return body.data;
    },
    stop,
  };
}
