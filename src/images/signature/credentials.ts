// Registry credentials as `docker login` stores them: $DOCKER_CONFIG/config.json (default ~/.docker/config.json),
// `auths[HOST].auth` = base64("user:password") or `username`/`password`, `identitytoken` for token logins.
// Credential helpers (credsStore/credHelpers) run other programs: not supported, said so when one is configured.

import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export interface RegistryCredentials {
  readonly username: string;
  /** Never printed or logged. */
  readonly password: string;
}

/** A config.json larger than this is not a docker config. */
const MAX_CONFIG_BYTES = 1024 * 1024;

const KEYS_FOR = (host: string): string[] =>
  host === "docker.io" || host === "registry-1.docker.io"
    ? ["https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io"]
    : [host, `https://${host}`, `http://${host}`, `https://${host}/v1/`, `https://${host}/v2/`];

/** The credentials for `host` in a parsed docker config (pure), or undefined. */
export function credentialsFromDockerConfig(config: unknown, host: string): RegistryCredentials | undefined {
  if (config === null || typeof config !== "object") return undefined;
  const auths = (config as { auths?: unknown }).auths;
  if (auths === null || typeof auths !== "object") return undefined;
  for (const key of KEYS_FOR(host)) {
    const entry = (auths as Record<string, unknown>)[key];
    if (entry === null || typeof entry !== "object") continue;
    const e = entry as Record<string, unknown>;
    if (typeof e.auth === "string" && e.auth !== "") {
      const decoded = Buffer.from(e.auth, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    if (typeof e.username === "string" && typeof e.password === "string")
      return { username: e.username, password: e.password };
    if (typeof e.identitytoken === "string" && e.identitytoken !== "")
      return { username: "<token>", password: e.identitytoken };
  }
  return undefined;
}

/** Reads the user's docker config; absent or unreadable → no credentials (anonymous pulls still work). */
export function dockerConfigCredentials(
  env: Readonly<Record<string, string | undefined>> = process.env,
): (host: string) => RegistryCredentials | undefined {
  const file = join(env.DOCKER_CONFIG ?? join(homedir(), ".docker"), "config.json");
  let config: unknown;
  try {
    const text = readFileSync(file, "utf8");
    config = text.length > MAX_CONFIG_BYTES ? undefined : JSON.parse(text);
  } catch {
    config = undefined;
  }
  return (host) => credentialsFromDockerConfig(config, host);
}
