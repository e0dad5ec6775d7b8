// `session sign` and `session encrypt` (SCONE-CLI.md §6), loaded by main.ts only for these two: the signing and
// sealing code stays out of a session upload's start.
import { attestedCas } from "./access.ts";
import { one, parseArgs } from "./args.ts";
import { CliFailure, type Env } from "./failure.ts";
import { signingKeyPem, signingSeed } from "./identity.ts";
import { type Io, readInput } from "./io.ts";
import { encrypt, sign, signingKey } from "./session-crypto.ts";
import { readSessionFile } from "./sessions.ts";
import { configPath, loadConfig } from "./state.ts";

export async function sessionSign(args: string[], env: Env, io: Io): Promise<number> {
  const file = readSessionFile(readInput(parseArgs(args, { positionals: 1 }).positionals[0]!));
  const config = await loadConfig(configPath(env));
  io.out(sign(file, signingKey(signingSeed(config)), signingKeyPem(config)));
  return 0;
}

export async function sessionEncrypt(args: string[], env: Env, io: Io): Promise<number> {
  const p = parseArgs(args, { values: ["--cas", "--key"], positionals: 1 });
  if (p.values.has("--cas") && p.values.has("--key"))
    throw new CliFailure("error: --cas and --key exclude each other", 2);
  const file = readSessionFile(readInput(p.positionals[0]!));
  const config = await loadConfig(configPath(env));
  let key = one(p, "--key");
  if (key === undefined) key = (await attestedCas(env, one(p, "--cas"))).entry.session_encryption_key;
  // `encrypt` signs first if the session is unsigned (SCONE-CLI §6).
  const signed =
    file.kind === "signed"
      ? JSON.stringify({ session: file.session, signatures: file.signatures })
      : sign(file, signingKey(signingSeed(config)), signingKeyPem(config));
  io.out(encrypt(signed, key));
  return 0;
}
