// Container log files in the kubelet's CRI format (`<RFC3339Nano> <stdout|stderr> F <text>`), which kwok's log
// endpoint reads (with tail, since, timestamps and follow) for `kubectl logs`. One writer per container log; a
// tailer turns a plain file that grows (the audit log) into such lines, as `tail -F` in the audit container would.
import { appendFileSync, closeSync, openSync, readSync, statSync } from "node:fs";

export type Stream = "stdout" | "stderr";

/** "2026-11-23T10:55:41.932000000Z": RFC 3339 with nanoseconds, as the kubelet writes it. */
export function criTime(at: Date): string {
  return at.toISOString().replace(/\.(\d{3})Z$/, ".$1000000Z");
}

export function criLine(stream: Stream, text: string, at = new Date()): string {
  return `${criTime(at)} ${stream} F ${text}\n`;
}

/** Splits a byte stream into lines; keeps the unfinished tail for the next chunk. */
export class LineSplitter {
  private partial = "";
  push(chunk: string): string[] {
    const text = this.partial + chunk;
    const lines = text.split("\n");
    this.partial = lines.pop() ?? "";
    return lines;
  }
  flush(): string[] {
    const rest = this.partial;
    this.partial = "";
    return rest === "" ? [] : [rest];
  }
}

export class CriLogWriter {
  constructor(readonly path: string) {
    appendFileSync(path, "");
  }
  write(stream: Stream, lines: readonly string[]): void {
    if (lines.length === 0) return;
    const at = new Date();
    appendFileSync(this.path, lines.map((l) => criLine(stream, l.replace(/\r$/, ""), at)).join(""));
  }
}

/**
 * Follows `source` (which may not exist yet, and may be truncated or replaced) by polling, and writes every complete
 * line to `target` as stdout. Polling, not fs.watch: the file is written by another process and watch events are
 * unreliable across platforms; the audit log grows slowly.
 */
export function tailToCri(source: string, target: CriLogWriter, intervalMs = 200): { stop(): void } {
  let offset = 0;
  let inode: number | undefined;
  const splitter = new LineSplitter();
  const poll = () => {
    let size: number;
    try {
      const st = statSync(source);
      if (inode !== undefined && st.ino !== inode) offset = 0; // replaced (rotation): read the new file from its start
      if (st.size < offset) offset = 0; // truncated
      inode = st.ino;
      size = st.size;
    } catch {
      return; // not there yet
    }
    if (size <= offset) return;
    const fd = openSync(source, "r");
    try {
      const buffer = Buffer.alloc(size - offset);
      const read = readSync(fd, buffer, 0, buffer.length, offset);
      offset += read;
      target.write("stdout", splitter.push(buffer.subarray(0, read).toString("utf8")));
    } finally {
      closeSync(fd);
    }
  };
  poll();
  const timer = setInterval(poll, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      poll();
    },
  };
}
