// Token lifetimes and the bootstrap admin token (the token commands themselves: src/cli/run/api-tokens.ts).
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BOOTSTRAP_TOKEN_NAME, writeBootstrapToken } from "../../../src/api/bootstrap-token.ts";
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
