// Redaction for `scone cas report` bundles (pure). A bundle leaves the cluster (it is mailed to support), so nothing
// that could be a secret goes in: Secret objects never do (refused here too), and in every other object the fields
// that can carry one are replaced by "<redacted>": the SCONE kinds' secret fields and kubectl's last-applied
// annotation (src/api/redact.ts), annotations, container env values, ConfigMap entries and command arguments whose
// name says secret (src/log.ts's SECRET_FIELD_NAME) or whose value looks like a credential. Then every text file is
// scrubbed of the values of the Secrets the collector could read, wherever they appear (logs, Events, messages).
// Not defended: a secret shorter than SCRUB_MIN_LENGTH, or one the collector may not read, pasted into a field
// that neither its name nor its shape gives away.
import { LAST_APPLIED, REDACTED, redactResource } from "../../api/redact.ts";
import type { KubeObject } from "../../kube/types.ts";
import { SECRET_FIELD_NAME } from "../../log.ts";
import { isSconeKind } from "../../resources/kinds.ts";

export { REDACTED };

/** Known secret values shorter than this are not scrubbed from text: "true" or "admin" would erase half a log. */
export const SCRUB_MIN_LENGTH = 6;

const PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g;
const JWT = /\beyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*/g;
/**
 * One word of 32+ token characters mixing letters and digits: API keys, bearer tokens, base64 blobs, hex keys. Not
 * with "." or ":", which image references, host names and URLs have and these do not.
 */
const TOKEN_WORD = /^[A-Za-z0-9+/=_~-]{32,}$/;

/** Whether a value looks like a credential by its shape alone (a private key, a JWT, a long token-like word). */
export function looksLikeCredential(value: string): boolean {
  const v = value.trim();
  if (new RegExp(PRIVATE_KEY.source).test(v) || new RegExp(JWT.source).test(v)) return true;
  return TOKEN_WORD.test(v) && /[0-9]/.test(v) && /[A-Za-z]/.test(v);
}

const secretNamed = (name: string): boolean => SECRET_FIELD_NAME.test(name);
const secretish = (name: string, value: string): boolean => secretNamed(name) || looksLikeCredential(value);

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

function redactMap(map: unknown, keep: (key: string, value: string) => boolean = (k, v) => !secretish(k, v)): void {
  if (!isRecord(map)) return;
  for (const [k, v] of Object.entries(map)) {
    if (typeof v === "string" && !keep(k, v)) map[k] = REDACTED;
  }
}

function redactContainers(podSpec: unknown): void {
  if (!isRecord(podSpec)) return;
  for (const list of ["containers", "initContainers", "ephemeralContainers"]) {
    const containers = podSpec[list];
    if (!Array.isArray(containers)) continue;
    for (const c of containers) {
      if (!isRecord(c)) continue;
      for (const env of Array.isArray(c.env) ? c.env : []) {
        // valueFrom (a reference to a Secret or ConfigMap key) names where a value is, not the value: it stays.
        if (isRecord(env) && typeof env.value === "string" && secretish(String(env.name ?? ""), env.value)) {
          env.value = REDACTED;
        }
      }
      for (const field of ["command", "args"]) {
        const words = c[field];
        if (Array.isArray(words)) c[field] = words.map((w) => (typeof w === "string" ? redactText(w) : w));
      }
    }
  }
}

/** Pod specs inside an object: a Pod's own, a workload's template, a CronJob's job template. */
function podSpecsOf(obj: Json): unknown[] {
  const spec = obj.spec;
  if (!isRecord(spec)) return [];
  const template = isRecord(spec.template) ? spec.template : undefined;
  const jobTemplate = isRecord(spec.jobTemplate) && isRecord(spec.jobTemplate.spec) ? spec.jobTemplate.spec : undefined;
  const jobPod = jobTemplate && isRecord(jobTemplate.template) ? jobTemplate.template.spec : undefined;
  return [obj.kind === "Pod" ? spec : undefined, template?.spec, jobPod].filter((s) => s !== undefined);
}

/** Thrown for a Secret: the collector never reads one into a bundle, and this makes sure. */
export class SecretInBundleError extends Error {}

/** A redacted copy of `obj` (the original is left alone); managedFields are dropped as noise. */
export function redactObject(obj: KubeObject): KubeObject {
  if (obj.kind === "Secret") throw new SecretInBundleError(`a Secret (${obj.metadata?.name}) is never put in a report`);
  const kind = obj.kind ?? "";
  const base = isSconeKind(kind) ? redactResource(kind, obj) : obj;
  const copy = structuredClone(base) as Json & KubeObject;
  if (copy.metadata) {
    delete copy.metadata.managedFields;
    redactMap(copy.metadata.annotations, (k, v) => k !== LAST_APPLIED && !secretish(k, v));
  }
  for (const podSpec of podSpecsOf(copy)) redactContainers(podSpec);
  // Pod templates carry annotations too (e.g. a token a mutating webhook added).
  const template = isRecord(copy.spec) && isRecord(copy.spec.template) ? copy.spec.template : undefined;
  if (template && isRecord(template.metadata)) redactMap(template.metadata.annotations);
  if (kind === "ConfigMap") {
    redactMap(copy.data);
    if (isRecord(copy.binaryData)) {
      for (const k of Object.keys(copy.binaryData)) copy.binaryData[k] = REDACTED;
    }
  }
  return copy;
}

/** Credential-shaped passages of free text (private keys, JWTs) replaced by "<redacted>". */
export function redactText(text: string): string {
  return text.replace(PRIVATE_KEY, REDACTED).replace(JWT, REDACTED);
}

/**
 * The values to scrub, from Secrets' `data` (base64) and `stringData`: each value, and each line of a multi-line
 * one (a PEM block shows up line by line in a log), longest first so a value containing another goes whole.
 */
export function secretValuesOf(
  secrets: readonly { data?: Record<string, string>; stringData?: Record<string, string> }[],
): string[] {
  const values = new Set<string>();
  const add = (v: string) => {
    for (const part of [v, ...v.split(/\r?\n/)]) {
      const t = part.trim();
      if (t.length >= SCRUB_MIN_LENGTH) values.add(t);
    }
  };
  for (const s of secrets) {
    for (const v of Object.values(s.data ?? {})) {
      add(v); // as stored: a log or an env dump may show the base64 form
      add(Buffer.from(v, "base64").toString("utf8"));
    }
    for (const v of Object.values(s.stringData ?? {})) add(v);
  }
  return [...values].sort((a, b) => b.length - a.length);
}

/** `text` with every known secret value and every credential-shaped passage replaced by "<redacted>". */
export function scrubText(text: string, secretValues: readonly string[]): string {
  let out = text;
  for (const v of secretValues) if (out.includes(v)) out = out.split(v).join(REDACTED);
  return redactText(out);
}
