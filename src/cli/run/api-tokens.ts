// `scone api token create|list|revoke`: thin shells over src/store/tokens.ts on the API's state directory.

import { textFlag } from "../flags.ts";
import { parseDuration } from "../globals.ts";
import { isData, renderData } from "../output.ts";
import { CliError, type SconeContext } from "../spec.ts";
import { formatTime, renderTable } from "../table.ts";
import { repeatedFlag } from "./api-flags.ts";
import { asCliError, withStore } from "./store-access.ts";

// Rows written before tokens had namespaces (and test rows) may lack the field: absent = every namespace.
type TokenInfo = Omit<import("../../store/tokens.ts").TokenInfo, "namespaces"> & { namespaces?: string[] | null };

function tokenState(t: TokenInfo, now: number): string {
  if (t.revokedAt !== null) return "revoked";
  if (t.expiresAt !== null && t.expiresAt <= now) return "expired";
  return "active";
}

export function renderTokenList(tokens: readonly TokenInfo[], output: string | undefined, now: number): string {
  if (isData(output))
    return renderData(
      output,
      tokens.map((t) => ({ ...t, state: tokenState(t, now) })),
    );
  if (tokens.length === 0) return "No tokens.\n";
  // The NAMESPACES column only when some token is limited: most installations never limit one.
  const limited = tokens.some((t) => (t.namespaces ?? null) !== null);
  return renderTable(
    ["NAME", "SCOPE", "PREFIX", "STATE", "CREATED", "EXPIRES", "LAST USED", ...(limited ? ["NAMESPACES"] : [])],
    tokens.map((t) => [
      t.name,
      t.scope,
      `${t.prefix}…`,
      tokenState(t, now),
      formatTime(t.createdAt),
      formatTime(t.expiresAt),
      formatTime(t.lastUsedAt),
      ...(limited ? [t.namespaces?.join(",") ?? "*"] : []),
    ]),
  );
}

export async function create(ctx: SconeContext): Promise<void> {
  const { createToken } = await import("../../store/tokens.ts");
  const { TOKEN_SCOPES } = await import("../../store/schema.ts");
  const name = textFlag(ctx.args.name) ?? "";
  const scope = TOKEN_SCOPES.find((s) => s === ctx.args.scope) ?? "read";
  const ttl = textFlag(ctx.args.ttl);
  const now = Date.now();
  const expiresAt = ttl ? now + (parseDuration(ttl) ?? 0) : null;
  const namespaces = repeatedFlag(ctx.rawArgs, "namespace", "n");
  const { token, info } = await withStore(ctx.args["state-dir"], "api", (store) => {
    try {
      return createToken(store.db, { name, scope, expiresAt, namespaces, now });
    } catch (error) {
      return asCliError(error);
    }
  });
  if (isData(ctx.args.output)) {
    process.stdout.write(renderData(ctx.args.output, { token, ...info }));
    return;
  }
  process.stdout.write(`${token}\n`);
  process.stderr.write(
    `scone api token create: created '${info.name}' (scope ${info.scope}${info.namespaces ? `, namespaces ${info.namespaces.join(",")}` : ""}, expires ${formatTime(info.expiresAt)}); the token is shown only now\n`,
  );
}

export async function list(ctx: SconeContext): Promise<void> {
  const { listTokens } = await import("../../store/tokens.ts");
  const tokens = await withStore(ctx.args["state-dir"], "api", (store) => listTokens(store.db));
  process.stdout.write(renderTokenList(tokens, textFlag(ctx.args.output), Date.now()));
}

export async function revoke(ctx: SconeContext): Promise<void> {
  const { revokeToken } = await import("../../store/tokens.ts");
  const name = textFlag(ctx.args.name) ?? "";
  const revoked = await withStore(ctx.args["state-dir"], "api", (store) => revokeToken(store.db, name));
  if (!revoked) throw new CliError(`no token named '${name}'`, 1, "Run 'scone api token list' to see the tokens.");
  if (isData(ctx.args.output)) process.stdout.write(renderData(ctx.args.output, revoked));
  else process.stdout.write(`revoked token '${revoked.name}' (at ${formatTime(revoked.revokedAt)})\n`);
}
