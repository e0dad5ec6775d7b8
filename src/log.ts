// A tiny structured logger shared by the CLI, the API and the operator.
//
// Where logs go (decided here so every mode agrees):
// - CLI commands log to STDERR: stdout carries the command's output (YAML, JSON, tables) and must stay
//   pipeable. `scone api` is a CLI command too, so it logs to stderr as well.
// - `scone operator` logs to STDOUT in JSON: that is what `kubectl logs` and log collectors read in a pod.
// The format follows the destination stream: JSON lines when it is not a terminal (pods, pipes, files),
// readable coloured lines on a terminal. SCONE_LOG_FORMAT=json|text overrides the guess.
//
// Field values whose NAME looks secret (token, password, secret, key, identity, cert) are replaced by
// "[redacted]" at any depth, so a careless `log.info("x", { ownerIdentity })` cannot leak an owner identity.

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = "json" | "text";
export type LogFields = Record<string, unknown>;

export interface LogRecord {
  readonly time: Date;
  readonly level: LogLevel;
  readonly msg: string;
  readonly component?: string;
  readonly fields: LogFields;
}

export interface Logger {
  readonly level: LogLevel;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `component` (and any other bound fields) to every record. */
  child(bindings: { component?: string } & LogFields): Logger;
  isEnabled(level: LogLevel): boolean;
}

export interface LogSink {
  write(line: string): unknown;
  readonly isTTY?: boolean;
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Colour in text format; defaults to true on a terminal unless NO_COLOR is set. */
  color?: boolean;
  sink?: LogSink;
  component?: string;
  fields?: LogFields;
  now?: () => Date;
}

const REDACTED = "[redacted]";
/** Field names that carry secrets or identities (the rule is on names, values are never inspected). */
export const SECRET_FIELD_NAME = /token|password|secret|key|identity|cert/i;

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === "string" && (LOG_LEVELS as readonly string[]).includes(value);
}

/** `--log-level` wins over SCONE_LOG_LEVEL; an unknown value falls back to info (flags are validated earlier). */
export function resolveLogLevel(
  flag: string | undefined,
  env: string | undefined = process.env.SCONE_LOG_LEVEL,
): LogLevel {
  if (isLogLevel(flag)) return flag;
  const fromEnv = env?.toLowerCase();
  if (isLogLevel(fromEnv)) return fromEnv;
  return "info";
}

/** Replaces secret-named fields at any depth; turns Errors into plain objects so JSON keeps their message. */
export function redactFields(value: unknown, depth = 0): unknown {
  if (depth > 8) return "[too deep]";
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (Array.isArray(value)) return value.map((v) => redactFields(v, depth + 1));
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "bigint") return value.toString();
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      out[k] = SECRET_FIELD_NAME.test(k) ? REDACTED : redactFields(v, depth + 1);
    return out;
  }
  return value;
}

/** One JSON object per line: time, level, msg, component, then the (redacted) fields. */
export function formatJsonLine(record: LogRecord): string {
  const fields = redactFields(record.fields) as LogFields;
  const base: LogFields = { time: record.time.toISOString(), level: record.level, msg: record.msg };
  if (record.component !== undefined) base.component = record.component;
  // Reserved keys win over fields of the same name, so a field cannot fake the level or time.
  return `${JSON.stringify({ ...fields, ...base })}\n`;
}

const LEVEL_COLOUR: Record<LogLevel, string> = { debug: "90", info: "36", warn: "33", error: "31" };

function formatTextValue(value: unknown): string {
  if (typeof value === "string") return /[\s"=]/.test(value) || value === "" ? JSON.stringify(value) : value;
  return JSON.stringify(value) ?? String(value);
}

/** `HH:MM:SS.mmm LEVEL [component] msg key=value …` for people at a terminal. */
export function formatTextLine(record: LogRecord, color: boolean): string {
  const paint = (code: string, s: string) => (color ? `\u001b[${code}m${s}\u001b[0m` : s);
  const time = record.time.toISOString().slice(11, 23);
  const level = paint(LEVEL_COLOUR[record.level], record.level.toUpperCase().padEnd(5));
  const component = record.component ? ` ${paint("35", `[${record.component}]`)}` : "";
  const fields = redactFields(record.fields) as LogFields;
  const kv = Object.entries(fields)
    .map(([k, v]) => ` ${paint("90", `${k}=`)}${formatTextValue(v)}`)
    .join("");
  return `${paint("90", time)} ${level}${component} ${record.msg}${kv}\n`;
}

export function colourWanted(sink: LogSink, env: Record<string, string | undefined> = process.env): boolean {
  return sink.isTTY === true && env.NO_COLOR === undefined && env.TERM !== "dumb";
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const sink: LogSink = options.sink ?? process.stderr;
  const envFormat = process.env.SCONE_LOG_FORMAT;
  const format: LogFormat =
    options.format ?? (envFormat === "json" || envFormat === "text" ? envFormat : sink.isTTY ? "text" : "json");
  const color = options.color ?? colourWanted(sink);
  const level = options.level ?? resolveLogLevel(undefined);
  const now = options.now ?? (() => new Date());
  return makeLogger({ sink, format, color, level, now, component: options.component, fields: options.fields ?? {} });
}

interface LoggerState {
  sink: LogSink;
  format: LogFormat;
  color: boolean;
  level: LogLevel;
  now: () => Date;
  component: string | undefined;
  fields: LogFields;
}

function makeLogger(state: LoggerState): Logger {
  const isEnabled = (level: LogLevel) => LEVEL_RANK[level] >= LEVEL_RANK[state.level];
  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (!isEnabled(level)) return;
    const record: LogRecord = {
      time: state.now(),
      level,
      msg,
      component: state.component,
      fields: { ...state.fields, ...fields },
    };
    state.sink.write(state.format === "json" ? formatJsonLine(record) : formatTextLine(record, state.color));
  };
  return {
    level: state.level,
    isEnabled,
    debug: (msg, fields) => emit("debug", msg, fields),
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
    child: ({ component, ...fields }) =>
      makeLogger({ ...state, component: component ?? state.component, fields: { ...state.fields, ...fields } }),
  };
}
