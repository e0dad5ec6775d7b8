// Issue 11 item 2: a registry value with a newline and YAML used to be pasted into cas_provisioning.yaml, so an
// operate token could add fields to the CAS spec (a pod tolerating every taint, on any node). Now the value is refused
// where it enters, naming the flag or parameter, and nothing is written; were it to get past that, it would reach the
// CAS only as the value of spec.image.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NewOperationSchema, ProvisionParams } from "../../../../src/api/operations/params.ts";
import { ProvisionContext, type ProvisionPorts } from "../../../../src/flows/provision/context.ts";
import { targetFiles } from "../../../../src/flows/provision/files.ts";
import {
  ProvisionOptionError,
  type ProvisionOptions,
  provisionOptionsFromFlags,
} from "../../../../src/flows/provision/options.ts";
import { createCasStep } from "../../../../src/flows/provision/steps.ts";
import { FakeKube } from "./fake-world.ts";

/** What the attacker sends as the registry: the rest of the CAS spec they want. */
const INJECTED_REGISTRY = "evil.example/x:1\n  tolerations:\n    - operator: Exists\n#";

const root = mkdtempSync(join(tmpdir(), "scone-injection-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const FLAGS = { name: "cas", namespace: "prod", nonce: "00112233445566778899aabbccddeeff", "dcap-api": "d".repeat(32) };

describe("a registry with a newline and YAML keys", () => {
  test("CLI flags: refused naming --image-registry, before anything else", () => {
    const run = () => provisionOptionsFromFlags({ ...FLAGS, "image-registry": INJECTED_REGISTRY }, { home: root });
    expect(run).toThrow(ProvisionOptionError);
    expect(run).toThrow(
      /^invalid value "evil\.example\/x:1\\n {2}tolerations:.*" for --image-registry: expected a registry HOST\[:PORT\]\[\/PATH\]/,
    );
  });

  test("API params: a 400 naming params.imageRegistry", () => {
    const direct = ProvisionParams.safeParse({ imageRegistry: INJECTED_REGISTRY });
    expect(direct.success).toBe(false);
    const body = NewOperationSchema.safeParse({
      kind: "provision",
      namespace: "prod",
      name: "cas",
      params: { imageRegistry: INJECTED_REGISTRY },
    });
    expect(body.success).toBe(false);
    expect(body.error?.issues.map((i) => i.path.join("."))).toEqual(["params.imageRegistry"]);
    expect(body.error?.issues[0]?.message).toContain("expected a registry HOST[:PORT][/PATH]");
  });

  test("past the entry checks, the flow applies no CAS and writes no file", async () => {
    const kube = new FakeKube();
    kube.put({ apiVersion: "v1", kind: "Namespace", metadata: { name: "prod" } } as never);
    const ports: ProvisionPorts = {
      kube,
      pollMs: 10,
      casSource: {
        description: "none",
        connect: async () => {
          throw new Error("not reached");
        },
      },
    };
    const target = join(root, "flow");
    const valid = provisionOptionsFromFlags({ ...FLAGS, target }, { home: root });
    // Options made by a caller that skips provisionOptionsFromFlags (the registry as an API caller sent it).
    const options: ProvisionOptions = { ...valid, imageRepo: INJECTED_REGISTRY };
    const ctx = new ProvisionContext(options, targetFiles(options.target, options), ports);
    await expect(createCasStep.run(ctx)).rejects.toThrow(/the CAS image .* is not valid/);
    expect(kube.writes).toEqual([]);
    expect(readdirSync(root)).not.toContain("flow");
  });

  test("a valid mirror still provisions: the CAS carries its image as spec.image and nothing else changes", async () => {
    const kube = new FakeKube();
    const ports: ProvisionPorts = {
      kube,
      pollMs: 10,
      casSource: {
        description: "none",
        connect: async () => {
          throw new Error("not reached");
        },
      },
    };
    const options = provisionOptionsFromFlags(
      { ...FLAGS, target: join(root, "mirror"), "image-registry": "https://mirror.local:5000/scone/" },
      { home: root },
    );
    expect(options.imageRepo).toBe("mirror.local:5000/scone");
    const ctx = new ProvisionContext(options, targetFiles(options.target, options), ports);
    await createCasStep.run(ctx);
    expect(kube.writes).toEqual(["apply CAS/prod/cas"]);
    const cas = ctx.cas;
    expect(cas?.spec?.image).toBe("mirror.local:5000/scone/cas:6.0.6");
    expect(Object.keys(cas?.spec ?? {})).not.toContain("tolerations");
  });
});

describe("every other value that reaches the CAS or its sessions is checked where it enters", () => {
  test.each([
    ["namespace", "prod\n  labels: {}", "--namespace"],
    ["set-version", "6.0.6\n  x: y", "--set-version"],
    ["set-version", "6.0.6+build", "--set-version"],
    ["upgrade", "7.0.0 ", "--upgrade"],
    ["image-overwrite", "cas:6.0.6\nnodeName: x", "--image-overwrite"],
    ["webhook", "https://audit.example/\n[dcap]", "--webhook"],
    ["cas-address", "cas.prod:8081/x y", "--cas-address"],
    ["name", "Cas", "CAS NAME"],
    ["name", "a-name-longer-than-15", "CAS NAME"],
  ])("--%s %j is refused naming %s", (flag, value, named) => {
    expect(() => provisionOptionsFromFlags({ ...FLAGS, [flag]: value }, { home: root })).toThrow(
      new RegExp(`for ${named.replace(/[-]/g, "\\-")}: `),
    );
  });

  test("a DCAP key that is not 32 hex characters is refused without showing it", () => {
    expect(() => provisionOptionsFromFlags({ ...FLAGS, "dcap-api": "secret\nvalue" }, { home: root })).toThrow(
      "invalid value for --dcap-api: expected exactly 32 hexadecimal characters",
    );
  });
});
