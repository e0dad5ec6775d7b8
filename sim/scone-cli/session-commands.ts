// The `session …` commands of the stand-in (SCONE-CLI.md §3, §5, §6) but sign and encrypt (sign-commands.ts). Loaded
// by main.ts only for these commands (they bring the session parser; `--version` does not need it).
import { attestedCas } from "./access.ts";
import { one, parseArgs } from "./args.ts";
import type { Env } from "./failure.ts";
import { cliVersion, type Io, readInput } from "./io.ts";
import { refused, request } from "./net.ts";
import { readSessionFile, sessionHash } from "./sessions.ts";

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

// --cas-key and --session-hash are newer than the 5.8.0 reference (SCONE-CLI.md §4): a stand-in of version 5 lacks
// them, and refuses them as clap does (exit 2, a usage error).
const targetOptions = (env: Env, ...more: string[]): string[] =>
  cliVersion(env).major < 6 ? ["--cas"] : ["--cas", "--cas-key", ...more];
const sessionTarget = (env: Env) => ({ values: targetOptions(env), positionals: 1 });

export async function sessionUpload(verb: "create" | "update", args: string[], env: Env, io: Io): Promise<number> {
  const p = parseArgs(args, sessionTarget(env));
  const text = readInput(p.positionals[0]!);
  readSessionFile(text);
  const cas = await attestedCas(env, one(p, "--cas"), one(p, "--cas-key"));
  const answer = await request(cas.conn, "POST", `/_cli/v1/sessions?mode=${verb}`, text);
  if (answer.status !== 200 && answer.status !== 201) throw refused(cas.address, answer);
  io.out(String((answer.body as { hash?: unknown }).hash));
  return 0;
}

export async function sessionRead(args: string[], env: Env, io: Io): Promise<number> {
  const p = parseArgs(args, { values: targetOptions(env, "--session-hash"), positionals: 1 });
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
  const p = parseArgs(args, sessionTarget(env));
  const cas = await attestedCas(env, one(p, "--cas"), one(p, "--cas-key"));
  const answer = await request(cas.conn, "GET", `/_cli/v1/session-names?path=${encodeURIComponent(p.positionals[0]!)}`);
  if (answer.status !== 200) throw refused(cas.address, answer);
  for (const n of (answer.body as { names: string[] }).names) io.out(n);
  return 0;
}
