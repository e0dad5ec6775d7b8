import { describe, expect, test } from "bun:test";
import { credentialsFromDockerConfig } from "../../../../src/images/signature/credentials.ts";
import { deployedImages } from "../../../../src/images/signature/deployed-images.ts";
import {
  canonicalRepository,
  ImageReferenceError,
  parseImageRef,
  signatureTag,
} from "../../../../src/images/signature/reference.ts";
import { isLoopbackHost, parseChallenge } from "../../../../src/images/signature/registry.ts";

const D = `sha256:${"0f".repeat(32)}`;

describe("parseImageRef", () => {
  test("registry, repository, tag and digest", () => {
    expect(parseImageRef("registry.scontain.com/scone.cloud/cas:6.0.6")).toEqual({
      registry: "registry.scontain.com",
      repository: "scone.cloud/cas",
      tag: "6.0.6",
    });
    expect(parseImageRef(`127.0.0.1:5000/a/b@${D}`)).toEqual({
      registry: "127.0.0.1:5000",
      repository: "a/b",
      digest: D,
    });
    expect(parseImageRef("localhost/x")).toEqual({ registry: "localhost", repository: "x", tag: "latest" });
    expect(parseImageRef("busybox")).toEqual({ registry: "docker.io", repository: "library/busybox", tag: "latest" });
  });
  for (const bad of ["", "Reg/UPPER:1", "a/b:bad tag", "a/b@sha256:short", "x.io/a//b", `x.io/${"a".repeat(1100)}`]) {
    test(`refuses '${bad.slice(0, 30)}'`, () => expect(() => parseImageRef(bad)).toThrow(ImageReferenceError));
  }
  test("signature tag and canonical repository", () => {
    expect(signatureTag(D)).toBe(`sha256-${"0f".repeat(32)}.sig`);
    expect(() => signatureTag("sha256:../x")).toThrow(ImageReferenceError);
    expect(canonicalRepository("index.docker.io/library/busybox")).toBe("docker.io/library/busybox");
  });
});

describe("registry helpers", () => {
  test("the Bearer challenge's parameters", () => {
    expect(parseChallenge('Bearer realm="https://auth.io/token",service="reg.io",scope="repository:a/b:pull"')).toEqual(
      {
        scheme: "bearer",
        params: { realm: "https://auth.io/token", service: "reg.io", scope: "repository:a/b:pull" },
      },
    );
    expect(parseChallenge('Basic realm="x"').scheme).toBe("basic");
  });
  test("plain HTTP only for loopback registries", () => {
    expect(isLoopbackHost("127.0.0.1:5000")).toBe(true);
    expect(isLoopbackHost("localhost:5000")).toBe(true);
    expect(isLoopbackHost("[::1]:5000")).toBe(true);
    expect(isLoopbackHost("127.0.0.1.evil.io")).toBe(false);
    expect(isLoopbackHost("mirror.local:5000")).toBe(false);
  });
  test("docker config: auth, username/password, Docker Hub's key; nothing for other hosts", () => {
    const config = {
      auths: {
        "mirror.local:5000": { auth: Buffer.from("u:p:w").toString("base64") },
        "https://index.docker.io/v1/": { username: "hub", password: "pw" },
      },
    };
    expect(credentialsFromDockerConfig(config, "mirror.local:5000")).toEqual({ username: "u", password: "p:w" });
    expect(credentialsFromDockerConfig(config, "docker.io")).toEqual({ username: "hub", password: "pw" });
    expect(credentialsFromDockerConfig(config, "other.io")).toBeUndefined();
    expect(credentialsFromDockerConfig("nonsense", "other.io")).toBeUndefined();
  });
});

describe("deployedImages", () => {
  test("a mirror's images accept the upstream repository their carried signatures name", () => {
    const images = deployedImages({
      version: "6.0.6",
      imageRegistry: "mirror.local:5000/m",
      imagePrefix: "osc-",
      operatorImage: undefined,
      withOperator: false,
    });
    expect(images.find((i) => i.image === "mirror.local:5000/m/osc-cas:6.0.6")?.alsoAccept).toEqual([
      "registry.scontain.com/scone.cloud/cas",
    ]);
    expect(images.some((i) => i.image.includes("/osc-scone:"))).toBe(false);
  });
  test("the operator image is checked unless the operator runs locally; --operator-image as given", () => {
    const images = deployedImages({
      version: "6.0.6",
      imageRegistry: "registry.scontain.com/scone.cloud",
      imagePrefix: "",
      operatorImage: "x.io/ops/scone:1",
      withOperator: true,
    });
    expect(images[0]).toEqual({ image: "x.io/ops/scone:1" });
    expect(images.find((i) => i.image.endsWith("/las:6.0.6"))?.alsoAccept).toBeUndefined();
  });
});
