import { describe, expect, test } from "bun:test";
import {
  CasAuthError,
  CasConflictError,
  CasError,
  CasNotFoundError,
  CasRequestError,
  errorFromResponse,
} from "../../../support/cas-legacy/errors.ts";

describe("errorFromResponse", () => {
  test("maps statuses to typed errors and keeps the CAS messages", () => {
    expect(errorFromResponse(401, { msg: ["no cert"] }, "x")).toBeInstanceOf(CasAuthError);
    expect(errorFromResponse(403, {}, "x")).toBeInstanceOf(CasAuthError);
    expect(errorFromResponse(404, {}, "x")).toBeInstanceOf(CasNotFoundError);
    expect(errorFromResponse(405, {}, "x")).toBeInstanceOf(CasRequestError);
    const server = errorFromResponse(500, "boom", "x");
    expect(server).toBeInstanceOf(CasError);
    expect(server.messages).toEqual(["boom"]);
    const error = errorFromResponse(400, { msg: ["a", "b"] }, "create session");
    expect(error.message).toBe("create session: CAS answered 400 — a; b");
  });

  test("a conflict carries the current hash", () => {
    const error = errorFromResponse(409, { msg: ["stale"], current_hash: "ab" }, "update");
    expect(error).toBeInstanceOf(CasConflictError);
    expect((error as CasConflictError).currentHash).toBe("ab");
  });
});
