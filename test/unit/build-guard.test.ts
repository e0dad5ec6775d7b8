// build.ts compiles with bytecode, which bakes the build machine's directory into import.meta.dir and __dirname:
// production code must never locate files through them (embedded data is imported statically instead).
import { expect, test } from "bun:test";
import { Glob } from "bun";

test("no module under src/ locates files through import.meta.dir, import.meta.url or __dirname", async () => {
  const offenders: string[] = [];
  for await (const file of new Glob("src/**/*.ts").scan({ cwd: `${import.meta.dir}/../..` })) {
    const text = await Bun.file(`${import.meta.dir}/../../${file}`).text();
    if (/import\.meta\.(dir|url|dirname|filename)|__dirname|__filename/.test(text)) offenders.push(file);
  }
  expect(offenders).toEqual([]);
});
