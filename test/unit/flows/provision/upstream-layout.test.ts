// A CAS provisioned with upstream's kubectl-provision continues with scone, and back (issue 13): the target directory
// is built as upstream's plugin leaves it (SCONE-INTERFACE §10.2 steps 9–12, the file list of §10.3), with
// identity/config.json created by the SCONE CLI (here the stand-in, as upstream's sconecli container runs the CLI),
// owner_id_<svc>_<ns>.json derived and attested as upstream does it, the sessions pasted with envsubst's text
// substitution and uploaded with `session create`. scone then verifies, re-runs provisioning (which finds everything in
// place and changes nothing), and the upgrade's owner-session entry point updates the backup policy; the directory
// still holds exactly upstream's files (plus scone's journal), 0600 in 0700 directories, and upstream's CLI with
// upstream's config still owns the CAS.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parseProvisioningLines, UPSTREAM_TOLERATIONS, verifierFlags } from "../../../../src/cas/driver/commands.ts";
import type { ProvisionPorts } from "../../../../src/flows/provision/context.ts";
import { openOwnerClient, runProvision } from "../../../../src/flows/provision/flow.ts";
import { provisionOptionsFromFlags } from "../../../../src/flows/provision/options.ts";
import {
  BACKUP_POLICY_YAML,
  CAS_OWNER_YAML,
  PROVISIONED_YAML,
  postProvisioningPatch,
  renderProvisioningManifest,
} from "../../../../src/flows/provision/templates.ts";
import type { KubeClient } from "../../../../src/kube/client.ts";
import { FakeKube } from "./fake-world.ts";
import { recordingCommands, StandInWorld, standInSource } from "./stand-in-source.ts";

const TIMEOUT = 60_000;
const NS = "prov";
const NAME = "mycas";
const VERSION = "6.0.6";
const NONCE = "00112233445566778899aabbccddeeff";
const CAS = { namespace: NS, name: NAME };
const CLUSTER_ADDRESS = `${NAME}.${NS}:8081`;
const OLD_MRENCLAVE = "ebccfec4dcb2474851cfd944fcac0bb9e9a78020b816f4b41a5b89a6ec373d0b";
const NEW_MRENCLAVE = "f".repeat(64);

const root = mkdtempSync(join(tmpdir(), "scone-upstream-layout-"));
const world = new StandInWorld(join(root, "world"));
/** Where upstream's CLI reached the CAS (its port-forward address differs; the stand-in knows a CAS by one address). */
let ADDRESS = "";
const target = join(root, "dot-cas");
const id = (f: string) => join(target, "identity", f);
const oc = (f: string) => join(target, "owner-config", f);

/** The files upstream's plugin leaves under $TARGET_DIR (SCONE-INTERFACE §10.3), for this CAS. */
const UPSTREAM_FILES = [
  "identity/config.json",
  "identity/base-owner-identity.json",
  `identity/owner_id_${NAME}_${NS}.json`,
  `identity/cas-owner-session-${NAME}-${NS}.yaml`,
  "identity/backup-controller-session-cas-owner_primary-backup.yaml",
  "identity/provisioned.yaml",
  "identity/session.tmp",
  "owner-config/config.toml",
  `owner-config/cas-${NS}-${NAME}-${VERSION}-provisioning-step.yaml`,
  `owner-config/cas-${NS}-${NAME}-${VERSION}-patch.json`,
  `owner-config/cas-${NS}-${NAME}-${VERSION}-manifest.yaml`,
  ".forward-pid",
];

function writeUpstream(path: string, text: string): void {
  mkdirSync(join(path, ".."), { recursive: true, mode: 0o700 });
  writeFileSync(path, text, { mode: 0o600 });
}

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
  // The unprovisioned CAS and its console (§10.2 step 7).
  consoleText = await world.createCas(CAS);
  ADDRESS = world.address(CAS);
  const facts = parseProvisioningLines(consoleText);
  if (!facts) throw new Error("no console facts");
  casKeyHash = facts.casKeyHash;
  const tolerations = verifierFlags(UPSTREAM_TOLERATIONS);

  // Step 9: the owner config; step 10: `scone cas provision … with-attestation $SGX_TOLERATIONS` in the sconecli
  // container with SCONE_CLI_CONFIG=/identity/config.json — the CLI creates config.json.
  writeUpstream(
    oc("config.toml"),
    `enclave_reconnect_timeout = "24h"\n[api_identity]\ncommon_name = "${NAME}"\nalt_names = ["${NAME}-0", "localhost"]\n\n[dcap]\nsubscription_key = "${"d".repeat(32)}"\n\n[audit_log]\nmode = "signed"\nsink = "file"\n\n`,
  );
  await upstreamCli(id("config.json"), [
    "cas",
    "provision",
    ADDRESS,
    "-c",
    casKeyHash,
    "--token",
    facts.token,
    "--config-file",
    oc("config.toml"),
    "with-attestation",
    ...tolerations,
  ]);

  // Step 11: jq derives the owner identity; the CLI attests with it; jq renames the cas_db key.
  const config = JSON.parse(readFileSync(id("config.json"), "utf8")) as Record<string, unknown>;
  const derived = {
    identity: config.identity,
    cas_db: {},
    session_signing_keypair_ed25519_seed: config.session_signing_keypair_ed25519_seed,
  };
  writeUpstream(id("base-owner-identity.json"), `${JSON.stringify(derived, null, 2)}\n`);
  const ownerId = id(`owner_id_${NAME}_${NS}.json`);
  writeUpstream(ownerId, `${JSON.stringify(derived, null, 2)}\n`);
  await upstreamCli(ownerId, ["cas", "attest", ADDRESS, "-c", casKeyHash, ...tolerations]);
  const attested = JSON.parse(readFileSync(ownerId, "utf8")) as { cas_db: Record<string, unknown> };
  attested.cas_db = { [CLUSTER_ADDRESS]: attested.cas_db[ADDRESS] };
  writeUpstream(ownerId, `${JSON.stringify(attested, null, 2)}\n`);

  // envsubst pastes POLICY_NAME, SCONE_CLI_MRENCLAVE and OWNER_IDENTITY (indented 10 spaces) into the text.
  const identityText = readFileSync(ownerId, "utf8")
    .trimEnd()
    .split("\n")
    .map((l) => `          ${l}`)
    .join("\n");
  const backupPolicy = BACKUP_POLICY_YAML.replaceAll("$POLICY_NAME", "cas-owner/primary-backup").replace(
    "$OWNER_IDENTITY",
    identityText,
  );
  const sessions: [string, string][] = [
    [id(`cas-owner-session-${NAME}-${NS}.yaml`), CAS_OWNER_YAML],
    [id("backup-controller-session-cas-owner_primary-backup.yaml"), backupPolicy],
    [id("provisioned.yaml"), PROVISIONED_YAML],
  ];
  for (const [file, text] of sessions) {
    writeUpstream(file, text);
    writeUpstream(id("session.tmp"), text);
    await upstreamCli(id("config.json"), ["session", "create", "--cas", ADDRESS, "--cas-key", casKeyHash, file]);
  }

  // Step 12 and the CAS object as upstream leaves it (status written by the operator).
  const manifest = renderProvisioningManifest({
    name: NAME,
    namespace: NS,
    image: `registry.scontain.com/scone.cloud/cas:${VERSION}`,
    nonce: NONCE,
  });
  writeUpstream(oc(`cas-${NS}-${NAME}-${VERSION}-provisioning-step.yaml`), manifest.text);
  const patch = postProvisioningPatch({
    backup: true,
    backupControllerImage: `registry.scontain.com/scone.cloud/backup-controller:${VERSION}`,
  });
  writeUpstream(oc(`cas-${NS}-${NAME}-${VERSION}-patch.json`), JSON.stringify(patch));
  const spec = structuredClone(manifest.object.spec) as Record<string, unknown>;
  spec["backup-controller"] = { enabled: true, session: "cas-owner/primary-backup/register", image: patch[2]?.value };
  spec.livenessProbe = {
    enabled: true,
    periodSeconds: 60,
    initialDelaySeconds: 3,
    timeoutSeconds: 60,
    failureThreshold: 5,
  };
  spec.startupProbe = {
    enabled: true,
    periodSeconds: 60,
    initialDelaySeconds: 60,
    timeoutSeconds: 60,
    failureThreshold: 15,
  };
  spec.attestedCLIProbes = false;
  const cas = { ...manifest.object, spec, status: { provisioned: "Yes", phase: "HEALTHY" } };
  writeUpstream(oc(`cas-${NS}-${NAME}-${VERSION}-manifest.yaml`), JSON.stringify(cas));
  writeUpstream(join(target, ".forward-pid"), "4711\n");
  kube.put(cas as never);
  kube.put({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `${NAME}-0`, namespace: NS },
    status: { phase: "Running" },
  } as never);
  kube.logs = () => consoleText;
  expect(filesUnder(target)).toEqual([...UPSTREAM_FILES].sort());
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
