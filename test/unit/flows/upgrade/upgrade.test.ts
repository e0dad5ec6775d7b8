import { describe, expect, test } from "bun:test";
import type { DayTwoKube } from "../../../../src/flows/status/observe.ts";
import { runUpgrade } from "../../../../src/flows/upgrade/flow.ts";
import { checkUpgrade, parseImage, siblingImage, upgradeTargets } from "../../../../src/flows/upgrade/plan.ts";
import type { CAS } from "../../../../src/resources/cas.ts";
import { casPod, FakeKube, healthyCas } from "../status/fake-kube.ts";

const NS = "prod";
const NAME = "cas";
const REPO = "registry.scontain.com/scone.cloud";
const OLD = `${REPO}/cas:6.0.6`;
const NEW = `${REPO}/cas:6.0.7`;
const cas = (extra: Record<string, unknown> = {}) => healthyCas(NS, NAME, OLD, extra) as unknown as CAS;

describe("upgrade images", () => {
  test("parseImage splits repo, name and tag (digest dropped)", () => {
    expect(parseImage("mirror.example/osc/osc-cas:6.0.6@sha256:abc")).toEqual({
      repo: "mirror.example/osc",
      name: "osc-cas",
      tag: "6.0.6",
    });
    expect(parseImage("cas")).toEqual({ repo: "", name: "cas", tag: undefined });
  });

  test("siblings keep the mirror and prefix; the recovery image upgrades to cas", () => {
    expect(siblingImage("mirror.example/osc/osc-cas-recovery:6.0.6", "cas", "6.0.7")).toBe(
      "mirror.example/osc/osc-cas:6.0.7",
    );
    expect(siblingImage(OLD, "backup-controller", "6.0.7")).toBe(`${REPO}/backup-controller:6.0.7`);
  });

  test("targets: BACKUP_CAS_IMAGE replaced, other variables kept; safety service only when set", () => {
    const t = upgradeTargets(
      cas({
        "backup-controller": {
          enabled: true,
          session: "s/register",
          image: `${REPO}/backup-controller:6.0.6`,
          env: [
            { name: "DEBUG", value: "true" },
            { name: "BACKUP_CAS_IMAGE", value: OLD },
          ],
        },
      }),
      "6.0.7",
    );
    expect(t).toEqual({
      casImage: NEW,
      backupControllerImage: `${REPO}/backup-controller:6.0.7`,
      backupControllerEnv: [
        { name: "DEBUG", value: "true" },
        { name: "BACKUP_CAS_IMAGE", value: NEW },
      ],
    });
    expect(
      upgradeTargets(
        cas({
          safetyService: { enabled: true, image: `${REPO}/cas-safety-service:6.0.6`, podAntiAffinityTopologyKey: "x" },
        }),
        "6.0.7",
      ).safetyServiceImage,
    ).toBe(`${REPO}/cas-safety-service:6.0.7`);
  });
});

describe("checkUpgrade (upstream --upgrade preconditions)", () => {
  test("a HEALTHY CAS with a session upgrades", () => {
    expect(checkUpgrade({ cas: cas(), to: "6.0.7", force: false })).toMatchObject({
      action: "upgrade",
      from: "6.0.6",
      resuming: false,
    });
  });

  test("same version, or an upgrade that finished, refused", () => {
    expect(checkUpgrade({ cas: cas(), to: "6.0.6", force: true })).toMatchObject({
      action: "refuse",
      reasons: ["the CAS already runs version 6.0.6: nothing to upgrade"],
    });
  });

  test("not HEALTHY: refused, naming --force; forced: upgrades and says what was overridden", () => {
    const sick = cas();
    (sick.status as Record<string, unknown>).state = "UNHEALTHY";
    (sick.status as Record<string, unknown>).phase = "UNHEALTHY";
    const refused = checkUpgrade({ cas: sick, to: "6.0.7", force: false });
    expect(refused).toMatchObject({ action: "refuse" });
    expect(refused.action === "refuse" && refused.reasons[0]).toBe(
      "the CAS is not HEALTHY (state UNHEALTHY, phase UNHEALTHY); --force upgrades anyway",
    );
    expect(checkUpgrade({ cas: sick, to: "6.0.7", force: true })).toMatchObject({
      action: "upgrade",
      forced: ["the CAS is not HEALTHY (state UNHEALTHY, phase UNHEALTHY)"],
    });
  });

  test("an image that is not a CAS image needs --force", () => {
    const odd = healthyCas(NS, NAME, "example.com/my-own-build:6.0.6") as unknown as CAS;
    expect(checkUpgrade({ cas: odd, to: "6.0.7", force: false })).toMatchObject({ action: "refuse" });
    expect(checkUpgrade({ cas: odd, to: "6.0.7", force: true })).toMatchObject({ action: "upgrade" });
  });

  test("no backup-controller session, different tolerations, 5.8 to 5.8: refused even with --force", () => {
    const c = cas({ "backup-controller": { enabled: false }, tolerations: [{ key: "sgx", operator: "Exists" }] });
    const check = checkUpgrade({ cas: c, to: "6.0.7", force: true });
    expect(check.action).toBe("refuse");
    const reasons = check.action === "refuse" ? check.reasons.join("\n") : "";
    expect(reasons).toContain("spec.backup-controller.session is not set");
    expect(reasons).toContain("spec.tolerations and spec.backup-controller.tolerations differ");
    const disabled = cas({ "backup-controller": { enabled: false, session: "s/register" } });
    expect(checkUpgrade({ cas: disabled, to: "6.0.7", force: true })).toMatchObject({
      action: "refuse",
      reasons: [expect.stringContaining("spec.backup-controller.enabled is false")],
    });
    const old = healthyCas(NS, NAME, `${REPO}/cas:5.8.1`) as unknown as CAS;
    expect(checkUpgrade({ cas: old, to: "5.8.2", force: true })).toMatchObject({ action: "refuse" });
  });

  test("CAS switched to the target but not HEALTHY yet: continued (waiting), not refused as done", () => {
    const switching = healthyCas(NS, NAME, NEW) as unknown as CAS;
    (switching.status as Record<string, unknown>).state = "PENDING";
    (switching.status as Record<string, unknown>).version = "6.0.6";
    expect(checkUpgrade({ cas: switching, to: "6.0.7", force: false })).toMatchObject({
      action: "upgrade",
      resuming: true,
    });
  });

  test("an upgrade under way is continued without the start preconditions (the CAS is in motion)", () => {
    const moving = cas({
      "backup-controller": {
        enabled: true,
        session: "s/upgrade",
        image: `${REPO}/backup-controller:6.0.7`,
        env: [{ name: "BACKUP_CAS_IMAGE", value: NEW }],
      },
    });
    (moving.status as Record<string, unknown>).state = "PENDING";
    expect(checkUpgrade({ cas: moving, to: "6.0.7", force: false })).toMatchObject({
      action: "upgrade",
      resuming: true,
    });
  });
});

/** The fake operator: a new backup controller image rolls out, a new CAS image restarts NAME-0 on it, HEALTHY. */
function cluster(opts: { blockCas?: boolean } = {}) {
  const kube = new FakeKube();
  kube.put(healthyCas(NS, NAME, OLD));
  kube.put(casPod(NS, NAME, "node-1", OLD));
  kube.react = (w, k) => {
    if (w.verb !== "patch" || w.key !== `CAS/${NS}/${NAME}`) return;
    const c = k.peek<CAS>({ kind: "CAS", namespace: NS, name: NAME });
    if (!c) return;
    const bcImage = c.spec?.["backup-controller"]?.image;
    if (bcImage) {
      k.put({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: `${NAME}-backup-controller`, namespace: NS, generation: 1 },
        spec: { replicas: 1, template: { spec: { containers: [{ name: "backup-controller", image: bcImage }] } } },
        status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 },
      });
    }
    const image = c.spec?.image ?? OLD;
    if (!opts.blockCas) k.put(casPod(NS, NAME, "node-1", image, `uid-${image}`));
    const status = c.status as Record<string, unknown>;
    status.observedGeneration = c.metadata.generation;
    status.version = opts.blockCas ? "6.0.6" : image.slice(image.lastIndexOf(":") + 1);
    if (opts.blockCas)
      status.conditions = [
        { type: "UpgradeBlocked", status: "True", reason: "MigrationIncomplete", message: "migration is 2/3" },
      ];
    k.put(c);
  };
  return kube;
}

const asKube = (k: FakeKube) => k as unknown as DayTwoKube;
const opts = { namespace: NS, name: NAME, to: "6.0.7", force: false, timeoutMs: 50, pollMs: 1 };

describe("runUpgrade", () => {
  test("backup controller first, then CAS, through the CAS resource, ending HEALTHY on the new version", async () => {
    const kube = cluster();
    const outcome = await runUpgrade(asKube(kube), opts);
    expect(outcome).toMatchObject({ ok: true, from: "6.0.6", to: "6.0.7" });
    expect(kube.writes.map((w) => w.body)).toEqual([
      { spec: { "backup-controller": { session: "cas-owner/primary-backup/upgrade" } } },
      {
        spec: {
          "backup-controller": {
            image: `${REPO}/backup-controller:6.0.7`,
            env: [{ name: "BACKUP_CAS_IMAGE", value: NEW }],
          },
        },
      },
      { spec: { image: NEW } },
    ]);
  });

  test("a refusal changes nothing", async () => {
    const kube = cluster();
    const outcome = await runUpgrade(asKube(kube), { ...opts, to: "6.0.6" });
    expect(outcome).toMatchObject({ ok: false, refused: true });
    expect(outcome.error).toContain("already runs version 6.0.6");
    expect(kube.writes).toEqual([]);
  });

  test("killed after the backup controller step: the rerun continues without repeating it", async () => {
    const kube = cluster();
    const react = kube.react;
    kube.react = (w, k) => {
      react(w, k);
      if (kube.writes.length === 2) k.failNext = "patch"; // dies when it switches the CAS image
    };
    expect((await runUpgrade(asKube(kube), opts)).ok).toBe(false);
    kube.react = react;
    const before = kube.writes.length;
    const second = await runUpgrade(asKube(kube), opts);
    expect(second.ok).toBe(true);
    expect(second.steps.filter((s) => s.outcome === "skipped").map((s) => s.name)).toEqual([
      "backup-controller-session",
      "backup-controller-image",
    ]);
    expect(kube.writes.slice(before).map((w) => w.body)).toEqual([{ spec: { image: NEW } }]);
  });

  test("the operator holding the image back: the wait reports UpgradeBlocked and its reason", async () => {
    const kube = cluster({ blockCas: true });
    const outcome = await runUpgrade(asKube(kube), opts);
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toContain("upgrade blocked (MigrationIncomplete): migration is 2/3");
    expect(outcome.error).toContain("to continue");
  });
});
