// A self-contained, browsable reference of the OpenAPI document. No CDN scripts: scone runs air-gapped.
interface OpenApiLike {
  info?: { title?: string; version?: string; description?: string };
  paths?: object;
}

const esc = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

export function renderReferencePage(doc: OpenApiLike): string {
  const rows: string[] = [];
  type Operation = { summary?: string; responses?: Record<string, unknown> } | undefined;
  for (const [path, ops] of Object.entries(doc.paths ?? {}) as [string, Record<string, Operation> | undefined][]) {
    for (const [method, op] of Object.entries(ops ?? {})) {
      if (!op) continue;
      const codes = Object.keys(op.responses ?? {}).join(", ");
      rows.push(
        `<tr><td><code>${esc(method.toUpperCase())}</code></td><td><code>${esc(path)}</code></td>` +
          `<td>${esc(op.summary ?? "")}</td><td>${esc(codes)}</td></tr>`,
      );
    }
  }
  const title = esc(`${doc.info?.title ?? "API"} ${doc.info?.version ?? ""}`);
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}</style>
</head><body><h1>${title}</h1><p>${esc(doc.info?.description ?? "")}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a></p>
<table><tr><th>Method</th><th>Path</th><th>Summary</th><th>Responses</th></tr>${rows.join("")}</table></body></html>`;
}
