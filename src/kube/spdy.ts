// SPDY/3.1 framing, as much as a port-forward client needs (what kubectl speaks to the API server, tunnelled in a
// WebSocket with subprotocol SPDY/3.1+portforward.k8s.io; the API server passes the bytes to the kubelet). Pure:
// frames in, bytes out, and an incremental parser for the bytes coming back.
//
// Header blocks are zlib streams with SPDY's dictionary, one stream per direction and connection. This client writes
// its blocks as stored (uncompressed) deflate blocks — valid deflate that any inflater reads, no compressor state to
// keep — the first one after the zlib header naming the dictionary. It never needs the server's headers (replies to
// its own streams carry nothing it uses), so it does not inflate them.

export const SPDY_VERSION = 3;
export const CONTROL_SYN_STREAM = 1;
export const CONTROL_SYN_REPLY = 2;
export const CONTROL_RST_STREAM = 3;
export const CONTROL_SETTINGS = 4;
export const CONTROL_PING = 6;
export const CONTROL_GOAWAY = 7;
export const CONTROL_HEADERS = 8;
export const CONTROL_WINDOW_UPDATE = 9;
export const FLAG_FIN = 0x01;
/** RST_STREAM status codes used here. */
export const RST_REFUSED_STREAM = 3;
export const RST_CANCEL = 5;
export const MAX_STREAM_ID = 0x7fffffff;
const MAX_LENGTH = 0xffffff;
const MAX_STORED_BLOCK = 0xffff;

/** Adler-32 of SPDY/3's header dictionary (spec §2.6.10.1): the zlib header's DICTID. */
export const SPDY_DICTIONARY_ADLER32 = 0xe3c6a7c2;
/** zlib header: deflate, 32 KiB window, FDICT set, default level; (0x78 << 8 | 0xbb) % 31 === 0. */
const ZLIB_HEADER_WITH_DICTIONARY = [0x78, 0xbb];

function controlHeader(type: number, flags: number, length: number): Uint8Array {
  if (length > MAX_LENGTH) throw new RangeError(`SPDY control frame of ${length} bytes is too long`);
  const h = new Uint8Array(8);
  const v = new DataView(h.buffer);
  v.setUint16(0, 0x8000 | SPDY_VERSION);
  v.setUint16(2, type);
  v.setUint32(4, ((flags & 0xff) << 24) | length);
  return h;
}

/** The parts one after another, in one buffer (one WebSocket message for several frames). */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The uncompressed name/value block: count, then length-prefixed lowercase names and values (32-bit lengths). */
export function headerBlock(headers: Readonly<Record<string, string>>): Uint8Array {
  const enc = new TextEncoder();
  const entries = Object.entries(headers);
  const parts: Uint8Array[] = [];
  const u32 = (n: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n);
    return b;
  };
  parts.push(u32(entries.length));
  for (const [name, value] of entries) {
    if (name === "" || name !== name.toLowerCase()) throw new RangeError(`SPDY header name ${name} must be lowercase`);
    const n = enc.encode(name);
    const val = enc.encode(value);
    parts.push(u32(n.length), n, u32(val.length), val);
  }
  return concat(parts);
}

/**
 * The next piece of this connection's header zlib stream holding `block`: stored deflate blocks (not final) and an
 * empty one, after the zlib header and the dictionary's id when `first`.
 */
export function storedHeaderBlock(block: Uint8Array, first: boolean): Uint8Array {
  const parts: Uint8Array[] = [];
  if (first) {
    const id = new Uint8Array(4);
    new DataView(id.buffer).setUint32(0, SPDY_DICTIONARY_ADLER32);
    parts.push(new Uint8Array(ZLIB_HEADER_WITH_DICTIONARY), id);
  }
  // A name/value block is never empty (it starts with the pair count).
  for (let at = 0; at < block.length; at += MAX_STORED_BLOCK) {
    const piece = block.subarray(at, at + MAX_STORED_BLOCK);
    const h = new Uint8Array(5);
    // BFINAL=0, BTYPE=00 (stored), padded to the byte; then LEN and its one's complement, little endian.
    h[0] = 0;
    h[1] = piece.length & 0xff;
    h[2] = piece.length >> 8;
    h[3] = ~piece.length & 0xff;
    h[4] = (~piece.length >> 8) & 0xff;
    parts.push(h, piece);
  }
  // An empty stored block, as zlib's sync flush ends a block: inflaters (Go's among them) hand out the stored bytes
  // only when the next block header is read.
  parts.push(new Uint8Array([0, 0, 0, 0xff, 0xff]));
  return concat(parts);
}

/** Writes this client's frames; keeps the header zlib stream's one piece of state (whether it has started). */
export class SpdyWriter {
  private headerStreamStarted = false;

  synStream(streamId: number, headers: Readonly<Record<string, string>>, flags = 0): Uint8Array {
    const compressed = storedHeaderBlock(headerBlock(headers), !this.headerStreamStarted);
    this.headerStreamStarted = true;
    const body = new Uint8Array(10);
    const v = new DataView(body.buffer);
    v.setUint32(0, streamId & MAX_STREAM_ID);
    v.setUint32(4, 0); // associated stream: none
    body[8] = 0; // priority 0 (highest), unused bits
    body[9] = 0; // slot
    return concat([controlHeader(CONTROL_SYN_STREAM, flags, body.length + compressed.length), body, compressed]);
  }
}

/** A DATA frame (split into several when longer than a frame may be). */
export function dataFrames(streamId: number, data: Uint8Array, flags = 0): Uint8Array {
  const frames: Uint8Array[] = [];
  let at = 0;
  do {
    const piece = data.subarray(at, at + MAX_LENGTH);
    at += piece.length;
    const h = new Uint8Array(8);
    const v = new DataView(h.buffer);
    v.setUint32(0, streamId & MAX_STREAM_ID);
    v.setUint32(4, ((at >= data.length ? flags & 0xff : 0) << 24) | piece.length);
    frames.push(h, piece);
  } while (at < data.length);
  return concat(frames);
}

export function rstStream(streamId: number, status: number): Uint8Array {
  const body = new Uint8Array(8);
  const v = new DataView(body.buffer);
  v.setUint32(0, streamId & MAX_STREAM_ID);
  v.setUint32(4, status);
  return concat([controlHeader(CONTROL_RST_STREAM, 0, 8), body]);
}

export function pingFrame(id: number): Uint8Array {
  const body = new Uint8Array(4);
  new DataView(body.buffer).setUint32(0, id);
  return concat([controlHeader(CONTROL_PING, 0, 4), body]);
}

export type SpdyFrame =
  | { kind: "data"; streamId: number; flags: number; data: Uint8Array }
  | { kind: "control"; type: number; version: number; flags: number; payload: Uint8Array };

/** Splits the incoming byte stream into frames, however it was cut into messages. */
export class SpdyParser {
  private buffer: Uint8Array = new Uint8Array(0);

  push(chunk: Uint8Array): SpdyFrame[] {
    this.buffer = this.buffer.length === 0 ? chunk : concat([this.buffer, chunk]);
    const frames: SpdyFrame[] = [];
    let at = 0;
    while (this.buffer.length - at >= 8) {
      const v = new DataView(this.buffer.buffer, this.buffer.byteOffset + at, 8);
      const first = v.getUint32(0);
      const flags = v.getUint8(4);
      const length = v.getUint32(4) & MAX_LENGTH;
      if (this.buffer.length - at - 8 < length) break;
      const payload = this.buffer.slice(at + 8, at + 8 + length);
      at += 8 + length;
      if ((first & 0x80000000) !== 0) {
        frames.push({ kind: "control", version: (first >>> 16) & 0x7fff, type: first & 0xffff, flags, payload });
      } else {
        frames.push({ kind: "data", streamId: first & MAX_STREAM_ID, flags, data: payload });
      }
    }
    this.buffer = this.buffer.slice(at);
    return frames;
  }
}

/** The stream id a SYN_REPLY, RST_STREAM, HEADERS or WINDOW_UPDATE frame is about (its first 31 bits). */
export function controlStreamId(payload: Uint8Array): number {
  if (payload.length < 4) return 0;
  return new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0) & MAX_STREAM_ID;
}

/** The second 32-bit word of a control frame's payload (RST_STREAM's status, GOAWAY's status, PING's id is the first). */
export function controlWord(payload: Uint8Array, index: number): number {
  if (payload.length < (index + 1) * 4) return 0;
  return new DataView(payload.buffer, payload.byteOffset + index * 4, 4).getUint32(0);
}
