// `scone api`: the REST API server, and its bearer tokens.
import { isLoopbackHost } from "../../api/loopback.ts";
import { command, group, lazyRun } from "../define.ts";
import {
  CAS_DRIVER_GLOBALS,
  checkDuration,
  checkFile,
  checkPort,
  dnsLabelProblem,
  requires,
  together,
} from "../globals.ts";
import type { SconeCommand } from "../spec.ts";

export const API_PLAIN_PORT = 8080;

function plainHttpProblem(values: import("../spec.ts").FlagValues): string | undefined {
  const host = typeof values.host === "string" ? values.host : "127.0.0.1";
  if (values["tls-cert"] || values.insecure === true || isLoopbackHost(host)) return undefined;
  return `refusing plain HTTP on ${host}: bearer tokens would cross the network in clear; pass --tls-cert and --tls-key, or --insecure to accept that`;
}
export const API_TLS_PORT = 8443;

/** The store's token scopes (src/store/schema.ts TOKEN_SCOPES, not imported: it would load drizzle at start-up). */
export const TOKEN_SCOPE_NAMES = ["read", "operate", "admin"] as const;
const TOKEN_GLOBALS = ["state-dir", "log-level", "output"] as const;
const tokenName = {
  type: "positional",
  valueHint: "NAME",
  description: "Token name: lower-case letters, digits, '.', '_' or '-'",
} as const;
const tokens = () => import("../run/api-tokens.ts");

const tokenCreate = command({
  meta: { name: "create", description: "Create a bearer token (printed once, only its hash is kept)" },
  args: {
    name: tokenName,
    scope: {
      type: "enum",
      options: [...TOKEN_SCOPE_NAMES],
      default: "read",
      description: "What the token may do: read, operate (run flows) or admin (also manage tokens)",
    },
    ttl: {
      type: "string",
      valueHint: "DURATION",
      description: "Lifetime, e.g. 24h or 30d (default: no expiry)",
      check: checkDuration("ttl"),
    },
    namespace: {
      type: "string",
      alias: "n",
      valueHint: "NS",
      description: "Limit the token to this namespace (repeatable, or NS1,NS2; read and operate tokens only)",
      complete: "namespace",
      check: (value) => {
        const bad = value.split(",").find((ns) => dnsLabelProblem(ns.trim()) !== undefined);
        return bad === undefined ? undefined : `invalid value '${bad}' for --namespace: ${dnsLabelProblem(bad.trim())}`;
      },
    },
  },
  globals: TOKEN_GLOBALS,
  notes: [
    "The token goes to stdout and nowhere else; the state directory must be the one `scone api` uses.",
    "A token with --namespace acts only there: other namespaces and cluster-scoped kinds (LAS, SGX plugins) answer 403.",
  ],
  run: lazyRun(async () => ({ run: (await tokens()).create })),
});
const tokenList = command({
  meta: { name: "list", description: "List tokens (never their secret)" },
  globals: TOKEN_GLOBALS,
  run: lazyRun(async () => ({ run: (await tokens()).list })),
});
const tokenRevoke = command({
  meta: { name: "revoke", description: "Revoke a token" },
  args: { name: { ...tokenName, description: "Token name (see `scone api token list`)" } },
  globals: TOKEN_GLOBALS,
  run: lazyRun(async () => ({ run: (await tokens()).revoke })),
});

const token = group({
  meta: { name: "token", description: "Manage the API's bearer tokens" },
  globals: TOKEN_GLOBALS,
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
    "tls-client-ca": {
      type: "string",
      valueHint: "FILE",
      description: "Require client certificates signed by this CA (a gate; identity stays in the bearer token)",
      check: checkFile("tls-client-ca"),
    },
    "bootstrap-token-file": {
      type: "string",
      valueHint: "FILE",
      description: "Write a first admin token here (0600) when the store has no token yet",
    },
    "kube-auth": {
      type: "boolean",
      description:
        "Accept Kubernetes bearer tokens, authorized by the API server's RBAC (TokenReview, SubjectAccessReview); the token table is not used. Always on in a pod",
    },
    "backup-root": {
      type: "string",
      valueHint: "DIR",
      description:
        "Local backup targets (and restores of local backups) must be under this absolute directory (default: <state-dir>/backups; in a pod none, its state directory being an emptyDir: local directories are refused unless this names a persistent volume). GET /api/v1/backups?refresh=true and GET /api/v1/audit refill their caches from it and the --s3-allow locations",
      check: (value) =>
        value.startsWith("/") ? undefined : `invalid value '${value}' for --backup-root: give an absolute directory`,
    },
    "s3-allow": {
      type: "string",
      valueHint: "S3URL",
      description: "Allow backups to and restores from s3://bucket[/prefix] (repeatable; default: no S3 location)",
    },
    insecure: {
      type: "boolean",
      description: "Serve plain HTTP on an address other than loopback (bearer tokens then cross the network in clear)",
    },
  },
  globals: ["kubeconfig", "context", "namespace", "state-dir", "log-level", ...CAS_DRIVER_GLOBALS],
  printsNoData: "it serves the REST API until stopped",
  checks: (values) =>
    together(values, ["tls-cert", "tls-key"]) ??
    requires(values, "tls-client-ca", "tls-cert") ??
    (values["kube-auth"] === true && values["bootstrap-token-file"]
      ? "--bootstrap-token-file and --kube-auth exclude each other: with --kube-auth rights come from RBAC, not from the token table"
      : undefined) ??
    plainHttpProblem(values),
  notes: [
    "Plain HTTP unless --tls-cert/--tls-key are given; plain HTTP on an address other than loopback needs --insecure.",
    "Operations are confined: backup directories under --backup-root, S3 only under --s3-allow, restores only into the namespace the backup came from (admin tokens excepted).",
  ],
  subCommands: { token },
  run: lazyRun(() => import("../run/api.ts")),
});
