/**
 * A browsable API reference at /docs, rendered on the server from the same OpenAPI document as
 * /openapi.json. Self-contained (no CDN script), so it works offline, behind strict CSPs and on Workers.
 */
interface OpenApiOperation {
  summary?: string;
  parameters?: { name: string; in: string; required?: boolean; schema?: unknown }[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
  security?: Record<string, unknown>[];
}

export interface OpenApiDocument {
  info: { title: string; version: string };
  paths: Record<string, Record<string, OpenApiOperation>>;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const schemaBlock = (schema: unknown) => `<pre>${escape(JSON.stringify(schema, null, 2))}</pre>`;

function renderOperation(path: string, method: string, op: OpenApiOperation): string {
  const id = `${method}-${path}`.replace(/[^a-z0-9]+/gi, '-');
  const params = op.parameters?.length
    ? `<h4>Parameters</h4><ul>${op.parameters
        .map((p) => `<li><code>${escape(p.name)}</code> <small>in ${escape(p.in)}${p.required ? ', required' : ''}</small></li>`)
        .join('')}</ul>`
    : '';
  const body = op.requestBody?.content
    ? Object.entries(op.requestBody.content).map(([type, c]) => `<h4>Body <small>${escape(type)}</small></h4>${schemaBlock(c.schema)}`).join('')
    : '';
  const responses = Object.entries(op.responses ?? {})
    .map(([status, r]) => {
      const schemas = Object.values(r.content ?? {}).map((c) => schemaBlock(c.schema)).join('');
      return `<details><summary><b class="s${status[0]}">${escape(status)}</b> ${escape(r.description ?? '')}</summary>${schemas}</details>`;
    })
    .join('');
  return `<section id="${id}"><h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${escape(path)}</code></h3>
<p>${escape(op.summary ?? '')}${op.security?.length ? ' <small>(authenticated)</small>' : ''}</p>${params}${body}<h4>Responses</h4>${responses}</section>`;
}

export function renderDocs(doc: OpenApiDocument): string {
  const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((m) => ({ path, method: m, op: item[m]! })),
  );
  const nav = operations.map(({ path, method }) => `<a href="#${`${method}-${path}`.replace(/[^a-z0-9]+/gi, '-')}"><span class="m ${method}">${method.toUpperCase()}</span> ${escape(path)}</a>`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escape(doc.info.title)} · API reference</title><style>
body{margin:0;font:15px/1.5 system-ui,sans-serif;color:#1d1d1f;display:grid;grid-template-columns:minmax(220px,320px) 1fr}
nav{position:sticky;top:0;height:100vh;overflow:auto;background:#f5f5f7;padding:16px;box-sizing:border-box}
nav a{display:block;padding:3px 0;color:inherit;text-decoration:none;font-size:13px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
main{padding:24px 40px;max-width:960px}section{border-top:1px solid #e5e5ea;padding:12px 0}
.m{display:inline-block;min-width:52px;text-align:center;border-radius:4px;color:#fff;font:600 11px/20px ui-monospace,monospace}
.get{background:#0a7d3b}.post{background:#0057b8}.put{background:#8a4b00}.patch{background:#6b3fa0}.delete{background:#b3261e}
pre{background:#f5f5f7;padding:8px;border-radius:6px;overflow:auto;font-size:12px}.s2{color:#0a7d3b}.s4{color:#b3261e}
@media (max-width:720px){body{display:block}nav{position:static;height:auto}main{padding:16px}}
</style></head><body><nav><strong>${escape(doc.info.title)}</strong> <small>${escape(doc.info.version)}</small>
<p><a href="/openapi.json">openapi.json</a></p>${nav}</nav><main><h1>${escape(doc.info.title)}</h1>
<p>Errors are RFC 9457 problem documents (<code>application/problem+json</code>). Sign in with
<code>POST /v1/auth/login</code>; send the returned token as <code>Authorization: Bearer …</code>.</p>
${operations.map(({ path, method, op }) => renderOperation(path, method, op)).join('')}</main></body></html>`;
}
