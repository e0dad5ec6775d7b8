// The flow as an API operation: effect steps go through report.step (recorded, skipped once recorded), observations
// run every time, and a step the store never heard finish checks the world before acting.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseProvisioningLines } from "../../../../src/cas/driver/commands.ts";
import type { ProvisionPorts } from "../../../../src/flows/provision/context.ts";
import { type OperationStepReport, runProvisionOperation } from "../../../../src/flows/provision/operation.ts";
import { provisionOptionsFromFlags } from "../../../../src/flows/provision/options.ts";
import { recordingCommands, StandInWorld, standInSource } from "../../../harness/stand-in-world.ts";
import { FakeKube } from "./fake-world.ts";

const TIMEOUT = 60_000;
const root = mkdtempSync(join(tmpdir(), "scone-provision-op-"));
const world = new StandInWorld(join(root, "world"));
let consoleText = "";
let casKeyHash = "";

beforeAll(async () => {
  consoleText = await world.createCas({ namespace: "ns", name: "cas" });
  casKeyHash = parseProvisioningLines(consoleText)?.casKeyHash ?? "";
}, TIMEOUT);

afterAll(async () => {
  await world.stop();
  rmSync(root, { recursive: true, force: true });
});

/** The operation store's view: steps recorded done; `crashIn` makes the step's effect happen, then "dies". */
function report(done: Set<string>, crashIn?: string): OperationStepReport & { ran: string[] } {
  const ran: string[] = [];
  return {
    ran,
    signal: new AbortController().signal,
    async step(name, run) {
      if (done.has(name)) return;
      ran.push(name);
      await run({ interrupted: false, signal: this.signal });
      if (name === crashIn) throw new Error(`crashed after ${name}`);
      done.add(name);
    },
  };
}

test(
  "a crash after the effect of provision: the resumed operation skips it by observation and finishes",
  async () => {
    const calls: string[] = [];
    const kube = new FakeKube();
    kube.logs = () => consoleText;
    kube.put({
      apiVersion: "services.scone.cloud/v1beta1",
      kind: "CAS",
      metadata: { name: "cas", namespace: "ns" },
      spec: { nonce: "00112233445566778899aabbccddeeff" },
    } as never);
    kube.put({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "cas-0", namespace: "ns" },
      status: { phase: "Running" },
    } as never);
    const ports: ProvisionPorts = {
      kube,
      pollMs: 10,
      casSource: standInSource(world, recordingCommands(calls)),
    };
    const options = provisionOptionsFromFlags(
      { name: "cas", namespace: "ns", target: join(root, "t") },
      { home: root },
    );
    const store = new Set<string>();
    const first = report(store, "provision");
    // The first run must have ended (crashed) before the second starts: two runs at once are not this test.
    await expect(runProvisionOperation(options, ports, first)).rejects.toThrow("crashed after provision");
    const second = report(store);
    const result = await runProvisionOperation(options, ports, second);
    expect(second.ran).toEqual([
      "provision", // never recorded done: runs again, finds the CAS provisioned, does nothing
      "owner-identity-files",
      "session-cas-owner",
      "session-cas-owner-primary-backup",
      "session-provisioned",
      "enable-features",
    ]);
    expect(result).toMatchObject({ casKey: casKeyHash, nonce: "00112233445566778899aabbccddeeff" });
    // Everything recorded: a third run only observes (and reads the owner identity from its file).
    const third = report(store);
    expect(await runProvisionOperation(options, ports, third)).toMatchObject({ casKey: casKeyHash });
    expect(third.ran).toEqual([]);
    // One provisioning and one creation per session over the three runs, whatever the crash hit.
    expect(calls.filter((c) => c === "cas provision")).toEqual(["cas provision"]);
    expect(calls.filter((c) => c === "session create").length).toBe(3);
    expect(calls.filter((c) => c === "session update")).toEqual([]);
  },
  TIMEOUT,
);
