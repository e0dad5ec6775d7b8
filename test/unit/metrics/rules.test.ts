// The shipped alerting rules and dashboard: every upstream *_alert gauge has an alert; every alert has a summary, a
// description and a runbook section that exists; every query names only metrics the operator exports; the rule file
// passes `promtool check rules`, and `promtool test rules` proves each alert quiet and firing as ALERT_CASES says.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { exportedSeries, METRIC_CATALOG } from "../../../src/metrics/catalog.ts";
import { DASHBOARD_PATH, dashboardExpressions, dashboardJson } from "../../../src/metrics/dashboard.ts";
import { metricNamesOf } from "../../../src/metrics/promql-names.ts";
import { ALERTS, alertRuleGroups, WEBHOOK_SECRET_NAME } from "../../../src/metrics/rules.ts";
import { WEBHOOK_CERT_SECRET } from "../../../src/operator/certs/secret.ts";
import {
  type PrometheusBinaries,
  prometheusBinaries,
  promtool,
  scratchDir,
  writeRuleFile,
} from "../../harness/prometheus.ts";
import { ALERT_CASES, renderAnnotation } from "./alert-cases.ts";

const ROOT = join(import.meta.dir, "../../..");

/** GitHub's anchor of a markdown heading. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, "")
    .replace(/ /g, "-");

describe("alerting rules and dashboard (static)", () => {
  test("every upstream *_alert gauge has an alert", () => {
    const alertGauges = [...METRIC_CATALOG.keys()].filter((n) => n.endsWith("_alert"));
    expect(alertGauges.length).toBeGreaterThanOrEqual(9);
    const read = new Set(ALERTS.flatMap((a) => [...metricNamesOf(a.expr)]));
    expect(alertGauges.filter((g) => !read.has(g))).toEqual([]);
  });

  test("every alert has a summary, a description naming a fix, and a runbook section that exists", () => {
    const runbooks = readFileSync(join(ROOT, "docs/runbooks.md"), "utf8");
    const anchors = new Set([...runbooks.matchAll(/^## (.+)$/gm)].map((m) => slug(m[1] ?? "")));
    for (const g of alertRuleGroups())
      for (const r of g.rules) {
        expect(r.annotations.summary.length).toBeGreaterThan(10);
        expect(r.annotations.description.length).toBeGreaterThan(40);
        const anchor = r.annotations.runbook_url.split("#")[1] ?? "";
        expect({ alert: r.alert, anchor, found: anchors.has(anchor) }).toEqual({ alert: r.alert, anchor, found: true });
      }
    expect(new Set(ALERTS.map((a) => a.alert)).size).toBe(ALERTS.length);
  });

  test("the Secret the webhook certificate alert names is the operator's", () => {
    expect(WEBHOOK_SECRET_NAME).toBe(WEBHOOK_CERT_SECRET);
    const alert = ALERTS.find((a) => a.alert === "SconeWebhookCertificateExpiringSoon");
    expect(alert?.description).toContain(`Secret ${WEBHOOK_CERT_SECRET} `);
  });

  test("the committed dashboard is the generated one (bun run src/metrics/dashboard.ts)", () => {
    expect(readFileSync(join(ROOT, DASHBOARD_PATH), "utf8")).toBe(dashboardJson());
  });

  test("every query of the rules and the dashboard reads only metrics the operator exports", () => {
    const series = exportedSeries();
    const dashboard = JSON.parse(readFileSync(join(ROOT, DASHBOARD_PATH), "utf8")) as unknown;
    const queries = [...ALERTS.map((a) => a.expr), ...dashboardExpressions(dashboard)];
    expect(queries.length).toBeGreaterThan(30);
    const unknown = queries.flatMap((q) =>
      [...metricNamesOf(q)].filter((n) => !series.has(n)).map((n) => `${n} in ${q}`),
    );
    expect(unknown).toEqual([]);
    // Every panel reads at least one metric (a typo that leaves none would otherwise pass).
    for (const q of queries) expect([...metricNamesOf(q)].length).toBeGreaterThan(0);
  });

  test("the metric-name extraction sees through functions, matchers, ranges, grouping and numbers", () => {
    expect([
      ...metricNamesOf(
        'histogram_quantile(0.95, sum by (controller, le) (rate(a_bucket{x=~"$ns", y="b c"}[5m]))) > 1e3 and on (x) b offset 5m unless time() - c',
      ),
    ]).toEqual(["a_bucket", "b", "c"]);
    // A name the catalogue lacks is reported, so the check above can fail.
    expect(exportedSeries().has([...metricNamesOf("scone_cas_stat != 1")][0] ?? "")).toBe(false);
  });
});

describe("alerting rules under promtool", () => {
  let bin: PrometheusBinaries;
  let scratch: ReturnType<typeof scratchDir>;
  beforeAll(() => {
    bin = prometheusBinaries();
    scratch = scratchDir("scone-promtool-");
  }, 3_600_000);
  afterAll(() => scratch?.remove());

  test("promtool check rules accepts the rule file", () => {
    const file = writeRuleFile(scratch.dir);
    const r = promtool(bin, ["check", "rules", file]);
    expect(r.output).toContain(`SUCCESS: ${ALERTS.length} rules found`);
    expect(r.code).toBe(0);
  });

  test("promtool check rules refuses a broken expression (the check can fail)", () => {
    const file = join(scratch.dir, "broken.yaml");
    writeFileSync(file, stringify({ groups: [{ name: "x", rules: [{ alert: "X", expr: "scone_cas_state !=" }] }] }));
    expect(promtool(bin, ["check", "rules", file]).code).not.toBe(0);
  });

  test("promtool test rules: each alert is quiet, then fires with its labels and rendered annotations", () => {
    expect(ALERT_CASES.map((c) => c.alert).sort()).toEqual(ALERTS.map((a) => a.alert).sort());
    writeRuleFile(scratch.dir);
    const tests = ALERT_CASES.map((c) => {
      const a = ALERTS.find((x) => x.alert === c.alert);
      if (!a) throw new Error(c.alert);
      const rule = alertRuleGroups()[0]?.rules.find((r) => r.alert === c.alert);
      const annotations = Object.fromEntries(
        Object.entries(rule?.annotations ?? {}).map(([k, v]) => [k, renderAnnotation(v, c.labels, c.value)]),
      );
      return {
        name: c.alert,
        interval: "1m",
        input_series: c.series,
        alert_rule_test: [
          { eval_time: c.quietAt, alertname: c.alert, exp_alerts: [] },
          {
            eval_time: c.firesAt,
            alertname: c.alert,
            exp_alerts: [{ exp_labels: { ...c.labels, severity: a.severity }, exp_annotations: annotations }],
          },
        ],
      };
    });
    const testFile = join(scratch.dir, "scone-rules.test.yaml");
    writeFileSync(testFile, stringify({ rule_files: ["scone-rules.yaml"], evaluation_interval: "1m", tests }));
    const r = promtool(bin, ["test", "rules", testFile]);
    if (r.code !== 0) console.error(r.output);
    expect(r.output).toContain("SUCCESS");
    expect(r.code).toBe(0);
  });

  test("promtool test rules fails when an alert's expectation is wrong (the test can fail)", () => {
    writeRuleFile(scratch.dir);
    const testFile = join(scratch.dir, "wrong.test.yaml");
    const tests = [
      {
        interval: "1m",
        input_series: [{ series: 'scone_cas_state{cr_name="cas",cr_namespace="t"}', values: "1x20" }],
        alert_rule_test: [
          { eval_time: "15m", alertname: "SconeCASNotHealthy", exp_alerts: [{ exp_labels: { cr_name: "cas" } }] },
        ],
      },
    ];
    writeFileSync(testFile, stringify({ rule_files: ["scone-rules.yaml"], tests }));
    expect(promtool(bin, ["test", "rules", testFile]).code).not.toBe(0);
  });
});
