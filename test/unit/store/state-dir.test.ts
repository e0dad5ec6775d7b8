import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { resolveStateDir } from "../../../src/store/state-dir.ts";

const home = "/home/ada";

describe("resolveStateDir", () => {
  test("flag wins over env, env over defaults; relative paths become absolute", () => {
    const env = { SCONE_STATE_DIR: "/env/dir", XDG_STATE_HOME: "/xdg" };
    expect(resolveStateDir({ flag: "/flag/dir", mode: "cli", env, home })).toBe("/flag/dir");
    expect(resolveStateDir({ flag: "rel", mode: "operator", env, home })).toBe(resolve("rel"));
    expect(resolveStateDir({ mode: "operator", env, home })).toBe("/env/dir");
  });

  test("defaults per mode", () => {
    expect(resolveStateDir({ mode: "cli", env: { XDG_STATE_HOME: "/xdg" }, home })).toBe("/xdg/scone");
    expect(resolveStateDir({ mode: "api", env: {}, home })).toBe("/home/ada/.local/state/scone");
    // A relative XDG_STATE_HOME is invalid per the XDG spec and ignored; an empty SCONE_STATE_DIR is unset.
    expect(resolveStateDir({ mode: "cli", env: { XDG_STATE_HOME: "xdg", SCONE_STATE_DIR: "" }, home })).toBe(
      "/home/ada/.local/state/scone",
    );
    expect(resolveStateDir({ mode: "operator", env: { XDG_STATE_HOME: "/xdg" }, home })).toBe("/var/lib/scone");
  });

  test("an empty flag is an error naming the flag", () => {
    expect(() => resolveStateDir({ flag: "", mode: "cli", env: {}, home })).toThrow(/--state-dir must not be empty/);
  });
});
