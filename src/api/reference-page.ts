// A self-contained, browsable reference of the OpenAPI document. No CDN scripts: scone runs air-gapped.
interface OpenApiLike {
  info?: { title?: string; version?: string; description?: string };
  paths?: object;
}

interface Parameter {
  name?: string;
  in?: string;
  required?: boolean;
  description?: string;
}

type Operation =
  | {
      summary?: string;
      responses?: Record<string, unknown>;
      parameters?: Parameter[];
      requestBody?: unknown;
      "x-scone-scope"?: string;
    }
  | undefined;

const esc = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function parameters(op: NonNullable<Operation>): string {
  const items = (op.parameters ?? []).map((p) => {
    const name = `${p.name ?? "?"}${p.required ? "" : "?"}`;
    const title = p.description ? ` title="${esc(p.description)}"` : "";
    return `<code${title}>${esc(name)}</code> <small>${esc(p.in ?? "")}</small>`;
  });
  if (op.requestBody) items.push("<small>JSON body</small>");
  return items.join("<br>");
}

export function renderReferencePage(doc: OpenApiLike): string {
  const rows: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths ?? {}) as [string, Record<string, Operation> | undefined][]) {
    for (const [method, op] of Object.entries(ops ?? {})) {
      if (!op) continue;
      const codes = Object.keys(op.responses ?? {}).join(", ");
      rows.push(
        `<tr><td><code>${esc(method.toUpperCase())}</code></td><td><code>${esc(path)}</code></td>` +
          `<td>${esc(op.summary ?? "")}</td><td>${esc(op["x-scone-scope"] ?? "none")}</td>` +
          `<td>${parameters(op)}</td><td>${esc(codes)}</td></tr>`,
      );
    }
  }
  const title = esc(`${doc.info?.title ?? "API"} ${doc.info?.version ?? ""}`);
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}</style>
</head><body><h1>${title}</h1><p>${esc(doc.info?.description ?? "")}</p>
<p>Routes with a scope need <code>Authorization: Bearer &lt;token&gt;</code>; a token's scope covers the smaller ones
(read &lt; operate &lt; admin). Errors are <code>application/problem+json</code>.
Machine-readable: <a href="/openapi.json">/openapi.json</a></p>
<table><tr><th>Method</th><th>Path</th><th>Summary</th><th>Scope</th><th>Parameters</th><th>Responses</th></tr>${rows.join("")}</table></body></html>`;
}
