// The one flag reader and kube-client opener every CLI command uses (issue 17).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { openKube, textFlag } from "../../../src/cli/flags.ts";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A kubeconfig with two contexts, built as an object: `one` (the current one) and `two`, on different servers. */
async function twoContextKubeconfig(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "scone-flags-"));
  dirs.push(dir);
  const path = join(dir, "config");
  const cluster = (name: string, port: number) => ({ name, cluster: { server: `https://127.0.0.1:${port}` } });
  const context = (name: string) => ({ name, context: { cluster: name, user: "u", namespace: `ns-${name}` } });
  await writeFile(
    path,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      "current-context": "one",
      clusters: [cluster("one", 6441), cluster("two", 6442)],
      contexts: [context("one"), context("two")],
      users: [{ name: "u", user: { token: "t" } }],
    }),
    { mode: 0o600 },
  );
  return path;
}

describe("textFlag", () => {
  test("a non-empty string is the value; empty, absent, booleans and lists are not", () => {
    expect(textFlag("cas")).toBe("cas");
    expect(textFlag("")).toBeUndefined();
    expect(textFlag(undefined)).toBeUndefined();
    expect(textFlag(true)).toBeUndefined();
    expect(textFlag(["a"])).toBeUndefined();
  });
});

describe("openKube", () => {
  test("--kubeconfig and --context choose the cluster; an empty --context means the current one", async () => {
    const kubeconfig = await twoContextKubeconfig();
    const two = await openKube({ kubeconfig, context: "two" });
    expect(two.transport.connection.server).toBe("https://127.0.0.1:6442");
    expect(two.namespace).toBe("ns-two");
    const current = await openKube({ kubeconfig, context: "" });
    expect(current.transport.connection.server).toBe("https://127.0.0.1:6441");
  });

  test("an unknown --context is refused, naming it", async () => {
    const kubeconfig = await twoContextKubeconfig();
    await expect(openKube({ kubeconfig, context: "three" })).rejects.toThrow("three");
  });
});
