// The `session …` commands of the stand-in (SCONE-CLI.md §3, §5, §6). Loaded by main.ts only for
// these commands (they bring the session parser; `--version` does not need it).
import { attestedCas } from "./access.ts";
import { one, parseArgs } from "./args.ts";
import { CliFailure, type Env } from "./failure.ts";
import { type Io, readInput } from "./io.ts";
import { refused, request } from "./net.ts";
import { encrypt, readSessionFile, sessionHash, sign, signingKey } from "./sessions.ts";
import { configPath, loadConfig, signingKeyPem, signingSeed } from "./state.ts";

export function sessionCheck(args: string[], io: Io): number {
  const text = readInput(parseArgs(args, { positionals: 1 }).positionals[0]!);
  readSessionFile(text);
  io.out(text.trimEnd());
  return 0;
}

export function sessionCalculateHash(args: string[], io: Io): number {
  io.out(sessionHash(readSessionFile(readInput(parseArgs(args, { positionals: 1 }).positionals[0]!))));
  return 0;
}

export async function sessionSign(args: string[], env: Env, io: Io): Promise<number> {
  const file = readSessionFile(readInput(parseArgs(args, { positionals: 1 }).positionals[0]!));
  const config = await loadConfig(configPath(env));
  io.out(sign(file, signingKey(signingSeed(config)), signingKeyPem(config)));
  return 0;
}

const SESSION_TARGET = { values: ["--cas", "--cas-key"], positionals: 1 } as const;

export async function sessionUpload(verb: "create" | "update", args: string[], env: Env, io: Io): Promise<number> {
  const p = parseArgs(args, SESSION_TARGET);
  const text = readInput(p.positionals[0]!);
  readSessionFile(text);
  const cas = await attestedCas(env, one(p, "--cas"), one(p, "--cas-key"));
  const answer = await request(cas.conn, "POST", `/_cli/v1/sessions?mode=${verb}`, text);
  if (answer.status !== 200 && answer.status !== 201) throw refused(cas.address, answer);
  io.out(String((answer.body as { hash?: unknown }).hash));
  return 0;
}

export async function sessionRead(args: string[], env: Env, io: Io): Promise<number> {
  const p = parseArgs(args, { values: ["--cas", "--cas-key", "--session-hash"], positionals: 1 });
  const name = p.positionals[0]!;
  const hash = one(p, "--session-hash");
  const cas = await attestedCas(env, one(p, "--cas"), one(p, "--cas-key"));
  const answer = await request(
    cas.conn,
    "GET",
    `/v1/sessions/${encodeURIComponent(name).replace(/%2F/g, "/")}${hash ? `?hash=${encodeURIComponent(hash)}` : ""}`,
  );
  if (answer.status === 404) {
    // SCONE-CLI §3: exit 2 = not found.
    io.err(`error: ${(answer.body as { msg?: string[] })?.msg?.join("; ") ?? `session ${name} not found`}`);
    return 2;
  }
  if (answer.status !== 200) throw refused(cas.address, answer);
  io.out(String((answer.body as { session?: unknown }).session).trimEnd());
  return 0;
}

export async function sessionList(args: string[], env: Env, io: Io): Promise<number> {
  const p = parseArgs(args, SESSION_TARGET);
  const cas = await attestedCas(env, one(p, "--cas"), one(p, "--cas-key"));
  const answer = await request(cas.conn, "GET", `/_cli/v1/session-names?path=${encodeURIComponent(p.positionals[0]!)}`);
  if (answer.status !== 200) throw refused(cas.address, answer);
  for (const n of (answer.body as { names: string[] }).names) io.out(n);
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
