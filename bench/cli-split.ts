// Where one CAS driver call goes (issue 13): `session create` of a signed session through CasDriver +
// LocalCliRunner with a local CLI binary (SCONE_BENCH_CLI, default the compiled stand-in .build/scone-cli-sim)
// against the simulated CAS (sim/cas on loopback), split into: the runner's own cost (temp dir, input file, spawn,
// pipes — measured with a CLI that only exits), the CLI's start (`--version`), the CLI's own work before its request
// (config, identity, session pre-check: the same call with the CAS unreachable and no retries, minus the start), and
// the request (TLS handshake + CAS work: a fresh connection per request from one process, as each CLI process makes
// one; and on a kept-alive connection = CAS work). Sequential calls, medians of CALLS. Figures, no targets.
// Run: node_modules/.bin/bun run bench/cli-split.ts
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CasDriver } from "../src/cas/driver/driver.ts";
import { LocalCliRunner } from "../src/cas/driver/runner.ts";
import { admitOperator } from "../src/operator/policies/admit.ts";
import { LocalCliSource } from "../test/harness/local-cli-source.ts";
import { provisionStandInCas } from "../test/harness/stand-in-cas.ts";
import { generateCliConfig, sessionSigner, sessionSigningSeed } from "../test/support/cas-legacy/identity.ts";
import { signSession } from "../test/support/cas-legacy/session.ts";
import { median } from "./_figures.ts";

const CALLS = Number(process.env.SCONE_BENCH_CALLS ?? 40);
const cli = process.env.SCONE_BENCH_CLI ?? join(process.cwd(), ".build/scone-cli-sim");
const work = mkdtempSync(join(tmpdir(), "scone-bench-split-"));

async function timeMany(f: (i: number) => Promise<unknown>): Promise<number> {
  await f(-1);
  const ms: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const t = performance.now();
    await f(i);
    ms.push(performance.now() - t);
  }
  return median(ms);
}

/** CPU time (user + system, ms) of each spawned CLI, by label: on a loaded machine CPU, not wall time, is the cost. */
const cpu = new Map<string, number[]>();

async function spawnOnce(argv: string[], env: Record<string, string>, label?: string): Promise<number> {
  const p = Bun.spawn(argv, { env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  const code = await p.exited;
  const usage = p.resourceUsage();
  if (label && usage) {
    const list = cpu.get(label) ?? [];
    list.push(Number(usage.cpuTime.user + usage.cpuTime.system) / 1000);
    cpu.set(label, list);
  }
  return code;
}

let stop: (() => Promise<unknown>) | undefined;
try {
  let casAddress = "";
  const operatorConfig = join(work, "operator.json");
  const source = new LocalCliSource({ binary: [cli], operatorConfigPath: operatorConfig, address: () => casAddress });
  const cas = { name: "cas", namespace: "bench" };
  const running = await provisionStandInCas({
    dataDir: join(work, "cas"),
    source,
    cas,
    ownerConfigPath: join(work, "owner", "config.json"),
    register: (_c, a) => {
      casAddress = a;
    },
  });
  stop = () => running.sim.stop();
  const admitted = await admitOperator(source, { cas, ownerConfigPath: join(work, "owner", "config.json") });
  const author = await generateCliConfig("bench-author");
  const signer = await sessionSigner(author);
  const seed = sessionSigningSeed(author);
  const bodies: string[] = [];
  for (let i = -1; i < 4 * CALLS + 4; i++) {
    const text = `version: "0.3.10"\nname: split-${i + 1}\npredecessor: ~\nservices:\n  - name: app\n    command: app ${i}\naccess_policy:\n  read:\n    - ${admitted.operatorKeyHash}\n  update:\n    - CREATOR\ncreator:\n  signer: ${signer}\n`;
    const signed = await signSession(text, seed);
    bodies.push(JSON.stringify({ session: signed.session, signatures: signed.signatures }));
  }
  const target = { address: casAddress, casKey: admitted.casKey };
  const driver = new CasDriver(new LocalCliRunner({ binary: [cli], configPath: operatorConfig }));
  let n = 0;
  const whole = await timeMany(() => driver.createSession(target, bodies[n++]!));

  // The same call without the runner: the file prepared beforehand, one spawn.
  const env = { PATH: process.env.PATH ?? "", SCONE_CLI_CONFIG: operatorConfig };
  const file = join(work, "s.json");
  const direct = await timeMany(async () => {
    writeFileSync(file, bodies[n++]!);
    await spawnOnce([cli, "session", "create", "--cas", casAddress, "--cas-key", admitted.casKey, file], env, "create");
  });
  const start = await timeMany(() => spawnOnce([cli, "--version"], env, "version"));
  // Everything the CLI does before its request: the CAS address answers nothing (a closed port), no retries.
  const noCas = await timeMany(() =>
    spawnOnce([cli, "session", "create", "--cas", "127.0.0.1:1", file], { ...env, SCONE_CLI_RETRIES: "0" }, "closed"),
  );
  // The runner's own cost: a CLI that exits at once, through LocalCliRunner with the same input file.
  const trueRunner = new LocalCliRunner({ binary: ["/bin/true"], configPath: operatorConfig });
  const viaRunner = await timeMany(() =>
    trueRunner.run(["session", "create", { inputFile: "session.json" }], {}, [
      { name: "session.json", content: bodies[0]! },
    ]),
  );
  const bare = await timeMany(() => spawnOnce(["/bin/true"], env));
  // The request alone, from this process as the operator's identity: a new TLS connection each time (as each CLI
  // process makes), then on one kept-alive connection (the CAS's work and HTTP only). The route is the stand-in's
  // private one (sim/cas README "Stand-in CLI routes"), used here only to time it.
  const config = JSON.parse(readFileSync(operatorConfig, "utf8")) as {
    identity: string;
    cas_db: Record<string, { chain: string }>;
  };
  const pem = (label: string) =>
    new RegExp(`-----BEGIN ${label}-----[\\s\\S]*?-----END ${label}-----`).exec(config.identity)?.[0] ?? "";
  const tls = {
    ca: config.cas_db[casAddress]?.chain ?? "",
    cert: pem("CERTIFICATE"),
    key: pem("PRIVATE KEY"),
    checkServerIdentity: () => undefined,
  };
  const post = async (keepalive: boolean) => {
    const r = await fetch(`https://${casAddress}/_cli/v1/sessions?mode=create`, {
      method: "POST",
      body: bodies[n++]!,
      keepalive,
      tls,
    });
    await r.text();
    if (r.status !== 200 && r.status !== 201) throw new Error(`CAS answered ${r.status}`);
  };
  const fresh = await timeMany(() => post(false));
  const kept = await timeMany(() => post(true));

  const f = (x: number) => x.toFixed(1);
  console.log(`session create through CasDriver + LocalCliRunner (${cli}), median of ${CALLS} sequential calls:`);
  console.log(`  whole call                               ${f(whole)} ms`);
  console.log(
    `  runner overhead (dir, file, spawn, pipes) ${f(viaRunner - bare)} ms (runner + /bin/true ${f(viaRunner)} ms, bare spawn of /bin/true ${f(bare)} ms); whole − direct spawn ${f(whole - direct)} ms`,
  );
  console.log(`  CLI start (--version)                    ${f(start)} ms`);
  console.log(
    `  CLI work before the request              ${f(noCas - start)} ms (create against a closed port ${f(noCas)} ms)`,
  );
  const cpuOf = (label: string) => f(median(cpu.get(label) ?? []));
  console.log(
    `  CLI CPU time (user+sys): --version ${cpuOf("version")} ms, create against a closed port ${cpuOf("closed")} ms, create ${cpuOf("create")} ms`,
  );
  console.log(
    `  request: TLS handshake + CAS work        ${f(direct - noCas)} ms (in process: new connection ${f(fresh)} ms, kept-alive ${f(kept)} ms)`,
  );
} finally {
  await stop?.();
  rmSync(work, { recursive: true, force: true });
}
