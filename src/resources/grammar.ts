// The grammars of the values scone puts into manifests, session texts and image references: checked where a value
// enters (a flag, an API parameter, a resource field), so a value that is not what its name says is refused with the
// flag/parameter/field named before anything happens. Each check answers the problem (a phrase saying what a valid
// value looks like) or undefined. Pure; no I/O. The patterns follow the OCI distribution reference grammar
// (github.com/distribution/reference regexp.go) and Kubernetes' DNS-1123 names; versions are the CRDs' pattern.
/**
 * The CRDs' pattern for a SCONE release: 6.0.6, 5.9.0-rc.9, 7.0.0-alpha.2. Defined here, not in scone.ts, so the CLI's flag checks load without
 * the resource schemas (building them is a millisecond of every `scone` start).
 */
export const SERVICE_VERSION_PATTERN = "^[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?$";

/** A value's problem, phrased as what a valid value looks like; undefined when the value is valid. */
export type Grammar = (value: string) => string | undefined;

// ---- OCI distribution reference -------------------------------------------------------------------------------------

const ALNUM = "[a-z0-9]+";
const SEPARATOR = "(?:[._]|__|[-]+)";
/** One path component of a repository: lower-case alphanumerics joined by `.`, `_`, `__` or dashes. */
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const IPV6 = "\\[[a-fA-F0-9:]+\\]";
const HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|${IPV6})`;
const PORT = "[0-9]{1,5}";
const DOMAIN = `${HOST}(?::${PORT})?`;
const TAG = "[\\w][\\w.-]{0,127}";
const DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
const NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;

const anchored = (pattern: string) => new RegExp(`^${pattern}$`);
const REGISTRY_RE = anchored(`${DOMAIN}(?:/${PATH_COMPONENT})*`);
const HOST_PORT_RE = anchored(`(${HOST})(?::(${PORT}))?`);
const PREFIX_RE = anchored(`(?:${PATH_COMPONENT}/)*(?:${ALNUM}(?:${SEPARATOR}${ALNUM})*${SEPARATOR}?)?`);
const REFERENCE_RE = anchored(`(${NAME})(?::${TAG})?(?:@${DIGEST})?`);
const TAG_RE = anchored(TAG);
/** Longest repository name the distribution spec allows. */
const NAME_MAX = 255;

function portProblem(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? undefined : `a port is a number between 1 and 65535 (got ${text})`;
}

/**
 * `--image-registry`: where the images are, HOST[:PORT][/PATH…] (e.g. registry.scontain.com/scone.cloud or
 * mirror.local:5000). A leading http(s):// and trailing slashes are dropped first, as upstream does.
 */
export function normalizeRegistry(value: string): string {
  return value.replace(/^https?:\/\//, "").replace(/\/+$/, "");
}

export const imageRegistry: Grammar = (value) => {
  const v = normalizeRegistry(value);
  if (v.length > NAME_MAX || !REGISTRY_RE.test(v)) {
    return "expected a registry HOST[:PORT][/PATH], e.g. registry.scontain.com/scone.cloud or mirror.local:5000/scone (lower-case path, no spaces or other characters)";
  }
  return portProblem(/^[^/]*:(\d+)(?:\/|$)/.exec(v)?.[1]);
};

/** A registry host for pull secrets: HOST[:PORT], no path. */
export const registryHost: Grammar = (value) => {
  const m = HOST_PORT_RE.exec(value);
  if (!m || value.length > 253)
    return "expected a registry HOST[:PORT], e.g. registry.scontain.com or mirror.local:5000";
  return portProblem(m[2]);
};

/** `--image-prefix`: prepended to every image name, e.g. "osc-" (osc-cas), or a path such as "scone/". */
export const imagePrefix: Grammar = (value) =>
  value.length <= 128 && PREFIX_RE.test(value)
    ? undefined
    : 'expected a prefix of image names such as "osc-" or "team/": lower-case letters, digits, ".", "_", "-" and "/"';

/** A full image reference NAME[:TAG][@DIGEST], e.g. registry.scontain.com/scone.cloud/cas:6.0.6. */
export const imageReference: Grammar = (value) => {
  const m = REFERENCE_RE.exec(value);
  if (!m) {
    return "expected an image reference REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST], e.g. registry.scontain.com/scone.cloud/cas:6.0.6";
  }
  if ((m[1] as string).length > NAME_MAX) return `the repository name is longer than ${NAME_MAX} characters`;
  return portProblem(/^[^/]*:(\d+)\//.exec(m[1] as string)?.[1]);
};

/** An image tag (what a version becomes in an image reference). */
export const imageTag: Grammar = (value) =>
  TAG_RE.test(value) ? undefined : 'expected an image tag: at most 128 letters, digits, "_", "." and "-"';

// ---- versions ---------------------------------------------------------------------------------------------------------

const SERVICE_VERSION_RE = new RegExp(SERVICE_VERSION_PATTERN);

/** A SCONE release as the CRDs accept it (Scone spec.serviceVersion): 6.0.6, 5.9.0-rc.9, 7.0.0-alpha.2. */
export const sconeVersion: Grammar = (value) =>
  SERVICE_VERSION_RE.test(value) && value.length <= 128
    ? undefined
    : "expected a SCONE version such as 6.0.6 or 7.0.0-alpha.2 (MAJOR.MINOR.PATCH[-PRERELEASE])";

// ---- Kubernetes names -------------------------------------------------------------------------------------------------

const DNS_LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A DNS-1123 label (namespaces, Service and CAS names) of at most `max` characters. */
export function dnsLabel(max = 63): Grammar {
  return (value) => {
    if (value.length === 0) return "must not be empty";
    if (value.length > max) return `is longer than ${max} characters`;
    return DNS_LABEL_RE.test(value)
      ? undefined
      : "must consist of lower-case letters, digits and '-', and start and end with a letter or digit";
  };
}

/** A DNS-1123 subdomain (names of most objects: Secrets, nodes): dot-separated labels, at most 253 characters. */
export const dnsSubdomain: Grammar = (value) => {
  if (value.length === 0) return "must not be empty";
  if (value.length > 253) return "must be at most 253 characters";
  return value.split(".").every((label) => label.length <= 63 && DNS_LABEL_RE.test(label))
    ? undefined
    : "must be lower-case letters, digits, '-' and '.', each dot-separated part starting and ending with a letter or digit";
};

/** A key of a Secret or ConfigMap. */
export const dataKey: Grammar = (value) =>
  value.length > 0 && value.length <= 253 && /^[-._a-zA-Z0-9]+$/.test(value) && value !== "." && value !== ".."
    ? undefined
    : "expected a Secret key: letters, digits, '-', '_' and '.', at most 253 characters";

/** Upstream `kubectl provision` refuses CAS names longer than 15 characters (they end up in pod host names). */
export const CAS_NAME_MAX = 15;
export const casName: Grammar = dnsLabel(CAS_NAME_MAX);
export const namespaceName: Grammar = dnsLabel(63);

// ---- other values ------------------------------------------------------------------------------------------------------

/** 32 hexadecimal characters (CAS nonces, DCAP API keys). */
export const hex32: Grammar = (value) =>
  /^[0-9a-fA-F]{32}$/.test(value) ? undefined : "expected exactly 32 hexadecimal characters";

/** An API key or token as a header carries it (Intel's DCAP keys are 32 hex characters; other forms are tolerated). */
export const apiKey: Grammar = (value) =>
  /^[A-Za-z0-9._~+/=-]{1,256}$/.test(value)
    ? undefined
    : 'expected an API key: at most 256 letters, digits, ".", "_", "~", "+", "/", "=" and "-"';

/** HOST[:PORT] of a server (no scheme, no path). */
export const hostPort: Grammar = (value) => {
  const m = HOST_PORT_RE.exec(value);
  if (!m || value.length > 253) return "expected HOST[:PORT], e.g. cas.scone-system or 127.0.0.1:8081";
  return portProblem(m[2]);
};

/** Where a server is: HOST[:PORT] or an http(s) URL. */
export const serverAddress: Grammar = (value) =>
  /^https?:\/\//.test(value) ? httpUrl(value) : hostPort(value) && "expected HOST[:PORT] or an http(s):// URL";

/** An http(s) URL without whitespace or control characters. */
export const httpUrl: Grammar = (value) => {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\s\u0000-\u001f\u007f]/.test(value)) return "expected an http(s):// URL without spaces or control characters";
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? undefined : "expected an http(s):// URL";
  } catch {
    return "expected an http(s):// URL";
  }
};

/**
 * A relative path that stays below its base: no leading "/", no "." or ".." segments, no empty segments, no
 * backslashes or control characters.
 */
export const safeRelativePath: Grammar = (value) => {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (value === "" || value.length > 1024 || /[\\\u0000-\u001f\u007f]/.test(value))
    return "expected a relative path of at most 1024 characters without backslashes or control characters";
  if (value.startsWith("/")) return "expected a relative path, not an absolute one";
  return value.split("/").some((s) => s === "" || s === "." || s === "..")
    ? 'expected a relative path without empty, "." or ".." parts'
    : undefined;
};

// ---- messages ----------------------------------------------------------------------------------------------------------

/** A value as the user should see it: quoted, control characters escaped, long values cut. */
export function shown(value: string): string {
  const json = JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  return json.replace(/\u007f/g, "\\u007f");
}

/** "invalid value "x" for --flag: problem" (or undefined when the value is valid); a secret's value is not shown. */
export function grammarProblem(
  what: string,
  value: string,
  grammar: Grammar,
  opts: { readonly secret?: boolean } = {},
): string | undefined {
  const problem = grammar(value);
  if (problem === undefined) return undefined;
  return `invalid value ${opts.secret ? "" : `${shown(value)} `}for ${what}: ${problem}`;
}
