// Issue 11 item 6 (API parts): malformed search queries are 400s, the OpenAPI document and its page are built once,
// plain HTTP is refused on a non-loopback address unless --insecure; and the token commands' --namespace.
import { afterAll, afterEach, describe, expect, spyOn, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApiApp } from "../../../src/api/app.ts";
import { isLoopbackHost } from "../../../src/api/loopback.ts";
import { serveApi } from "../../../src/api/run.ts";
import { repeatedFlag } from "../../../src/cli/run/api-flags.ts";
import { openStore } from "../../../src/store/open.ts";
import { listTokens } from "../../../src/store/tokens.ts";
import { problemOf, quietLog, type TestApi, testApi } from "./helpers.ts";

let api: TestApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("search queries", () => {
  test("a NUL or other control character in a query string is a 400 naming it, never a 500", async () => {
    api = testApi();
    for (const path of [
      "/api/v1/audit?namespace=ns&name=cas&q=a%00b",
      "/api/v1/audit?namespace=ns&name=cas&q=%00",
      "/api/v1/audit?namespace=ns&name=cas&event=x%0Ay",
      "/api/v1/resources/cas?state=%00",
      "/api/v1/history?kind=C%00AS",
    ]) {
      const res = await api.request(path, { token: api.tokens.read });
      expect(res.status).toBe(400);
      const field = (await problemOf(res)).errors?.[0]?.field ?? "";
      expect(field).toMatch(/^query\.(q|event|state|kind)$/);
    }
    expect(api.errors).toEqual([]);
  });
});

describe("the OpenAPI document", () => {
  test("/openapi.json and /reference are generated once, whatever the number of requests", async () => {
    const app = createApiApp({ readiness: { checks: () => ({}) }, log: { ...quietLog } });
    const generate = spyOn(app, "getOpenAPI31Document");
    const first = await (await app.request("/openapi.json")).text();
    for (let i = 0; i < 3; i++) {
      expect(await (await app.request("/openapi.json")).text()).toBe(first);
      expect((await app.request("/reference")).status).toBe(200);
    }
    expect(generate).toHaveBeenCalledTimes(1);
    expect(JSON.parse(first).openapi).toBe("3.1.0");
  });
});

/** Runs the CLI from source as a process: its output, exit code. */
async function cli(argv: string[]) {
  const proc = Bun.spawn([process.execPath, "src/main.ts", ...argv], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, NO_COLOR: "1" },
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, out: stdout + stderr };
}

describe("plain HTTP off loopback", () => {
  test("loopback is 127.0.0.0/8, ::1 and localhost only", () => {
    for (const h of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"]) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ["0.0.0.0", "::", "198.18.0.1", "example.org", "127.0.0.1.example.org"])
      expect(isLoopbackHost(h)).toBe(false);
  });

  test("`scone api --host 0.0.0.0` without TLS is refused, naming --insecure", async () => {
    const { code, out } = await cli(["api", "--host", "0.0.0.0", "--state-dir", "/nonexistent"]);
    expect(code).toBe(2);
    expect(out).toContain("refusing plain HTTP on 0.0.0.0");
    expect(out).toContain("--insecure");
  });

  test("serveApi refuses it too (the CLI is not the only caller)", async () => {
    await expect(serveApi({ host: "0.0.0.0", port: 0, stateDir: "/nonexistent", runners: {} })).rejects.toThrow(
      "refusing plain HTTP on 0.0.0.0",
    );
  });
});

describe("repeatable flags", () => {
  test("every occurrence counts, with commas, = and the short alias", () => {
    expect(
      repeatedFlag(["--namespace", "a", "--x", "y", "--namespace=b,c", "-n", "d", "-ne"], "namespace", "n"),
    ).toEqual(["a", "b", "c", "d", "e"]);
    expect(repeatedFlag(["--s3-allow", "s3://a", "--", "--s3-allow", "s3://b"], "s3-allow")).toEqual(["s3://a"]);
  });

  test("`scone api token create --namespace a --namespace b` limits the token to both", async () => {
    const dir = mkdtempSync(join(tmpdir(), "scone-api-cli-ns-"));
    dirs.push(dir);
    const made = await cli([
      ..."api token create ci --scope operate --namespace b --namespace a".split(" "),
      "--state-dir",
      dir,
    ]);
    expect(made.code).toBe(0);
    const admin = await cli(["api", "token", "create", "boss", "--scope", "admin", "-n", "a", "--state-dir", dir]);
    expect(admin.code).toBe(1);
    expect(admin.out).toContain("cannot be limited to namespaces");
    const listed = await cli(["api", "token", "list", "--state-dir", dir]);
    expect(listed.out).toMatch(/NAMESPACES/);
    expect(listed.out).toMatch(/ci .* a,b/);
    const store = openStore({ stateDir: dir });
    try {
      expect(listTokens(store.db).map((t) => [t.name, t.namespaces])).toEqual([["ci", ["a", "b"]]]);
    } finally {
      store.close();
    }
  });
});
