// How deeply a parsed JSON value nests, checked without recursion: the recursive walkers after a parser
// (canonical JSON for signatures, structured clones) overflow the stack on values JSON.parse still accepts.

/** Whether `value` nests arrays/objects more than `limit` levels deep. */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [v, depth] = item;
    if (typeof v !== "object" || v === null) continue;
    if (depth >= limit) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}
