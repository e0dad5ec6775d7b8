// --pin-digests: the operator gets SCONE_IMAGE_DIGESTS; its renderers then name the images of the pinned version
// by digest (and only that version's: another version's tag names other images), and bad values are refused.
import { describe, expect, test } from "bun:test";
import { renderDeployment } from "../../../src/install/operator.ts";
import { resolveInstallOptions } from "../../../src/install/options.ts";
import { defaultImage, imageMirrorFromEnv } from "../../../src/resources/defaults.ts";

const D1 = `sha256:${"a".repeat(64)}`;
const D2 = `sha256:${"b".repeat(64)}`;

describe("pinned image digests", () => {
  test("the Deployment carries them and the operator's defaults name the images of that version by digest", () => {
    const o = resolveInstallOptions({
      version: "6.1.0",
      imageRegistry: "m.example/s",
      imageDigests: { las: D2, cas: D1 },
    });
    const env = renderDeployment(o, {}).spec?.template.spec?.containers[0]?.env ?? [];
    const value = env.find((e) => e.name === "SCONE_IMAGE_DIGESTS")?.value ?? "";
    expect(value).toBe(`cas=${D1},las=${D2}`);
    const mirror = imageMirrorFromEnv({
      SCONE_IMAGE_REGISTRY: "m.example/s",
      SCONE_IMAGE_DIGESTS: value,
      GLOBAL_SCONE_VERSION: "6.1.0",
    });
    expect(defaultImage("cas", { serviceVersion: "6.1.0", ...mirror })).toBe(`m.example/s/cas:6.1.0@${D1}`);
    expect(defaultImage("sconecli", { serviceVersion: "6.1.0", ...mirror })).toBe("m.example/s/sconecli:6.1.0");
    expect(defaultImage("cas", { serviceVersion: "6.0.6", ...mirror })).toBe("m.example/s/cas:6.0.6");
  });

  test("without pins nothing changes; a malformed entry is refused naming the variable", () => {
    const o = resolveInstallOptions({ version: "6.1.0" });
    expect(
      renderDeployment(o, {}).spec?.template.spec?.containers[0]?.env?.some((e) => e.name === "SCONE_IMAGE_DIGESTS"),
    ).toBe(false);
    expect(() => imageMirrorFromEnv({ SCONE_IMAGE_DIGESTS: "cas=sha256:1234" })).toThrow(
      /SCONE_IMAGE_DIGESTS: 'cas=sha256:1234'/,
    );
  });
});
