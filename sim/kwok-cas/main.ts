// The CAS pod runtime for KWOK clusters as a process (tests and hack/demo.ts use startCasPodRuntime directly):
//   bun sim/kwok-cas/main.ts --kubeconfig K --state-dir D [--snapshot-interval 3s]
// Runs until SIGINT/SIGTERM, then stops every simulated CAS (their PVC data stays in D) and removes its kwok objects.
import { durationMs } from "./plan.ts";
import { startCasPodRuntime } from "./runtime.ts";

const USAGE = "usage: bun sim/kwok-cas/main.ts --kubeconfig FILE --state-dir DIR [--snapshot-interval DURATION]";

function parse(argv: readonly string[]): { kubeconfig: string; stateDir: string; snapshotIntervalMs?: number } {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i] ?? "";
    const eq = raw.indexOf("=");
    const name = eq > 0 ? raw.slice(0, eq) : raw;
    if (!["--kubeconfig", "--state-dir", "--snapshot-interval"].includes(name)) {
      throw new Error(`unknown argument "${raw}"\n${USAGE}`);
    }
    const value = eq > 0 ? raw.slice(eq + 1) : argv[++i];
    if (value === undefined || value === "") throw new Error(`${name}: missing value\n${USAGE}`);
    values.set(name, value);
  }
  const kubeconfig = values.get("--kubeconfig") ?? process.env.KUBECONFIG;
  if (!kubeconfig) throw new Error(`--kubeconfig: required (or set KUBECONFIG)\n${USAGE}`);
  const stateDir = values.get("--state-dir");
  if (!stateDir) throw new Error(`--state-dir: required (where CAS databases and pod logs live)\n${USAGE}`);
  const interval = values.get("--snapshot-interval");
  const snapshotIntervalMs = interval === undefined ? undefined : durationMs(interval);
  if (interval !== undefined && snapshotIntervalMs === undefined) {
    throw new Error(`--snapshot-interval: "${interval}" is not a duration (examples: 3s, 500ms, 1m)`);
  }
  return { kubeconfig, stateDir, snapshotIntervalMs };
}

try {
  const args = parse(process.argv.slice(2));
  const runtime = await startCasPodRuntime({
    kubeconfig: args.kubeconfig,
    stateDir: args.stateDir,
    defaultSnapshotIntervalMs: args.snapshotIntervalMs,
  });
  console.error(`[kwok-cas] watching CAS pods; state in ${args.stateDir}`);
  let stopping = false;
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    void runtime.stop().finally(() => process.exit(code));
  };
  process.on("SIGINT", () => stop(130));
  process.on("SIGTERM", () => stop(143));
} catch (err) {
  console.error((err as Error).message);
  process.exit(2);
}
