// A CAS provisioned with upstream's kubectl-provision continues with scone, and back (issue 13): the target directory
// is built as upstream's plugin leaves it (SCONE-INTERFACE §10.2 steps 9–12, the file list of §10.3), with
// identity/config.json created by the SCONE CLI (here the stand-in, as upstream's sconecli container runs the CLI),
// owner_id_<svc>_<ns>.json derived and attested as upstream does it, the sessions pasted with envsubst's text
// substitution and uploaded with `session create`. scone then verifies, re-runs provisioning (which finds everything in
// place and changes nothing), and the upgrade's owner-session entry point updates the backup policy; the directory
// still holds exactly upstream's files (plus scone's journal), 0600 in 0700 directories, and upstream's CLI with
// upstream's config still owns the CAS.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parseProvisioningLines } from "../../../../src/cas/driver/commands.ts";
import type { ProvisionPorts } from "../../../../src/flows/provision/context.ts";
import { openOwnerClient, runProvision } from "../../../../src/flows/provision/flow.ts";
import { provisionOptionsFromFlags } from "../../../../src/flows/provision/options.ts";
import { postProvisioningPatch, renderProvisioningManifest } from "../../../../src/flows/provision/templates.ts";
import type { KubeClient } from "../../../../src/kube/client.ts";
import { recordingCommands, StandInWorld, standInSource } from "../../../harness/stand-in-world.ts";
import {
  patchedSpec,
  provisionAsUpstream,
  upstreamFiles,
  writeUpstreamCopies,
} from "../../../harness/upstream-target.ts";
import { FakeKube } from "./fake-world.ts";

const TIMEOUT = 60_000;
const NS = "prov";
const NAME = "mycas";
const VERSION = "6.0.6";
const NONCE = "00112233445566778899aabbccddeeff";
const CAS = { namespace: NS, name: NAME };
const OLD_MRENCLAVE = "ebccfec4dcb2474851cfd944fcac0bb9e9a78020b816f4b41a5b89a6ec373d0b";
const NEW_MRENCLAVE = "f".repeat(64);

const root = mkdtempSync(join(tmpdir(), "scone-upstream-layout-"));
const world = new StandInWorld(join(root, "world"));
/** Where upstream's CLI reached the CAS (its port-forward address differs; the stand-in knows a CAS by one address). */
let ADDRESS = "";
const target = join(root, "dot-cas");
const id = (f: string) => join(target, "identity", f);

const UPSTREAM_FILES = upstreamFiles({ name: NAME, namespace: NS, version: VERSION });

/** Upstream's CLI (the stand-in) with SCONE_CLI_CONFIG=config, argv as upstream's script passes it. */
async function upstreamCli(config: string, argv: string[]): Promise<string> {
  const r = await world.runner(config).run(argv, {}, []);
  if (r.exitCode !== 0) throw new Error(`${argv.slice(0, 2).join(" ")}: ${r.stderr}`);
  return r.stdout;
}

const kube = new FakeKube();
let consoleText = "";
let casKeyHash = "";
let before: Record<string, string> = {};
const calls: string[] = [];

function ports(): ProvisionPorts {
  return { kube, pollMs: 10, casSource: standInSource(world, recordingCommands(calls)) };
}

function options(extra: Record<string, unknown> = {}) {
  return provisionOptionsFromFlags(
    { name: NAME, namespace: NS, target, "set-version": VERSION, "dcap-api": "d".repeat(32), ...extra },
    { home: root },
  );
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

beforeAll(async () => {
  // The unprovisioned CAS and its console (§10.2 step 7), then upstream's steps 9–12.
  consoleText = await world.createCas(CAS);
  ADDRESS = world.address(CAS);
  const facts = parseProvisioningLines(consoleText);
  if (!facts) throw new Error("no console facts");
  casKeyHash = facts.casKeyHash;
  const run = { target, ...CAS, version: VERSION, address: ADDRESS, clientPort: 8081, ...facts, cli: upstreamCli };
  await provisionAsUpstream(run);
  const manifest = renderProvisioningManifest({
    name: NAME,
    namespace: NS,
    image: `registry.scontain.com/scone.cloud/cas:${VERSION}`,
    nonce: NONCE,
  });
  const patch = postProvisioningPatch({
    backup: true,
    backupControllerImage: `registry.scontain.com/scone.cloud/backup-controller:${VERSION}`,
  });
  // The CAS as upstream leaves it (status written by the operator).
  const spec = patchedSpec(manifest.object.spec as Record<string, unknown>, patch);
  const cas = { ...manifest.object, spec, status: { provisioned: "Yes", phase: "HEALTHY" } };
  writeUpstreamCopies(run, { provisioningStep: manifest.text, patch, manifest: JSON.stringify(cas) });
  kube.put(cas as never);
  kube.put({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `${NAME}-0`, namespace: NS },
    status: { phase: "Running" },
  } as never);
  kube.logs = () => consoleText;
  expect(filesUnder(target)).toEqual(UPSTREAM_FILES);
  before = Object.fromEntries(UPSTREAM_FILES.map((f) => [f, readFileSync(join(target, f), "utf8")]));
}, TIMEOUT);

afterAll(async () => {
  await world.stop();
  rmSync(root, { recursive: true, force: true });
});

describe("a ~/.cas written by upstream's kubectl-provision", () => {
  test(
    "--verify attests the CAS with upstream's owner config and reads the session 'provisioned'",
    async () => {
      const out = await runProvision(options({ verify: true }), ports());
      expect(out.error).toBeUndefined();
      expect(out.output).toEqual([`CAS '${NAME}' in namespace '${NS}' is attestable and provisioned.`]);
    },
    TIMEOUT,
  );

  test(
    "scone cas provision finds every effect in place: no provisioning, no session upload, no cluster write",
    async () => {
      calls.length = 0;
      const out = await runProvision(options({ nonce: NONCE }), ports());
      expect(out.error).toBeUndefined();
      const outcomes = Object.fromEntries(out.steps.map((s) => [s.name, s.outcome]));
      expect(outcomes).toEqual({
        "database-volume": "skipped",
        "create-cas": "skipped",
        "cas-pod": "done",
        "owner-identity": "skipped",
        attest: "done",
        "owner-config": "skipped",
        provision: "skipped",
        "owner-identity-files": "skipped",
        "session-cas-owner": "skipped",
        "session-cas-owner-primary-backup": "skipped",
        "session-provisioned": "skipped",
        "enable-features": "skipped",
      });
      expect(kube.writes).toEqual([]);
      expect(calls.filter((c) => ["cas provision", "session create", "session update"].includes(c))).toEqual([]);
      expect(out.output[0]).toBe(`PUBLIC CAS_KEY=${casKeyHash}`);
    },
    TIMEOUT,
  );

  test(
    "the upgrade's owner-session entry point updates the backup policy with the CLI's hash as predecessor",
    async () => {
      const owner = await openOwnerClient(
        {} as KubeClient,
        { ...CAS, target },
        { kube, casSource: standInSource(world) },
      );
      try {
        const current = await owner.client.readSession("cas-owner/primary-backup");
        expect(current.session).toContain(OLD_MRENCLAVE);
        const { hash } = await owner.client.updateSession(
          current.session.replaceAll(OLD_MRENCLAVE, NEW_MRENCLAVE),
          current.hash,
        );
        expect(hash).toMatch(/^[0-9a-f]{64}$/);
        expect(hash).not.toBe(current.hash);
      } finally {
        await owner.close();
      }
      // Back to upstream: its CLI with its config.json still owns the CAS and reads what scone stored.
      const read = await upstreamCli(id("config.json"), [
        "session",
        "read",
        "--cas",
        ADDRESS,
        "--cas-key",
        casKeyHash,
        "cas-owner/primary-backup",
      ]);
      expect(read).toContain(NEW_MRENCLAVE);
      expect(read).not.toContain(OLD_MRENCLAVE);
    },
    TIMEOUT,
  );

  test("the directory holds upstream's files (and scone's journal), 0600 in 0700 directories, identity unchanged", () => {
    expect(filesUnder(target)).toEqual([...UPSTREAM_FILES, `journal/provision-${NS}-${NAME}.json`].sort());
    for (const f of filesUnder(target))
      expect(`${f} ${(statSync(join(target, f)).mode & 0o777).toString(8)}`).toBe(`${f} 600`);
    for (const d of ["", "identity", "owner-config", "journal"]) {
      expect(`${d} ${(statSync(join(target, d)).mode & 0o777).toString(8)}`).toBe(`${d} 700`);
    }
    // scone rewrote none of upstream's identity files; the CLI added its own attestation entries to config.json.
    for (const f of UPSTREAM_FILES.filter((f) => f !== "identity/config.json")) {
      expect(readFileSync(join(target, f), "utf8")).toBe(before[f] as string);
    }
    const config = JSON.parse(readFileSync(id("config.json"), "utf8")) as { identity: string };
    expect(config.identity).toBe(JSON.parse(before["identity/config.json"] as string).identity);
  });
});
