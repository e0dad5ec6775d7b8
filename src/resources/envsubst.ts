// Upstream fills its manifests with `envsubst '$A $B'`, pasting values into YAML text, where a value with a newline
// becomes new keys. scone parses the text first and fills the variables inside string scalars only, so a value
// reaches the object as the value of the field it was meant for, and the text is serialized once from the object.
import { type Document, isScalar, visit } from "yaml";

/** `envsubst '$A $B'` on one string: replaces `$NAME` and `${NAME}` of the listed variables, leaving every other `$`. */
export function substitute(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (whole, braced, bare) => {
    const name = (braced ?? bare) as string;
    return Object.hasOwn(vars, name) ? (vars[name] as string) : whole;
  });
}

/** Fills the variables inside every string scalar of a parsed YAML document (keys included); comments stay as written. */
export function fillDocument(doc: Document, vars: Readonly<Record<string, string>>): void {
  visit(doc, {
    Scalar(_key, node) {
      if (isScalar(node) && typeof node.value === "string") {
        const filled = substitute(node.value, vars);
        if (filled !== node.value) node.value = filled;
      }
    },
  });
}

/** Fills the variables inside every string of a parsed JSON/YAML value (object keys included); returns a copy. */
export function fillValues(value: unknown, vars: Readonly<Record<string, string>>): unknown {
  if (typeof value === "string") return substitute(value, vars);
  if (Array.isArray(value)) return value.map((item) => fillValues(item, vars));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [substitute(k, vars), fillValues(v, vars)] as const),
    );
  }
  return value;
}
