// `scone api`: the REST API server, and its bearer tokens.
import { command, group, lazyRun } from "../define.ts";
import { checkFile, checkPort, together } from "../globals.ts";
import { TRACKING_ISSUE } from "../issues.ts";
import { notImplemented, type SconeCommand } from "../spec.ts";

export const API_PLAIN_PORT = 8080;
export const API_TLS_PORT = 8443;

const tokenCreate = command({
  meta: { name: "create", description: "Create a bearer token (printed once)" },
  args: {
    name: { type: "positional", valueHint: "NAME", description: "What the token is for" },
    ttl: { type: "string", valueHint: "DURATION", description: "Lifetime, e.g. 24h or 30d (default: no expiry)" },
  },
  globals: ["state-dir", "log-level", "output"],
  run: notImplemented(TRACKING_ISSUE.apiTokens),
});
const tokenList = command({
  meta: { name: "list", description: "List tokens (never their secret)" },
  globals: ["state-dir", "log-level", "output"],
  run: notImplemented(TRACKING_ISSUE.apiTokens),
});
const tokenRevoke = command({
  meta: { name: "revoke", description: "Revoke a token" },
  args: { id: { type: "positional", valueHint: "ID", description: "Token id (see `scone api token list`)" } },
  globals: ["state-dir", "log-level", "output"],
  run: notImplemented(TRACKING_ISSUE.apiTokens),
});

const token = group({
  meta: { name: "token", description: "Manage the API's bearer tokens" },
  globals: ["state-dir", "log-level", "output"],
  subCommands: { create: tokenCreate, list: tokenList, revoke: tokenRevoke },
});

export const apiCommand: SconeCommand = command({
  meta: { name: "api", description: "Serve the REST API (or manage its tokens)" },
  args: {
    port: {
      type: "string",
      valueHint: "PORT",
      description: `Listen port (default: ${API_PLAIN_PORT}, or ${API_TLS_PORT} with --tls-cert)`,
      check: checkPort("port"),
    },
    host: { type: "string", default: "127.0.0.1", valueHint: "ADDR", description: "Listen address" },
    "tls-cert": {
      type: "string",
      valueHint: "FILE",
      description: "TLS certificate chain (PEM), with --tls-key",
      check: checkFile("tls-cert"),
    },
    "tls-key": {
      type: "string",
      valueHint: "FILE",
      description: "TLS private key (PEM), with --tls-cert",
      check: checkFile("tls-key"),
    },
  },
  globals: ["kubeconfig", "context", "namespace", "state-dir", "log-level"],
  checks: (values) => together(values, ["tls-cert", "tls-key"]),
  notes: ["Plain HTTP unless --tls-cert/--tls-key are given; keep the default host 127.0.0.1 for plain HTTP."],
  subCommands: { token },
  run: lazyRun(() => import("../run/api.ts")),
});
