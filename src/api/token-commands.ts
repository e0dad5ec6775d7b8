// `scone api token create|list|revoke` as functions over a state directory that return what to print: stdout
// carries the result (the clear token alone on create, so it can be piped), stderr the note for the person.
import type { TokenScope } from "../store/schema.ts";
import type { TokenInfo } from "../store/tokens.ts";
import { parseTtl } from "./ttl.ts";

export interface CommandOutput {
  readonly stdout: string;
  readonly stderr: string;
}

export interface TokenCommandBase {
  readonly stateDir: string;
  readonly now?: number;
}

async function withStore<T>(stateDir: string, fn: (db: import("../store/open.ts").StoreDb) => T): Promise<T> {
  const { openStore } = await import("../store/open.ts");
  const store = openStore({ stateDir });
  try {
    return fn(store.db);
  } finally {
    store.close();
  }
}

const time = (ms: number | null): string => (ms === null ? "never" : new Date(ms).toISOString());

function state(t: TokenInfo, now: number): string {
  if (t.revokedAt !== null && t.revokedAt <= now) return "revoked";
  if (t.expiresAt !== null && t.expiresAt <= now) return "expired";
  return "active";
}

/** Throws a TtlError naming --ttl for a bad lifetime, a StoreInputError naming the field for a bad name/scope. */
export async function createTokenCommand(
  opts: TokenCommandBase & { name: string; scope: TokenScope; ttl?: string },
): Promise<CommandOutput> {
  const now = opts.now ?? Date.now();
  const expiresAt = opts.ttl === undefined ? null : now + parseTtl(opts.ttl, "--ttl");
  const { createToken } = await import("../store/tokens.ts");
  const { token, info } = await withStore(opts.stateDir, (db) =>
    createToken(db, { name: opts.name, scope: opts.scope, expiresAt, now }),
  );
  return {
    stdout: `${token}\n`,
    stderr: `created token "${info.name}" (scope ${info.scope}, expires ${time(info.expiresAt)}); it is shown only now, store it safely\n`,
  };
}

export async function listTokensCommand(opts: TokenCommandBase): Promise<CommandOutput> {
  const now = opts.now ?? Date.now();
  const { listTokens } = await import("../store/tokens.ts");
  const tokens = await withStore(opts.stateDir, (db) => listTokens(db));
  if (tokens.length === 0) return { stdout: "", stderr: "no tokens; create one with `scone api token create`\n" };
  const rows = [
    ["NAME", "SCOPE", "PREFIX", "STATE", "CREATED", "EXPIRES", "LAST USED"],
    ...tokens.map((t) => [
      t.name,
      t.scope,
      `${t.prefix}…`,
      state(t, now),
      time(t.createdAt),
      time(t.expiresAt),
      t.lastUsedAt === null ? "-" : time(t.lastUsedAt),
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  const text = rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
  return { stdout: `${text}\n`, stderr: "" };
}

/** Fails with a clear message when no token has that name. */
export async function revokeTokenCommand(opts: TokenCommandBase & { name: string }): Promise<CommandOutput> {
  const { revokeToken } = await import("../store/tokens.ts");
  const revoked = await withStore(opts.stateDir, (db) => revokeToken(db, opts.name, opts.now ?? Date.now()));
  if (!revoked) throw new Error(`no token named "${opts.name}"; see \`scone api token list\``);
  return { stdout: `revoked token "${revoked.name}" at ${time(revoked.revokedAt)}\n`, stderr: "" };
}
