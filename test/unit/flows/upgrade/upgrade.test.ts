import { describe, expect, test } from "bun:test";
import { renderBackupPolicy, SCONE_CLI_MRENCLAVE } from "../../../../src/flows/provision/templates.ts";
import type { DayTwoKube } from "../../../../src/flows/status/observe.ts";
import { admitsOnly, serviceMrenclaves, withCliMrenclave } from "../../../../src/flows/upgrade/backup-policy.ts";
import { type OwnerSessions, runUpgrade } from "../../../../src/flows/upgrade/flow.ts";
import { checkUpgrade, parseImage, siblingImage, upgradeTargets } from "../../../../src/flows/upgrade/plan.ts";
import type { CAS } from "../../../../src/resources/cas.ts";
import { casPod, FakeKube, healthyCas } from "../../../harness/fake-kube.ts";

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
      "backup-policy",
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

/** The owner's view of the CAS's backup policy session, with CAS's predecessor rule. */
function fakeOwner(session: string) {
  const state = { session, hash: "h0", updates: [] as { predecessor: string }[], closed: 0, concurrent: false };
  const client: OwnerSessions = {
    async readSession(name) {
      expect(name).toBe("cas-owner/primary-backup");
      return { session: state.session, hash: state.hash };
    },
    async updateSession(text, predecessor) {
      if (state.concurrent || predecessor !== state.hash)
        throw new Error(`predecessor ${predecessor} is not the current hash of the session (409)`);
      state.updates.push({ predecessor });
      state.session = text;
      state.hash = `h${state.updates.length}`;
      return { hash: state.hash };
    },
  };
  const ports = {
    async openOwnerSessions() {
      return {
        client,
        close: async () => {
          state.closed++;
        },
      };
    },
  };
  return { state, ports };
}

const NEW_CLI = "ef2242460123456789abcdef0123456789abcdef0123456789abcdefd0054990";
const OWNER_JSON = JSON.stringify({ identity: "-----BEGIN PRIVATE KEY-----\nxyz\n-----END PRIVATE KEY-----" }, null, 2);

describe("backup policy MRENCLAVE (upstream step b)", () => {
  test("the policy text: every MRENCLAVE list becomes the new one; the injected owner identity and the rest stay", () => {
    const before = renderBackupPolicy(OWNER_JSON);
    const after = withCliMrenclave(before, NEW_CLI);
    expect(serviceMrenclaves(after)).toEqual(
      new Map([
        ["register", [NEW_CLI]],
        ["upgrade", [NEW_CLI]],
      ]),
    );
    expect(admitsOnly(after, NEW_CLI)).toBe(true);
    expect(admitsOnly(before, NEW_CLI)).toBe(false);
    expect(after).not.toContain(SCONE_CLI_MRENCLAVE);
    expect(after).toContain("-----BEGIN PRIVATE KEY-----\\nxyz");
    expect(after).toContain('command: "scone cas register-upgrade -SCG @@3"');
    expect(() => withCliMrenclave(before, "ABC")).toThrow("64 lower-case hex digits");
    expect(() => withCliMrenclave("name: x\nservices: []\n", NEW_CLI)).toThrow("no service that attests by MRENCLAVE");
  });

  test("with backupMrenclave: the policy is updated once, with its current hash as predecessor, before the backup controller moves", async () => {
    const kube = cluster();
    const owner = fakeOwner(renderBackupPolicy(OWNER_JSON));
    const withPolicy = { ...opts, backupMrenclave: NEW_CLI };
    // Killed right after the policy update, when it moves the backup controller.
    const react = kube.react;
    kube.react = (w, k) => {
      react(w, k);
      if (kube.writes.length === 1) k.failNext = "patch";
    };
    const first = await runUpgrade(asKube(kube), withPolicy, undefined, owner.ports);
    expect(first.ok).toBe(false);
    expect(owner.state.updates).toEqual([{ predecessor: "h0" }]);
    expect(admitsOnly(owner.state.session, NEW_CLI)).toBe(true);
    expect(owner.state.closed).toBe(1);
    // The rerun finds the policy updated (no second update) and finishes the upgrade.
    kube.react = react;
    const again = await runUpgrade(asKube(kube), withPolicy, undefined, owner.ports);
    expect(again.ok).toBe(true);
    expect(again.steps.map((s) => [s.name, s.outcome]).slice(1, 4)).toEqual([
      ["backup-controller-session", "skipped"],
      ["backup-policy", "skipped"],
      ["backup-controller-image", "done"],
    ]);
    expect(owner.state.updates).toHaveLength(1);
  });

  test("a concurrent change of the policy is refused by CAS: the upgrade stops before the backup controller moves", async () => {
    const kube = cluster();
    const owner = fakeOwner(renderBackupPolicy(OWNER_JSON));
    owner.state.concurrent = true;
    const outcome = await runUpgrade(asKube(kube), { ...opts, backupMrenclave: NEW_CLI }, undefined, owner.ports);
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toContain("is not the current hash");
    expect(kube.writes.map((w) => w.body)).toEqual([
      { spec: { "backup-controller": { session: "cas-owner/primary-backup/upgrade" } } },
    ]);
    expect(owner.state.closed).toBe(1);
  });

  test("a malformed MRENCLAVE, or no way to the owner identity: refused, naming what is missing", async () => {
    const kube = cluster();
    const bad = await runUpgrade(asKube(kube), { ...opts, backupMrenclave: "xyz" });
    expect(bad).toMatchObject({ ok: false, refused: true });
    expect(bad.error).toContain("64 lower-case hex digits");
    expect(kube.writes).toEqual([]);
    const noOwner = await runUpgrade(asKube(kube), { ...opts, backupMrenclave: NEW_CLI });
    expect(noOwner).toMatchObject({ ok: false, refused: true });
    expect(noOwner.error).toContain("owner's identity");
    // Checked before the first change: nothing half-applied.
    expect(kube.writes).toEqual([]);
  });
});
