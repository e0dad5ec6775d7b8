import { describe, expect, test } from "bun:test";
import { classifyPullAnswer, pullSecretFinding, secretCredentials } from "../../../../src/flows/doctor/checks/pull.ts";

const IMAGE = "registry.scontain.com/scone.cloud/sconecli:6.0.6";
const dockerconfig = (auths: object) => ({
  type: "kubernetes.io/dockerconfigjson",
  data: { ".dockerconfigjson": Buffer.from(JSON.stringify({ auths })).toString("base64") },
});
const SECRET = dockerconfig({ "registry.scontain.com": { username: "alice", password: "TOKEN-SECRET", auth: "x" } });

// Messages in the words of the kubelet (Failed Event / waiting message) and containerd 2.x.
const EXPIRED_GITLAB = `Failed to pull image "${IMAGE}": failed to pull and unpack image "${IMAGE}": failed to resolve reference "${IMAGE}": failed to authorize: failed to fetch oauth token: unexpected status from GET request to https://gitlab.scontain.com/jwt/auth?scope=repository%3Ascone.cloud%2Fsconecli%3Apull&service=container_registry: 401 Unauthorized`;
const BASIC_401 = `failed to pull and unpack image "127.0.0.1:5000/scone/sconecli:6.0.6": failed to resolve reference "127.0.0.1:5000/scone/sconecli:6.0.6": unexpected status from HEAD request to http://127.0.0.1:5000/v2/scone/sconecli/manifests/6.0.6: 401 Unauthorized`;
const WRONG_USER = `Failed to pull image "${IMAGE}": failed to pull and unpack image "${IMAGE}": failed to resolve reference "${IMAGE}": pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed`;
const FORBIDDEN_403 = `failed to resolve reference "${IMAGE}": unexpected status from HEAD request to https://registry.scontain.com/v2/scone.cloud/sconecli/manifests/6.0.6: 403 Forbidden`;
const NOT_FOUND = `Failed to pull image "${IMAGE}": rpc error: code = NotFound desc = failed to pull and unpack image "${IMAGE}": failed to resolve reference "${IMAGE}": ${IMAGE}: not found`;
const NO_HOST = `Failed to pull image "${IMAGE}": failed to resolve reference "${IMAGE}": failed to do request: Head "https://registry.scontain.com/v2/scone.cloud/sconecli/manifests/6.0.6": dial tcp: lookup registry.scontain.com on 198.18.0.10:53: no such host`;

describe("classifyPullAnswer (registry answers as the kubelet reports them)", () => {
  test("401 from the token endpoint or the registry: credentials refused", () => {
    expect(classifyPullAnswer(EXPIRED_GITLAB)).toBe("unauthorized");
    expect(classifyPullAnswer(BASIC_401)).toBe("unauthorized");
  });
  test("insufficient_scope / 403: the user may not pull", () => {
    expect(classifyPullAnswer(WRONG_USER)).toBe("forbidden");
    expect(classifyPullAnswer(FORBIDDEN_403)).toBe("forbidden");
  });
  test("not found and unreachable", () => {
    expect(classifyPullAnswer(NOT_FOUND)).toBe("not-found");
    expect(classifyPullAnswer(NO_HOST)).toBe("unreachable");
    expect(classifyPullAnswer("something else")).toBe("other");
  });
});

const failedPod = (message: string) => ({
  spec: { nodeName: "node-1" },
  status: { phase: "Pending", containerStatuses: [{ state: { waiting: { reason: "ErrImagePull", message } } }] },
});

describe("pullSecretFinding", () => {
  test("an expired token fails naming the user, never the token", () => {
    const f = pullSecretFinding({
      secret: "sconeapps",
      image: IMAGE,
      secretObject: SECRET,
      pod: failedPod(EXPIRED_GITLAB),
    });
    expect(f.status).toBe("fail");
    expect(f.message).toContain("expired");
    expect(f.message).toContain("alice");
    expect(f.message).not.toContain("TOKEN-SECRET");
    expect(f.fix).toContain("--access-token");
  });
  test("the answer is read from the Failed Event when the container only says back-off", () => {
    const pod = {
      status: {
        phase: "Pending",
        containerStatuses: [
          { state: { waiting: { reason: "ImagePullBackOff", message: `Back-off pulling image "${IMAGE}"` } } },
        ],
      },
    };
    const f = pullSecretFinding({
      secret: "sconeapps",
      image: IMAGE,
      secretObject: SECRET,
      pod,
      events: [
        { type: "Normal", reason: "Pulling", message: `Pulling image "${IMAGE}"` },
        { type: "Warning", reason: "Failed", message: WRONG_USER },
        { type: "Warning", reason: "Failed", message: "Error: ErrImagePull" },
      ],
    });
    expect(f.status).toBe("fail");
    expect(f.message).toContain("may not pull");
  });
  test("a pulled image is ok; on a simulated node it is only a warning", () => {
    const pulled = {
      spec: { nodeName: "n" },
      status: { phase: "Succeeded", containerStatuses: [{ state: { terminated: { exitCode: 0 } } }] },
    };
    expect(pullSecretFinding({ secret: "s", image: IMAGE, secretObject: SECRET, pod: pulled }).status).toBe("ok");
    expect(
      pullSecretFinding({ secret: "s", image: IMAGE, secretObject: SECRET, pod: pulled, simulatedNode: true }).status,
    ).toBe("warn");
  });
  test("a missing secret, a secret of another type, or one for another registry fail without a pod", () => {
    expect(pullSecretFinding({ secret: "s", image: IMAGE, secretObject: undefined }).status).toBe("fail");
    expect(pullSecretFinding({ secret: "s", image: IMAGE, secretObject: { type: "Opaque" } }).message).toContain(
      "Opaque",
    );
    const other = dockerconfig({ "https://index.docker.io/v1/": { username: "bob" } });
    expect(secretCredentials(other, "registry.scontain.com")).toEqual({
      problem: "holds no credentials for registry.scontain.com (only for: index.docker.io)",
      fix: "re-create it with --docker-server=registry.scontain.com",
    });
  });
  test("a pod that never got an answer is a warning", () => {
    const f = pullSecretFinding({
      secret: "s",
      image: IMAGE,
      secretObject: SECRET,
      pod: { status: { phase: "Pending" } },
      timedOut: true,
    });
    expect(f.status).toBe("warn");
  });
});
