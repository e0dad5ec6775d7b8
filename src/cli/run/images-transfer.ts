// `scone images save|verify|push|mirror`: carrying every image of a SCONE version (src/install/images.ts) and its
// cosign signatures across an air gap (src/images/airgap). Thin shell: flags → files and registry clients →
// summary (text, or -o json|yaml) and exit 1 when anything failed.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openArchive, verifyArchive } from "../../images/airgap/archive.ts";
import { platformProblem } from "../../images/airgap/layout.ts";
import { type CopySummary, parseTarget, pushArchive } from "../../images/airgap/push.ts";
import { RegistryWriter } from "../../images/airgap/registry-writer.ts";
import { type SaveSummary, saveImages } from "../../images/airgap/save.ts";
import { credentialsFromDockerConfig, dockerConfigCredentials } from "../../images/signature/credentials.ts";
import { listImages } from "../../install/images.ts";
import { textFlag } from "../flags.ts";
import { isData, renderData } from "../output.ts";
import { CliError, EXIT_USAGE, type SconeContext } from "../spec.ts";

/** A required flag or argument (the parser enforces presence; this narrows the type). */
function need(a: SconeContext["args"], name: string): string {
  const v = textFlag(a[name]);
  if (v === undefined) throw new CliError(`--${name} is required`, EXIT_USAGE);
  return v;
}

function readFlagFile(flag: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new CliError(`--${flag} ${path}: ${e instanceof Error ? e.message : String(e)}`, EXIT_USAGE);
  }
}

/** One client per registry host: credentials from --registry-auth (a docker config.json) or the docker config. */
function clients(a: SconeContext["args"]): (registry: string) => RegistryWriter {
  const authFile = textFlag(a["registry-auth"]);
  let fromFlag: unknown;
  if (authFile) {
    try {
      fromFlag = JSON.parse(readFlagFile("registry-auth", authFile));
    } catch (e) {
      if (e instanceof CliError) throw e;
      throw new CliError(
        `--registry-auth ${authFile}: not JSON (expected a docker config.json with "auths")`,
        EXIT_USAGE,
      );
    }
  }
  const caFile = textFlag(a["registry-ca"]);
  const ca = caFile ? readFlagFile("registry-ca", caFile) : undefined;
  if (ca !== undefined && !ca.includes("-----BEGIN CERTIFICATE-----"))
    throw new CliError(`--registry-ca ${caFile}: no PEM certificate in it`, EXIT_USAGE);
  const fromConfig = dockerConfigCredentials();
  const credentials = (host: string) =>
    (fromFlag !== undefined ? credentialsFromDockerConfig(fromFlag, host) : undefined) ?? fromConfig(host);
  const made = new Map<string, RegistryWriter>();
  return (registry) => {
    let c = made.get(registry);
    if (!c) {
      c = new RegistryWriter(registry, { credentials, ...(ca ? { ca } : {}), timeoutMs: 30 * 60_000 });
      made.set(registry, c);
    }
    return c;
  };
}

/** Progress lines on a terminal only (a log or a pipe gets the summary alone). */
function progress(): { line: (s: string) => void; done: () => void } {
  if (!process.stderr.isTTY) return { line: () => {}, done: () => {} };
  return { line: (s) => process.stderr.write(`\r\x1b[K${s}`), done: () => process.stderr.write("\r\x1b[K") };
}

function emit(a: SconeContext["args"], data: object, text: string, failed: readonly string[]): void {
  process.stdout.write(isData(a.output) ? renderData(a.output, data) : text);
  if (failed.length > 0) throw new CliError(`${failed.length} failure(s):\n${failed.join("\n")}`);
}

function sourceImages(a: SconeContext["args"]) {
  const list = listImages(textFlag(a["set-version"]), textFlag(a["image-registry"]), textFlag(a["image-prefix"]));
  return [list.operator, ...list.services];
}

function platforms(a: SconeContext["args"]): string | undefined {
  const p = textFlag(a.platform);
  const problem = p ? platformProblem(p) : undefined;
  if (problem) throw new CliError(problem, EXIT_USAGE);
  return p;
}

const saveText = (s: SaveSummary) =>
  `saved ${s.images} image(s) and ${s.signatures} signature(s) into ${s.archive}: ${s.fetched} blob(s) fetched (${s.bytes} bytes), ${s.kept} kept from an earlier run\n${s.unsigned.map((i) => `unsigned (no signature in the source registry): ${i}\n`).join("")}`;

const copyText = (to: string, s: CopySummary) =>
  `${to}: ${s.copied} blob(s) copied, ${s.skipped} skipped (already present), ${s.manifests} manifest(s) put, ${s.failed.length} failed\n${s.pushed.map((p) => `${p.image}@${p.digest}\n`).join("")}`;

async function save(ctx: SconeContext, to: string) {
  const a = ctx.args;
  const p = progress();
  const summary = await saveImages({
    images: sourceImages(a),
    to,
    ...(platforms(a) ? { platforms: platforms(a) } : {}),
    client: clients(a),
    progress: p.line,
  });
  p.done();
  return summary;
}

export async function runSave(ctx: SconeContext): Promise<void> {
  const s = await save(ctx, need(ctx.args, "to"));
  emit(ctx.args, s, saveText(s), s.failed.length > 0 ? [...s.failed, `run the same command again to resume`] : []);
}

export async function runVerify(ctx: SconeContext): Promise<void> {
  const file = need(ctx.args, "file");
  const r = verifyArchive(openArchive(file));
  emit(
    ctx.args,
    { archive: file, ...r },
    `${file}: ${r.images} manifest(s), ${r.blobs} blob(s), ${r.bytes} bytes checked${r.problems.length ? "" : ": all digests and sizes match"}\n`,
    r.problems,
  );
}

export async function runPush(ctx: SconeContext): Promise<void> {
  const a = ctx.args;
  const target = targetOf(a);
  const p = progress();
  const s = await pushArchive(openArchive(need(a, "from")), target, clients(a)(target.registry), p.line);
  p.done();
  emit(a, s, copyText(need(a, "to"), s), s.failed);
}

export async function runMirror(ctx: SconeContext): Promise<void> {
  const a = ctx.args;
  const target = targetOf(a);
  const dir = mkdtempSync(join(tmpdir(), "scone-mirror-"));
  try {
    const saved = await save(ctx, join(dir, "images.tar"));
    if (saved.failed.length > 0) return emit(a, { save: saved }, saveText(saved), saved.failed);
    const p = progress();
    const s = await pushArchive(openArchive(join(dir, "images.tar")), target, clients(a)(target.registry), p.line);
    p.done();
    emit(a, s, copyText(need(a, "to"), s), s.failed);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function targetOf(a: SconeContext["args"]) {
  try {
    return parseTarget(need(a, "to"), textFlag(a["target-prefix"]) ?? "");
  } catch (e) {
    throw new CliError(e instanceof Error ? e.message : String(e), EXIT_USAGE);
  }
}
