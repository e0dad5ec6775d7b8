// `scone manifests` renders what `scone operator install` applies: the same desired state, by set, without secrets.
import { describe, expect, test } from "bun:test";
import { desiredInstall } from "../../../../src/flows/install/desired.ts";
import { manifestSet } from "../../../../src/flows/install/manifests.ts";
import { installOptionsFromFlags } from "../../../../src/flows/install/options.ts";

const kinds = (objects: readonly { kind?: string }[]) => objects.map((o) => o.kind);

describe("manifest sets", () => {
  test("all = every object install applies, in its order, except the pull secrets, which are named instead", () => {
    const options = installOptionsFromFlags({ "dcap-api": "k3y" });
    const all = manifestSet("all", options);
    const applied = desiredInstall(options).items.map((i) => i.object);
    expect(all.objects).toEqual(applied);
    expect(kinds(all.objects).slice(-2)).toEqual(["SGXPlugin", "LAS"]);
    expect(all.notRendered.map((r) => `${r.namespace}/${r.name}`)).toEqual([
      "scone-system/scone-operator-pull",
      "scone-system/sconeapps",
    ]);
    expect(all.warnings).toEqual([]);
  });

  test("even with registry credentials, no Secret (and so no token) is rendered", () => {
    const options = installOptionsFromFlags({ username: "u", "access-token": "t0ken", email: "e@x" });
    const all = manifestSet("all", options);
    expect(kinds(all.objects)).not.toContain("Secret");
    expect(JSON.stringify(all.objects)).not.toContain("t0ken");
  });

  test("each set holds its own objects; the flags shape them as they shape install", () => {
    const options = installOptionsFromFlags({
      namespace: "ops",
      "node-selector": "sgx=yes",
      "image-registry": "mirror.example/scone",
    });
    expect(new Set(kinds(manifestSet("crds", options).objects))).toEqual(new Set(["CustomResourceDefinition"]));
    const operator = manifestSet("operator", options);
    expect(kinds(operator.objects)[0]).toBe("Namespace");
    expect(kinds(operator.objects)).not.toContain("CustomResourceDefinition");
    const [plugin] = manifestSet("sgxplugin", options).objects;
    expect(plugin).toMatchObject({ kind: "SGXPlugin", spec: { nodeSelector: { sgx: "yes" }, namespace: "ops" } });
    const las = manifestSet("las", options);
    expect(las.objects[0]).toMatchObject({ kind: "LAS", spec: { image: "mirror.example/scone/las:6.0.6" } });
    expect(las.warnings[0]).toContain("--dcap-api");
    expect(manifestSet("crds", options).notRendered).toEqual([]);
  });

  test("--no-sgxplugin leaves the plugin out of all", () => {
    const options = installOptionsFromFlags({ sgxplugin: false });
    expect(kinds(manifestSet("all", options).objects)).not.toContain("SGXPlugin");
  });
});
