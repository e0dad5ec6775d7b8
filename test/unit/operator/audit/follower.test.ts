// followAuditLog: batches of lines from the audit container's follow; a close that never waits on a stuck stream.
import { describe, expect, test } from "bun:test";
import type { AuditLogKube } from "../../../../src/flows/audit/flow.ts";
import { followAuditLog, TIMED_OUT } from "../../../../src/operator/audit/follower.ts";

const POD = { namespace: "ns1", name: "cas-0" };

/** A follow whose stream sends `lines` and then stays open, ignoring every abort (a half-open connection). */
function stuckFollow(lines: readonly string[]): AuditLogKube & { aborted: () => boolean } {
  let signal: AbortSignal | undefined;
  return {
    aborted: () => signal?.aborted ?? false,
    async podLogs() {
      return lines.join("\n");
    },
    async followPodLogs(_pod, options) {
      signal = options?.signal;
      const bytes = new TextEncoder().encode(lines.map((l) => `${l}\n`).join(""));
      return new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(bytes);
        },
      });
    },
  } as AuditLogKube & { aborted: () => boolean };
}

describe("followAuditLog", () => {
  test("lines as they come, TIMED_OUT while the log is quiet", async () => {
    const kube = stuckFollow(['{"seq":0}', '{"seq":1}']);
    const follow = await followAuditLog(kube, POD, new AbortController().signal);
    expect(await follow.next(1_000)).toEqual(['{"seq":0}', '{"seq":1}']);
    expect(await follow.next(5)).toBe(TIMED_OUT);
    await follow.close();
  });

  test("close aborts the follow and returns even when the stream ignores the abort and its read never ends", async () => {
    const kube = stuckFollow(['{"seq":0}']);
    const follow = await followAuditLog(kube, POD, new AbortController().signal);
    await follow.next(1_000);
    expect(await follow.next(5)).toBe(TIMED_OUT); // a read is now in flight, and it never settles
    await follow.close();
    expect(kube.aborted()).toBe(true);
  });
});
