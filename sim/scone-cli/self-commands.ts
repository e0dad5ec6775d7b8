// `self show-key-hash` and `self show-session-signing-key` (SCONE-CLI.md §3, §5): the config only, no session
// parser, no network (the driver asks for them often).
import { parseArgs } from "./args.ts";
import type { Env } from "./failure.ts";
import { ownKeyHash, signingKeyPem } from "./identity.ts";
import type { Io } from "./io.ts";
import { configPath, loadConfig } from "./state.ts";

export async function showKeyHash(args: string[], env: Env, io: Io): Promise<number> {
  parseArgs(args, { positionals: 0 });
  io.out(ownKeyHash(await loadConfig(configPath(env))));
  return 0;
}

export async function showSessionSigningKey(args: string[], env: Env, io: Io): Promise<number> {
  parseArgs(args, { positionals: 0 });
  io.out(signingKeyPem(await loadConfig(configPath(env))));
  return 0;
}
