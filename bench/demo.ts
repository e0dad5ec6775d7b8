// `make demo` with everything cached (issue 18: ≤ 15 s): the wall time of the whole make target — its prerequisites
// (build.ts, node-binaries, kube-binaries: all cached) and hack/demo.ts — and where it goes, from the time each of the
// demo's steps (`==> …`) and the cluster's start lines appear. The demo checks its end state itself; a failed demo
// fails this bench. Figures for the table: the absolute time against the target (no baseline runs the demo).
// Needs root (the demo runs the real node; one per machine: not while the realnode tests run); skips otherwise.
// SCONE_BENCH_DEMO_RUNS (default 1) runs; the figure is their median.
// SCONE_BENCH_DEMO_FRESH=1 also times what a fresh machine builds for Kubernetes (≈10+ min of both cores): the
// demo's version (control plane + kubelet/kube-proxy) into an empty Go build cache, then the second version's
// control plane that `make demo` built before (from the Go module cache, which stays; ~/.cache/scone is not touched).
// Run: node_modules/.bin/bun run bench/demo.ts
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { median, reportFigure } from "./_figures.ts";

const REPO = resolve(import.meta.dir, "..");
const RUNS = Number(process.env.SCONE_BENCH_DEMO_RUNS ?? 1);

if (process.getuid?.() !== 0) {
  console.log("skipped: the demo runs a real node (root)");
  process.exit(0);
}

interface Mark {
  at: number;
  what: string;
}

/** One `make demo`: total seconds and the time marks of its steps. */
async function oneDemo(): Promise<{ total: number; marks: Mark[] }> {
  const t0 = performance.now();
  const marks: Mark[] = [];
  // -o node_modules/.installed: `make bench` installed the packages already; the demo's other prerequisites run.
  const p = Bun.spawn(["make", "-s", "-o", "node_modules/.installed", "demo"], {
    cwd: REPO,
    stdout: "pipe",
    stderr: "inherit",
    env: { ...process.env, FORCE_COLOR: "0" },
  });
  const decoder = new TextDecoder();
  let pending = "";
  let tail: string[] = [];
  for await (const chunk of p.stdout) {
    const lines = (pending + decoder.decode(chunk, { stream: true })).split("\n");
    pending = lines.pop() ?? "";
    const at = (performance.now() - t0) / 1000;
    for (const line of lines) {
      tail = [...tail.slice(-40), line];
      const step = /^==> (.*)$/.exec(line);
      const cluster = /^ {4}((etcd up|kube-apiserver ready|cluster ready|real node)[^(]*)/.exec(line);
      if (step?.[1]) marks.push({ at, what: step[1].slice(0, 90) });
      else if (cluster?.[1]) marks.push({ at, what: `  ${cluster[1].trim().slice(0, 88)}` });
    }
  }
  const code = await p.exited;
  const total = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`make demo exited ${code}; its last lines:\n${tail.join("\n")}`);
  marks.push({ at: total, what: "demo ok, cleaned up" });
  return { total, marks };
}

/** A fresh machine's Kubernetes builds, in an empty Go build cache (hack/kube-wrapper.sh, as the scripts build). */
function freshKubeBuilds(version: string, other: string): { one: number; second: number } {
  const work = mkdtempSync(join(tmpdir(), "scone-bench-kube-"));
  const build = (v: string, cmds: string[]) => {
    const t = performance.now();
    const r = Bun.spawnSync(
      [
        "bash",
        "-c",
        `. "${REPO}/hack/kube-wrapper.sh" && kube_wrapper_build "$0" "$1/k8s-v$0" "$1" "\${@:2}"`,
        v,
        work,
        ...cmds,
      ],
      {
        stdout: "inherit",
        stderr: "inherit",
        env: {
          ...process.env,
          GOCACHE: join(work, "gocache"),
          GOTOOLCHAIN: "local",
          GOFLAGS: "-mod=mod",
          CGO_ENABLED: "0",
        },
      },
    );
    if (r.exitCode !== 0) throw new Error(`building Kubernetes v${v} ${cmds.join(" ")} failed`);
    return (performance.now() - t) / 1000;
  };
  try {
    const controlPlane = ["cmd/kube-apiserver", "cmd/kube-controller-manager", "cmd/kube-scheduler", "cmd/kubectl"];
    const one = build(version, controlPlane) + build(version, ["cmd/kubelet", "cmd/kube-proxy"]);
    const second = build(other, controlPlane);
    return { one, second };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const totals: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const { total, marks } = await oneDemo();
  totals.push(total);
  console.log(`make demo (cached), run ${i + 1}: ${total.toFixed(1)} s`);
  let last = 0;
  for (const m of marks) {
    console.log(`  ${m.at.toFixed(1).padStart(6)} s  (+${(m.at - last).toFixed(1).padStart(5)})  ${m.what}`);
    last = m.at;
  }
}
const cached = median(totals);
reportFigure({
  figure: "make demo, everything cached",
  baseline: "-",
  scone: `${cached.toFixed(1)} s`,
  ratio: cached,
  target: { op: "<=", value: 15 },
});

if (process.env.SCONE_BENCH_DEMO_FRESH === "1") {
  const latest = process.env.SCONE_K8S_VERSION ?? "1.37.2";
  const oldest = process.env.SCONE_BENCH_K8S_OLDEST ?? "1.35.4";
  const { one, second } = freshKubeBuilds(latest, oldest);
  console.log(
    `fresh Go build cache: Kubernetes ${latest} (control plane, kubelet, kube-proxy) ${one.toFixed(0)} s; ` +
      `then ${oldest}'s control plane ${second.toFixed(0)} s (what make demo no longer builds)`,
  );
  reportFigure({
    figure: "make demo, fresh machine: Kubernetes builds",
    baseline: `two versions ${((one + second) / 60).toFixed(1)} min`,
    scone: `one ${(one / 60).toFixed(1)} min`,
    ratio: one / (one + second),
  });
}
