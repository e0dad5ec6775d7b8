// `scone images`: the image list comes from src/install/images.ts (what the installer and reconcilers deploy).
import type { SconeContext } from "../spec.ts";

function str(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

export async function run(ctx: SconeContext): Promise<void> {
  const { listImages } = await import("../../install/images.ts");
  const a = ctx.args;
  const images = listImages(str(a["set-version"]), str(a["image-registry"]), str(a["image-prefix"]));
  process.stdout.write(
    a.output === "json" ? `${JSON.stringify(images, null, 2)}\n` : images.map((i) => `${i.image}\n`).join(""),
  );
}
