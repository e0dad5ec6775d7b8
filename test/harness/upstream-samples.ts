// Locates and reads the upstream SCONE CRDs and samples (data for compatibility tests, never copied into the repo).

import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { sharedPath } from "./shared.ts";

export const UPSTREAM_CRDS_DIR = process.env.SCONE_UPSTREAM_CRDS ?? sharedPath("reference", "upstream-crds");
export const UPSTREAM_SAMPLES_DIR = process.env.SCONE_UPSTREAM_SAMPLES ?? sharedPath("reference", "upstream-samples");

export function upstreamCrdFiles(): string[] {
  if (!existsSync(UPSTREAM_CRDS_DIR)) return [];
  return readdirSync(UPSTREAM_CRDS_DIR)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => join(UPSTREAM_CRDS_DIR, f));
}

/** Parses a chart template CRD: `{{.Release.Namespace}}` and friends are not YAML, so they are blanked first. */
export async function readUpstreamCrd(path: string): Promise<Record<string, unknown>> {
  const { parse } = await import("yaml");
  const text = (await Bun.file(path).text()).replaceAll(/\{\{[^}]*\}\}/g, "release-namespace");
  return parse(text) as Record<string, unknown>;
}
