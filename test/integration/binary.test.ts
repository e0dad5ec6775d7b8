// The compiled binary on its own: copied ALONE into an empty directory (no repo, no node_modules), run with
// that directory as cwd and a fresh HOME, it must answer help, version and manifests, reject bad input with
// the right exit code and hint, and act as the kubectl-provision plugin through a symlink.
// Needs dist/scone (`make build`; `make test` builds it first); SCONE_BINARY=path tests another build.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };

const BINARY = process.env.SCONE_BINARY ?? join(import.meta.dir, "../../dist/scone");
const present = existsSync(BINARY);
if (!present) console.warn(`binary.test.ts skipped: ${BINARY} is missing — run 'make build' first`);

let dir = "";
let home = "";

function run(program: string, args: string[], extraEnv: Record<string, string> = {}) {
  const r = Bun.spawnSync([program, ...args], {
    cwd: dir,
    env: { HOME: home, PATH: "/usr/bin:/bin", ...extraEnv },
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}
const scone = (...args: string[]) => run("./scone", args);

describe.skipIf(!present)("compiled scone binary, alone in an empty directory", () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "scone-bin-"));
    home = mkdtempSync(join(tmpdir(), "scone-home-"));
    copyFileSync(BINARY, join(dir, "scone"));
    Bun.spawnSync(["chmod", "755", join(dir, "scone")]);
    symlinkSync("scone", join(dir, "kubectl-provision"));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });

  test("--help exits 0, lists the commands, no colour when piped", () => {
    const r = scone("--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Usage:");
    expect(r.stdout).toMatch(/ {2}cas +Provision and operate SCONE CAS instances/);
    expect(r.stdout).not.toContain("\u001b[");
  });

  test("version (text and json)", () => {
    const text = scone("version", "--client");
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^scone \S+ \(commit \S+, bun \d+\.\d+\.\d+\)\n$/);
    // No kubeconfig in the fresh HOME: the client only, saying so, still exit 0.
    const alone = scone("version");
    expect(alone.code).toBe(0);
    expect(alone.stdout).toEndWith(
      "cluster: not reachable, showing the client only (no kubeconfig found: pass --kubeconfig or set KUBECONFIG)\n",
    );
    const json = scone("version", "-o", "json");
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).cluster).toEqual({
      reachable: false,
      reason: expect.stringContaining("no kubeconfig"),
    });
    expect(JSON.parse(json.stdout)).toMatchObject({ version: expect.any(String), commit: expect.any(String) });
  });

  test("manifests: crds, operator and all are YAML documents", () => {
    const crds = scone("manifests", "crds");
    expect(crds.code).toBe(0);
    expect(crds.stderr).toBe("");
    expect(crds.stdout).toContain("kind: CustomResourceDefinition");
    const operator = scone("manifests", "operator", "-n", "scone-test");
    expect(operator.code).toBe(0);
    expect(operator.stdout).toContain("kind: Deployment");
    expect(operator.stdout).toContain("namespace: scone-test");
    const all = scone("manifests", "all");
    expect(all.stdout.indexOf("kind: CustomResourceDefinition")).toBeLessThan(all.stdout.indexOf("kind: Deployment"));
  });

  test("images lists one reference per line, honouring a mirror; scone's own image first, apart", () => {
    const r = scone("images", "--image-registry", "mirror.example/scone", "--set-version", "6.0.5");
    expect(r.code).toBe(0);
    const [operator, blank, ...services] = r.stdout.trimEnd().split("\n");
    expect(operator).toBe(`mirror.example/scone/scone:${pkg.version}`);
    expect(blank).toBe("");
    expect(services).toContain("mirror.example/scone/cas:6.0.5");
    expect(services.every((l) => l.startsWith("mirror.example/scone/") && l.endsWith(":6.0.5"))).toBe(true);
  });

  test("a bad flag exits 2 (usage) with the did-you-mean and the help hint", () => {
    const r = scone("cas", "provision", "mycas", "--foo");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("scone cas provision: unknown flag --foo (did you mean --force?)");
    expect(r.stderr).toContain("Run 'scone cas provision --help' for usage.");
  });

  test("a missing argument exits 2 (usage)", () => {
    const r = scone("cas", "provision");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("scone cas provision: missing argument NAME");
  });

  test("a flag whose upstream behaviour is undocumented is refused (exit 2) naming it and what to do instead", () => {
    // Upstream's vault --verify runs a verifier pod whose image, command and key are not published.
    const r = scone("vault", "provision", "myvault", "--verify");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("scone vault provision: --verify is refused");
    expect(r.stderr).toContain(".status.initStatement");
  });

  test("completion bash is valid bash", () => {
    const r = scone("completion", "bash");
    expect(r.code).toBe(0);
    const check = Bun.spawnSync(["bash", "-n"], { stdin: new TextEncoder().encode(r.stdout) });
    expect(check.exitCode).toBe(0);
  });

  test("as kubectl-provision (symlink): --version, and the upstream syntax reaches the nonce check", () => {
    const version = run("./kubectl-provision", ["--version"]);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    const nonce = run("./kubectl-provision", ["cas", "mycas", "-n", "ns", "--nonce", "xyz"]);
    expect(nonce.code).toBe(2);
    expect(nonce.stderr).toContain("kubectl provision: invalid value 'xyz' for --nonce");
  });

  test("as kubectl-provision found on PATH, the way kubectl runs plugins", () => {
    const r = run("kubectl-provision", ["--help"], { PATH: `${dir}:/usr/bin:/bin` });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("kubectl provision SVC [NAME] [options]");
  });
});
