// `scone cas admit-operator`, run as a process against the stand-in SCONE CLI (sim/scone-cli): the owner's session
// admits exactly the operator identity's key hash, and the operator's CLI can then reach the CAS by its key.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { parseProvisioningLines } from "../../../src/cas/driver/commands.ts";
import { LocalCliSource } from "../../../src/operator/policies/cli-source.ts";

const ROOT = join(import.meta.dir, "../../..");
const STAND_IN = [process.execPath, join(ROOT, "sim/scone-cli/main.ts")];
const CAS = { name: "cas", namespace: "team-a" };
const ADDRESS = "cas.team-a.svc:8081";

describe("scone cas admit-operator", () => {
  let dir: string;
  let wrapper: string;
  let source: LocalCliSource;
  const ownerConfig = () => join(dir, "owner", "identity", "config.json");
  const operatorConfig = () => join(dir, "operator.json");

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "scone-admit-"));
    const world = join(dir, "world");
    // --scone-cli takes one binary: a script running the stand-in with its private state directory.
    wrapper = join(dir, "scone");
    await writeFile(wrapper, `#!/bin/sh\nSCONE_CLI_SIM_STATE='${world}' exec '${STAND_IN[0]}' '${STAND_IN[1]}' "$@"\n`);
    await chmod(wrapper, 0o700);
    source = new LocalCliSource({ binary: [wrapper], operatorConfigPath: operatorConfig() });
    const created = Bun.spawnSync([wrapper, "sim-cas", "create", ADDRESS]);
    const lines = parseProvisioningLines(created.stdout.toString());
    if (!lines) throw new Error(created.stderr.toString());
    const owner = await source.connect(CAS, { kind: "owner", configPath: ownerConfig() });
    await owner.driver.provision({
      address: ADDRESS,
      casKeyHash: lines.casKeyHash,
      token: lines.token,
      ownerConfigToml: "",
    });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const admit = (...extra: string[]) =>
    Bun.spawnSync(
      [
        process.execPath,
        join(ROOT, "src/main.ts"),
        "cas",
        "admit-operator",
        "cas",
        "-n",
        "team-a",
        "--operator-identity",
        operatorConfig(),
        "--target",
        join(dir, "owner"),
        "--scone-cli",
        wrapper,
        ...extra,
      ],
      { env: { ...process.env, NO_COLOR: "1" } },
    );

  test("creates the admission session listing the operator's key hash; the operator's CLI attested the CAS", async () => {
    const run = admit("-o", "json");
    expect(run.stderr.toString()).toBe("");
    expect(run.exitCode).toBe(0);
    const out = JSON.parse(run.stdout.toString());
    const operator = await source.connect(CAS, { kind: "operator" });
    const keyHash = await operator.driver.keyHash();
    expect(out).toMatchObject({ operatorKeyHash: keyHash, session: "scone-operator", action: "Created" });

    const owner = await source.connect(CAS, { kind: "owner", configPath: ownerConfig() });
    const { casKey } = await owner.driver.casKeys(ADDRESS);
    const stored = parse((await owner.driver.readSession({ address: ADDRESS, casKey }, "scone-operator")) ?? "");
    expect(stored.access_policy).toEqual({
      read: ["CREATOR", keyHash],
      update: ["CREATOR"],
      create_sessions: ["CREATOR", keyHash],
    });
    // The operator's own CLI now knows the CAS by the key the owner attested.
    expect((await operator.driver.casKeys(ADDRESS)).casKey).toBe(casKey);

    const again = admit();
    expect(again.exitCode).toBe(0);
    expect(again.stdout.toString()).toContain(`updated session scone-operator`);
  });

  test("a session name the CLI would read as an option is a usage error, nothing done", () => {
    const run = admit("--session", "bad name");
    expect(run.exitCode).toBe(2);
    expect(run.stderr.toString()).toContain("--session");
  });
});
