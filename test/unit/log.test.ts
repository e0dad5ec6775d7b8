import { describe, expect, test } from "bun:test";
import {
  createLogger,
  formatJsonLine,
  formatTextLine,
  type LogSink,
  redactFields,
  resolveLogLevel,
} from "../../src/log.ts";

const TIME = new Date("2026-01-02T03:04:05.678Z");

function capture(isTTY = false): LogSink & { lines: string[] } {
  const lines: string[] = [];
  return { isTTY, lines, write: (s: string) => lines.push(s) };
}

describe("redaction", () => {
  test("secret-looking field names are replaced at any depth, others kept", () => {
    const out = redactFields({
      token: "t",
      accessToken: "t",
      PASSWORD: "p",
      clientSecret: "s",
      dcapKey: "k",
      ownerIdentity: { id: 1 },
      tlsCert: "c",
      nested: { list: [{ apiKey: "k", name: "ok" }] },
      name: "mycas",
      count: 3,
    });
    expect(out).toEqual({
      token: "[redacted]",
      accessToken: "[redacted]",
      PASSWORD: "[redacted]",
      clientSecret: "[redacted]",
      dcapKey: "[redacted]",
      ownerIdentity: "[redacted]",
      tlsCert: "[redacted]",
      nested: { list: [{ apiKey: "[redacted]", name: "ok" }] },
      name: "mycas",
      count: 3,
    });
  });

  test("errors keep name and message", () => {
    expect(redactFields({ err: new TypeError("boom") })).toEqual({ err: { name: "TypeError", message: "boom" } });
  });

  test("a secret never reaches the sink, in either format", () => {
    for (const format of ["json", "text"] as const) {
      const sink = capture();
      createLogger({ sink, format, level: "info", color: false }).info("provisioned", {
        casName: "c",
        provisioningToken: "SECRET-123",
      });
      expect(sink.lines.join("")).not.toContain("SECRET-123");
      expect(sink.lines.join("")).toContain("[redacted]");
    }
  });
});

describe("formats", () => {
  test("JSON line: time, level, msg, component, fields; reserved keys cannot be overridden by fields", () => {
    const line = formatJsonLine({
      time: TIME,
      level: "warn",
      msg: "slow",
      component: "api",
      fields: { ms: 12, level: "x" },
    });
    expect(line.endsWith("\n")).toBe(true);
    expect(JSON.parse(line)).toEqual({
      time: "2026-01-02T03:04:05.678Z",
      level: "warn",
      msg: "slow",
      component: "api",
      ms: 12,
    });
  });

  test("text line without colour", () => {
    const line = formatTextLine(
      { time: TIME, level: "info", msg: "ready", component: "operator", fields: { n: 2, s: "a b" } },
      false,
    );
    expect(line).toBe('03:04:05.678 INFO  [operator] ready n=2 s="a b"\n');
  });

  test("text line with colour has ANSI codes, without has none", () => {
    const rec = { time: TIME, level: "error" as const, msg: "x", fields: {} };
    expect(formatTextLine(rec, true)).toContain("\u001b[31m");
    expect(formatTextLine(rec, false)).not.toContain("\u001b[");
  });

  test("format follows the sink: JSON when not a terminal, text on a terminal", () => {
    // createLogger reads SCONE_LOG_FORMAT itself; unset it for this synchronous test (nothing else runs meanwhile)
    // so the environment of the test run cannot decide the format.
    const saved = process.env.SCONE_LOG_FORMAT;
    delete process.env.SCONE_LOG_FORMAT;
    try {
      const pipe = capture(false);
      createLogger({ sink: pipe, level: "info", now: () => TIME }).info("a");
      expect(JSON.parse(pipe.lines[0] as string).msg).toBe("a");
      const tty = capture(true);
      createLogger({ sink: tty, level: "info", color: false, now: () => TIME }).info("a");
      expect(tty.lines[0]).toBe("03:04:05.678 INFO  a\n");
    } finally {
      if (saved !== undefined) process.env.SCONE_LOG_FORMAT = saved;
    }
  });
});

describe("levels and children", () => {
  test("records below the level are dropped", () => {
    const sink = capture();
    const log = createLogger({ sink, level: "warn", format: "json" });
    log.debug("d");
    log.info("i");
    log.warn("w");
    log.error("e");
    expect(sink.lines.map((l) => JSON.parse(l).level)).toEqual(["warn", "error"]);
    expect(log.isEnabled("info")).toBe(false);
  });

  test("child binds component and fields; call fields win", () => {
    const sink = capture();
    const log = createLogger({ sink, format: "json", level: "info", now: () => TIME }).child({
      component: "cas",
      cas: "c1",
    });
    log.child({ step: 1 }).info("go", { cas: "c2" });
    expect(JSON.parse(sink.lines[0] as string)).toEqual({
      time: TIME.toISOString(),
      level: "info",
      msg: "go",
      component: "cas",
      cas: "c2",
      step: 1,
    });
  });

  test("--log-level wins over SCONE_LOG_LEVEL; unknown values fall back to info", () => {
    expect(resolveLogLevel("error", "debug")).toBe("error");
    expect(resolveLogLevel(undefined, "DEBUG")).toBe("debug");
    expect(resolveLogLevel(undefined, "loud")).toBe("info");
    // An unset variable is passed as "": undefined would mean "read process.env", the environment of the test run.
    expect(resolveLogLevel(undefined, "")).toBe("info");
  });
});
