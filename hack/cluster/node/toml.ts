// A minimal TOML writer for containerd's configuration: tables of strings, numbers, booleans and string arrays.
// Built from objects and serialized once (no text pasted together); keys that are not bare are quoted.
export type TomlValue = string | number | boolean | readonly string[] | TomlTable;
export interface TomlTable {
  readonly [key: string]: TomlValue;
}

const BARE_KEY = /^[A-Za-z0-9_-]+$/;
const key = (k: string) => (BARE_KEY.test(k) ? k : JSON.stringify(k));
// JSON's string escapes are valid TOML basic-string escapes for everything JSON.stringify emits.
function scalar(value: string | number | boolean | readonly string[]): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`TOML: ${value} is not a finite number`);
    return String(value);
  }
  if (typeof value === "boolean") return String(value);
  return `[${value.map((v) => JSON.stringify(v)).join(", ")}]`;
}

const isTable = (value: TomlValue): value is TomlTable => typeof value === "object" && !Array.isArray(value);

export function stringifyToml(table: TomlTable, path: readonly string[] = []): string {
  const lines: string[] = [];
  const nested: [string, TomlTable][] = [];
  for (const [k, v] of Object.entries(table)) {
    if (isTable(v)) nested.push([k, v]);
    else lines.push(`${key(k)} = ${scalar(v as string | number | boolean | readonly string[])}`);
  }
  const parts: string[] = [];
  if (path.length > 0 && (lines.length > 0 || nested.length === 0)) parts.push(`[${path.map(key).join(".")}]`);
  parts.push(...lines);
  let text = parts.length > 0 ? `${parts.join("\n")}\n` : "";
  for (const [k, v] of nested) text += `${text ? "\n" : ""}${stringifyToml(v, [...path, k])}`;
  return text;
}
