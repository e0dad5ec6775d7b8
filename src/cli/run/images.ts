// `scone images`: the image list comes from src/install/images.ts (what the installer and reconcilers deploy).
// scone's own operator image comes first, apart from the SCONE service images it deploys: in text, a blank line
// between them (still one reference per line for `xargs -n1 docker pull`); in JSON, two keys.

import { textFlag } from "../flags.ts";
import { isData, renderData } from "../output.ts";
import type { SconeContext } from "../spec.ts";

export async function run(ctx: SconeContext): Promise<void> {
  const { listImages } = await import("../../install/images.ts");
  const a = ctx.args;
  const images = listImages(textFlag(a["set-version"]), textFlag(a["image-registry"]), textFlag(a["image-prefix"]));
  process.stdout.write(
    isData(a.output)
      ? renderData(a.output, images)
      : `${images.operator.image}\n\n${images.services.map((i) => `${i.image}\n`).join("")}`,
  );
}
