// Streaming watch over fetch: the API server sends one JSON WatchEvent per line (chunk boundaries fall anywhere).
import { type ApiStatus, errorFromStatus, isApiStatus } from "./errors.ts";
import type { Transport } from "./transport.ts";
import type { WatchEvent, WatchEventType } from "./types.ts";

/** Splits a byte stream into complete lines; keeps the unfinished tail until the next chunk (pure, for tests). */
export class LineSplitter {
  private readonly decoder = new TextDecoder();
  private tail = "";

  push(chunk: Uint8Array): string[] {
    this.tail += this.decoder.decode(chunk, { stream: true });
    const parts = this.tail.split("\n");
    this.tail = parts.pop() ?? "";
    return parts.filter((line) => line.trim() !== "");
  }

  /** What is left when the stream ends (a last line without newline). */
  end(): string[] {
    this.tail += this.decoder.decode();
    const rest = this.tail.trim();
    this.tail = "";
    return rest === "" ? [] : [rest];
  }
}

const EVENT_TYPES = new Set<string>(["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"]);

export type RawWatchEvent<T> = WatchEvent<T> | { type: "ERROR"; object: ApiStatus };

/** Parses one watch line; throws on lines that are not a WatchEvent (a protocol error, not data). */
export function parseWatchLine<T>(line: string): RawWatchEvent<T> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new Error(`watch stream sent a line that is not JSON: ${line.slice(0, 200)}`);
  }
  const ev = parsed as { type?: unknown; object?: unknown };
  if (typeof ev.type !== "string" || !EVENT_TYPES.has(ev.type) || typeof ev.object !== "object" || ev.object === null) {
    throw new Error(`watch stream sent an unknown event: ${line.slice(0, 200)}`);
  }
  if (ev.type === "ERROR") {
    return { type: "ERROR", object: isApiStatus(ev.object) ? ev.object : { code: 500, message: line.slice(0, 200) } };
  }
  return { type: ev.type as WatchEventType, object: ev.object as T };
}

export interface WatchOptions {
  /** Start after this version; "" or undefined = from now (the server sends ADDED for existing objects). */
  resourceVersion?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Server-side end of the watch; the caller then resumes from its last resourceVersion. */
  timeoutSeconds?: number;
  allowWatchBookmarks?: boolean;
  signal?: AbortSignal;
  /** Called when response headers arrive, i.e. the watch is established. */
  onOpen?: () => void;
}

/**
 * Watches a collection path (e.g. /api/v1/namespaces/x/configmaps) and yields events until the server ends the
 * stream. In-stream ERROR events throw their typed error: 410 Expired → GoneError (the caller must relist).
 */
export async function* watchPath<T>(
  transport: Transport,
  path: string,
  opts: WatchOptions = {},
): AsyncGenerator<WatchEvent<T>> {
  const res = await transport.stream({
    path,
    accept: "application/json",
    signal: opts.signal,
    query: {
      watch: true,
      resourceVersion: opts.resourceVersion,
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
      timeoutSeconds: opts.timeoutSeconds,
      allowWatchBookmarks: opts.allowWatchBookmarks ?? true,
    },
  });
  opts.onOpen?.();
  if (!res.body) return;
  const splitter = new LineSplitter();
  const reader = res.body.getReader();
  const ctx = { method: "WATCH", path };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      const lines = done ? splitter.end() : splitter.push(value);
      for (const line of lines) {
        const ev = parseWatchLine<T>(line);
        if (ev.type === "ERROR") throw errorFromStatus(ev.object, ctx);
        yield ev;
      }
      if (done) return;
    }
  } finally {
    // Ends the HTTP stream when the consumer stops early (break, throw, abort).
    await reader.cancel().catch(() => {});
  }
}
