// The test S3 server (versitygw, loopback only) made reachable from the real node's pods: a TCP relay on the node's
// own address (NODE_IP, on lo, inside 198.18.0.0/15, which pods route to). It reads each request line (plain HTTP)
// so a test can see what a pod asked for, and can hold the PUTs whose path matches — the connection stops there,
// as if the upload were slow — to catch a writer mid-way; release() ends the held connections (and cuts a deleted
// pod off for good, so nothing of it completes later) and relays again.
import type { TCPSocketListener } from "bun";
import { NODE_IP } from "../../../hack/cluster/node/addresses.ts";
import { connectUpstream, type Pair } from "../../harness/kube.ts";

interface RelayPair extends Pair {
  /** Held: nothing more of this connection goes upstream. */
  held: boolean;
}

/** An HTTP/1.1 request line at the start of a chunk (a new request on a kept-alive connection starts a chunk). */
const REQUEST_LINE = /^(GET|PUT|POST|DELETE|HEAD) (\S+) HTTP\/1\.[01]\r\n/;

export class S3Relay {
  /** Every request line seen ("PUT /bucket/key?…"), in order. */
  readonly requests: string[] = [];
  /** The request lines of the held requests. */
  readonly held: string[] = [];
  private holding: RegExp | undefined;
  /** Clients (pod IPs) cut off: their connections are closed at once, as if they were gone from the network. */
  private readonly cut = new Set<string>();
  private readonly pairs = new Set<RelayPair>();
  private readonly listener: TCPSocketListener<RelayPair>;

  constructor(upstream: { host: string; port: number }) {
    this.listener = Bun.listen<RelayPair>({
      hostname: NODE_IP,
      port: 0,
      socket: {
        open: (client) => {
          if (this.cut.has(client.remoteAddress)) {
            client.end();
            return;
          }
          const pair: RelayPair = { client: client as unknown as Pair["client"], pending: [], held: false };
          client.data = pair;
          this.pairs.add(pair);
          connectUpstream(pair, upstream.host, upstream.port, () => this.pairs.delete(pair));
        },
        data: (client, chunk) => {
          const pair = client.data;
          if (!pair || pair.held) return;
          const line = REQUEST_LINE.exec(new TextDecoder().decode(chunk.subarray(0, 2048)));
          if (line) {
            const request = `${line[1]} ${line[2]}`;
            this.requests.push(request);
            if (line[1] === "PUT" && this.holding?.test(line[2] ?? "")) {
              pair.held = true;
              this.held.push(request);
              return;
            }
          }
          if (pair.upstream) pair.upstream.write(chunk);
          else pair.pending.push(new Uint8Array(chunk));
        },
        close: (client) => {
          client.data?.upstream?.end();
          this.pairs.delete(client.data);
        },
        error: (client) => void client.data?.upstream?.end(),
      },
    });
  }

  /** The endpoint pods use (http://NODE_IP:PORT). */
  get endpoint(): string {
    return `http://${NODE_IP}:${this.listener.port}`;
  }

  /** From now on, a PUT whose path matches stops its connection there (until release). */
  hold(path: RegExp): void {
    this.holding = path;
  }

  /**
   * Cuts a client off for good (a deleted pod: its uploads must not complete later), then relays everything else
   * again; the held connections are ended (their writers see the upload fail).
   */
  release(cutOff?: string): void {
    if (cutOff) this.cut.add(cutOff);
    this.holding = undefined;
    for (const pair of this.pairs) {
      if (!pair.held && !this.cut.has(pair.client.remoteAddress)) continue;
      pair.client.end();
      pair.upstream?.end();
      this.pairs.delete(pair);
    }
  }

  stop(): void {
    this.listener.stop(true);
  }
}
