// Pull secrets (pure): is each secret a readable docker-registry secret for the image's registry, and what did the
// registry answer when a pod pulled the image with it (upstream's installer runs such a pull-check pod per secret).
// The answer is read from the pod's container status and its Events, in the kubelet's and containerd's words.
import { type PullCheckPodView, pullCheckState } from "../../install/pull-check.ts";
import { type Finding, fail, ok, warn } from "../finding.ts";

export interface SecretView {
  readonly type?: string;
  readonly data?: Record<string, string>;
}

export interface EventView {
  readonly type?: string;
  readonly reason?: string;
  readonly message?: string;
}

/** The registry host of an image reference (Docker Hub when the first part is no host). */
export function registryOf(image: string): string {
  const first = image.split("/")[0] ?? "";
  return image.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost")
    ? first
    : "docker.io";
}

const hostOf = (key: string): string => key.replace(/^https?:\/\//, "").split("/")[0] ?? "";

/** Registry and user a .dockerconfigjson holds for `registry` (never the token), or why it cannot be used. */
export function secretCredentials(
  secret: SecretView,
  registry: string,
): { user: string } | { problem: string; fix: string } {
  if (secret.type !== "kubernetes.io/dockerconfigjson")
    return {
      problem: `has type ${secret.type ?? "(none)"}, not kubernetes.io/dockerconfigjson`,
      fix: "re-create it as a docker-registry secret",
    };
  const raw = secret.data?.[".dockerconfigjson"];
  let auths: Record<string, { username?: string; auth?: string }> | undefined;
  try {
    auths = (JSON.parse(Buffer.from(raw ?? "", "base64").toString("utf8")) as { auths?: typeof auths }).auths;
  } catch {
    auths = undefined;
  }
  if (!auths)
    return { problem: "holds no readable .dockerconfigjson", fix: "re-create it as a docker-registry secret" };
  const entry = Object.entries(auths).find(([key]) => hostOf(key) === registry)?.[1];
  if (!entry) {
    const hosts = Object.keys(auths).map(hostOf).join(", ") || "none";
    return {
      problem: `holds no credentials for ${registry} (only for: ${hosts})`,
      fix: `re-create it with --docker-server=${registry}`,
    };
  }
  const user =
    entry.username ??
    Buffer.from(entry.auth ?? "", "base64")
      .toString("utf8")
      .split(":")[0] ??
    "(unknown user)";
  return { user: user || "(unknown user)" };
}

export type PullAnswerKind = "unauthorized" | "forbidden" | "not-found" | "unreachable" | "other";

/**
 * What the registry answered, from the kubelet's and containerd's messages (pure). 401 means the credentials were
 * refused (an expired or revoked token, or a token of another user); 403 / insufficient_scope / "pull access
 * denied" means the user was recognised but may not pull that repository (the wrong user, or no such repository).
 */
export function classifyPullAnswer(text: string): PullAnswerKind {
  if (/\b401\b|unauthorized|authentication required|incorrect username or password|access denied/i.test(text)) {
    // GitLab's "HTTP Basic: Access denied" is a 401; containerd's "pull access denied" is the scope case below.
    if (!/pull access denied/i.test(text) || /\b401\b/.test(text)) return "unauthorized";
  }
  if (/\b403\b|forbidden|insufficient_scope|pull access denied|denied: requested access/i.test(text))
    return "forbidden";
  if (/: not found\b|manifest unknown|not found: manifest|name unknown/i.test(text)) return "not-found";
  if (
    /no such host|connection refused|i\/o timeout|network is unreachable|tls handshake timeout|context deadline exceeded|dial tcp/i.test(
      text,
    )
  )
    return "unreachable";
  return "other";
}

const FIX_CREDENTIALS =
  "create a new access token for this registry user and re-create the pull secrets: scone operator install --reconcile --username USER --access-token TOKEN (or kubectl create secret docker-registry)";

function answerFinding(check: string, kind: PullAnswerKind, who: string, image: string, words: string): Finding {
  switch (kind) {
    case "unauthorized":
      return fail(
        check,
        `the registry refused the credentials of ${who} for ${image} (401 Unauthorized): the access token has expired, was revoked, or belongs to another user — ${words}`,
        FIX_CREDENTIALS,
      );
    case "forbidden":
      return fail(
        check,
        `${who} was recognised but may not pull ${image} (wrong user, or no access to the repository) — ${words}`,
        "use the credentials of a user with pull access to this repository (registry.scontain.com: the account that was granted the SCONE images), then re-create the pull secrets",
      );
    case "not-found":
      return fail(
        check,
        `${image} does not exist in the registry — ${words}`,
        "pull an image that exists (--pull-image), or mirror it",
      );
    case "unreachable":
      return fail(
        check,
        `the node could not reach the registry for ${image} — ${words}`,
        "check the node's DNS, proxy and firewall towards the registry",
      );
    default:
      return fail(check, `pulling ${image} failed — ${words}`, "read the pull-check pod's Events for details");
  }
}

export interface PullCheckObservation {
  readonly secret: string;
  readonly image: string;
  /** The secret as read; undefined when it does not exist. */
  readonly secretObject: SecretView | undefined;
  /** The pull-check pod as last seen, with its Events (absent when the pull check was skipped). */
  readonly pod?: PullCheckPodView;
  readonly events?: readonly EventView[];
  /** Set when the pod never reached an answer in time. */
  readonly timedOut?: boolean;
  /** Whether the pod's node is simulated (KWOK): a pull there proves nothing. */
  readonly simulatedNode?: boolean;
}

/**
 * The registry's words: of the container's waiting message and the Failed Events (newest first), the first that
 * says more than the kubelet's own "Back-off pulling image" / "Error: ErrImagePull".
 */
function pullWords(o: PullCheckObservation): string {
  const waiting = o.pod?.status?.containerStatuses?.[0]?.state?.waiting?.message ?? "";
  const failed = (o.events ?? [])
    .filter((e) => e.type === "Warning" && e.reason === "Failed")
    .map((e) => e.message ?? "");
  const candidates = [waiting, ...failed.reverse()].filter(
    (m) => m && !/^(Back-off pulling image|Error: \w+$)/i.test(m),
  );
  return candidates.find((m) => classifyPullAnswer(m) !== "other") ?? candidates[0] ?? waiting;
}

export function pullSecretFinding(o: PullCheckObservation): Finding {
  const check = `pull-secret ${o.secret}`;
  if (!o.secretObject)
    return fail(
      check,
      "does not exist in the operator's namespace",
      "scone operator install --reconcile --username USER --access-token TOKEN",
    );
  const registry = registryOf(o.image);
  const creds = secretCredentials(o.secretObject, registry);
  if ("problem" in creds) return fail(check, creds.problem, creds.fix);
  const who = `user ${creds.user} at ${registry}`;
  if (!o.pod) return ok(check, `holds credentials of ${who} (pull not checked)`);
  const state = pullCheckState(o.pod);
  if (state.state === "failed" && state.pull) {
    const words = pullWords(o) || `${state.reason}: ${state.message}`;
    return answerFinding(check, classifyPullAnswer(words), who, o.image, words);
  }
  // A missing secret makes the kubelet pull anonymously; say so even when that worked.
  const missing = (o.events ?? []).find((e) => e.reason === "FailedToRetrieveImagePullSecret");
  if (missing)
    return warn(
      check,
      missing.message ?? "the kubelet could not read the secret",
      "check the secret's name and namespace",
    );
  if (state.state !== "waiting") {
    // Pulled, or pulled but not started (the image's entrypoint is not ours to judge): the secret worked.
    const where = state.state === "pulled" && state.node ? ` on node ${state.node}` : "";
    if (o.simulatedNode)
      return warn(
        check,
        `${who}: the pull-check pod ran${where}, a simulated node, which pulls nothing`,
        "run scone doctor where a real node pulls (--pull-check-node)",
      );
    return ok(check, `${who} pulled ${o.image}${where}`);
  }
  if (o.timedOut)
    return warn(
      check,
      `no answer from the pull of ${o.image} in time (${state.why})`,
      "raise --timeout, or check that a node can run the pull-check pod",
    );
  return warn(check, `the pull of ${o.image} is still pending (${state.why})`, "raise --timeout");
}
