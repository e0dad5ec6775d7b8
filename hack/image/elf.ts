// What a dynamically linked ELF64 little-endian executable or library asks of the loader: its interpreter
// (PT_INTERP) and the sonames it needs (DT_NEEDED). Enough to pick the libraries an image must ship, without
// binutils or running the (possibly foreign-architecture) binary. Pure.

export interface ElfDeps {
  /** e.g. "/lib64/ld-linux-x86-64.so.2"; undefined for a static executable or a library. */
  readonly interpreter: string | undefined;
  /** e.g. ["libc.so.6", "libm.so.6"], in the order of the dynamic section. */
  readonly needed: readonly string[];
  readonly machine: "amd64" | "arm64" | "other";
}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NULL = 0n;
const DT_NEEDED = 1n;
const DT_STRTAB = 5n;

function cString(bytes: Uint8Array, at: number): string {
  const end = bytes.indexOf(0, at);
  if (at < 0 || at >= bytes.length || end < 0) throw new Error("elf: a string runs past the end of the file");
  return new TextDecoder().decode(bytes.subarray(at, end));
}

export function readElfDeps(bytes: Uint8Array): ElfDeps {
  if (bytes.length < 64 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    throw new Error("elf: not an ELF file");
  }
  if (bytes[4] !== 2 || bytes[5] !== 1) throw new Error("elf: only 64-bit little-endian ELF is supported");
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const machineCode = v.getUint16(18, true);
  const machine = machineCode === 62 ? "amd64" : machineCode === 183 ? "arm64" : "other";
  const phoff = Number(v.getBigUint64(32, true));
  const phentsize = v.getUint16(54, true);
  const phnum = v.getUint16(56, true);
  if (phoff + phnum * phentsize > bytes.length) throw new Error("elf: program headers run past the end of the file");
  const loads: { vaddr: bigint; offset: bigint; filesz: bigint }[] = [];
  let interpreter: string | undefined;
  let dynamic: { offset: number; size: number } | undefined;
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    const type = v.getUint32(at, true);
    const offset = v.getBigUint64(at + 8, true);
    const vaddr = v.getBigUint64(at + 16, true);
    const filesz = v.getBigUint64(at + 32, true);
    if (type === PT_LOAD) loads.push({ vaddr, offset, filesz });
    if (type === PT_INTERP) interpreter = cString(bytes, Number(offset));
    if (type === PT_DYNAMIC) dynamic = { offset: Number(offset), size: Number(filesz) };
  }
  if (!dynamic) return { interpreter, needed: [], machine };
  // DT_STRTAB is a virtual address: map it to a file offset through the PT_LOAD segment holding it.
  const toOffset = (addr: bigint): number => {
    const seg = loads.find((l) => addr >= l.vaddr && addr < l.vaddr + l.filesz);
    if (!seg) throw new Error("elf: the dynamic string table lies outside every loaded segment");
    return Number(addr - seg.vaddr + seg.offset);
  };
  const neededOffsets: bigint[] = [];
  let strtab: bigint | undefined;
  for (let at = dynamic.offset; at + 16 <= dynamic.offset + dynamic.size && at + 16 <= bytes.length; at += 16) {
    const tag = v.getBigInt64(at, true);
    const val = v.getBigUint64(at + 8, true);
    if (tag === DT_NULL) break;
    if (tag === DT_NEEDED) neededOffsets.push(val);
    if (tag === DT_STRTAB) strtab = val;
  }
  if (neededOffsets.length > 0 && strtab === undefined) throw new Error("elf: DT_NEEDED without a string table");
  const base = strtab === undefined ? 0 : toOffset(strtab);
  return { interpreter, needed: neededOffsets.map((o) => cString(bytes, base + Number(o))), machine };
}
