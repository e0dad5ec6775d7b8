// `scone images` (what `scone images save` carries across an air gap) must name exactly the images the renderers
// deploy for a version, registry and prefix: the operator Deployment, the CR defaults the webhooks fill in, the
// Scone stack, the provision flow's CAS/recovery/backup images, the CAS driver's sconecli pod, and the Vault CR.
import { describe, expect, test } from "bun:test";
import { sconecliImage } from "../../../src/cas/driver/source.ts";
import { backupControllerImage, casImage, casRecoveryImage } from "../../../src/flows/provision/templates.ts";
import { vaultManifest } from "../../../src/flows/vault/sessions.ts";
import { listImages } from "../../../src/install/images.ts";
import { renderDeployment } from "../../../src/install/operator.ts";
import { resolveInstallOptions } from "../../../src/install/options.ts";
import { defaultImage } from "../../../src/resources/defaults.ts";

const VERSION = "6.1.2";
const REGISTRY = "mirror.example.com:5000/scone";
const PREFIX = "osc-";

function renderedImages(): string[] {
  const install = resolveInstallOptions({ version: VERSION, imageRegistry: REGISTRY, imagePrefix: PREFIX });
  const deployment = renderDeployment(install, {});
  const operator = deployment.spec?.template.spec?.containers.map((c) => c.image ?? "") ?? [];
  const mirror = { imageRepo: REGISTRY, imagePrefix: PREFIX };
  const defaults = ["cas", "backup-controller", "cas-safety-service", "las", "sgx-plugin"].map((c) =>
    defaultImage(c, { serviceVersion: VERSION, ...mirror }),
  );
  const choice = { version: VERSION, ...mirror };
  const vault = vaultManifest({
    vaultName: "v",
    namespace: "ns",
    imageRepo: `${REGISTRY}/${PREFIX}vault`,
    imageTag: VERSION,
    casAddress: "cas.ns",
    ownerId: "o",
  }) as { spec: { server: { image: { repository: string; tag: string } } } };
  return [
    ...operator,
    ...defaults,
    casImage(choice),
    casRecoveryImage(choice),
    backupControllerImage(choice),
    sconecliImage(mirror, VERSION),
    `${vault.spec.server.image.repository}:${vault.spec.server.image.tag}`,
  ];
}

describe("scone images lists what scone deploys", () => {
  test("the list and the renderers name the same images, the operator's own and the Vault server's included", () => {
    const list = listImages(VERSION, REGISTRY, PREFIX);
    const listed = [list.operator.image, ...list.services.map((s) => s.image)].sort();
    expect(listed).toEqual([...new Set(renderedImages())].sort());
    expect(list.operator.image).toBe(
      resolveInstallOptions({ imageRegistry: REGISTRY, imagePrefix: PREFIX }).operatorImage,
    );
    expect(listed).toContain(`${REGISTRY}/${PREFIX}vault:${VERSION}`);
  });
});
