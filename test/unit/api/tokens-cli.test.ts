// Token lifetimes, the token command functions the CLI calls, and the bootstrap admin token.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BOOTSTRAP_TOKEN_NAME, writeBootstrapToken } from "../../../src/api/bootstrap-token.ts";
import { createTokenCommand, listTokensCommand, revokeTokenCommand } from "../../../src/api/token-commands.ts";
import { parseTtl } from "../../../src/api/ttl.ts";
import { openStore } from "../../../src/store/open.ts";
import { listTokens, verifyToken } from "../../../src/store/tokens.ts";

describe("parseTtl", () => {
  test("a number and a unit", () => {
    expect(parseTtl("90s")).toBe(90_000);
    expect(parseTtl("30m")).toBe(1_800_000);
    expect(parseTtl("12h")).toBe(43_200_000);
    expect(parseTtl("7d")).toBe(604_800_000);
    expect(parseTtl("2w")).toBe(1_209_600_000);
  });
  test("anything else is refused naming the flag and an example", () => {
    expect(() => parseTtl("7", "--ttl")).toThrow('--ttl "7" is invalid: write a number and a unit');
    expect(() => parseTtl("1.5h")).toThrow("e.g. 30m, 12h or 7d");
    expect(() => parseTtl("0m")).toThrow("longer than zero");
    expect(() => parseTtl("400d")).toThrow("at most 366d");
  });
});

let dir = "";
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "scone-api-tokens-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("token commands", () => {
  test("create prints the token alone on stdout; list never prints it; revoke makes it invalid", async () => {
    const now = Date.parse("2026-11-23T10:00:00Z");
    const created = await createTokenCommand({ stateDir: dir, name: "ci", scope: "operate", ttl: "7d", now });
    const token = created.stdout.trim();
    expect(created.stdout).toBe(`${token}\n`);
    expect(token).toStartWith("scone_");
    expect(created.stderr).toContain("expires 2026-11-30T10:00:00.000Z");
    expect(created.stderr).not.toContain(token);

    const listed = await listTokensCommand({ stateDir: dir, now });
    expect(listed.stdout).toMatch(/^NAME\s+SCOPE/);
    expect(listed.stdout).toContain("ci");
    expect(listed.stdout).toContain("operate");
    expect(listed.stdout).not.toContain(token);

    const revoked = await revokeTokenCommand({ stateDir: dir, name: "ci", now });
    expect(revoked.stdout).toContain('revoked token "ci"');
    const store = openStore({ stateDir: dir });
    try {
      expect(verifyToken(store.db, token, now + 1)).toBeNull();
    } finally {
      store.close();
    }
    expect((await listTokensCommand({ stateDir: dir, now: now + 1 })).stdout).toContain("revoked");
  });

  test("bad ttl, bad name and unknown token give clear errors", async () => {
    await expect(createTokenCommand({ stateDir: dir, name: "x", scope: "read", ttl: "forever" })).rejects.toThrow(
      "--ttl",
    );
    await expect(createTokenCommand({ stateDir: dir, name: "Not OK", scope: "read" })).rejects.toThrow("token name");
    await expect(revokeTokenCommand({ stateDir: dir, name: "ghost" })).rejects.toThrow('no token named "ghost"');
    expect((await listTokensCommand({ stateDir: dir })).stderr).toContain("no tokens");
  });
});

describe("bootstrap token", () => {
  test("written 0600 on a store without tokens, usable as admin; never again once tokens exist", () => {
    const store = openStore({ stateDir: dir });
    try {
      const file = join(dir, "admin.token");
      expect(writeBootstrapToken(store.db, file)).toEqual({ written: true });
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const token = readFileSync(file, "utf8").trim();
      expect(verifyToken(store.db, token)).toMatchObject({ name: BOOTSTRAP_TOKEN_NAME, scope: "admin" });

      writeFileSync(file, "kept\n");
      const again = writeBootstrapToken(store.db, file);
      expect(again.written).toBe(false);
      expect(readFileSync(file, "utf8")).toBe("kept\n");
      expect(listTokens(store.db)).toHaveLength(1);
    } finally {
      store.close();
    }
  });

  test("when the file cannot be written no token is left behind", () => {
    const store = openStore({ stateDir: dir });
    try {
      expect(() => writeBootstrapToken(store.db, join(dir, "missing-dir", "admin.token"))).toThrow();
      expect(listTokens(store.db)).toHaveLength(0);
    } finally {
      store.close();
    }
  });
});
