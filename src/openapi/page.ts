/**
 * The reference page (/api/docs): both documents rendered on the server as plain HTML. No script and
 * no style: the Worker's CSP (`default-src 'none'`) allows neither, and the page needs neither.
 */

type Json = Record<string, unknown>;

const escape = (text: string): string => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

const pre = (value: unknown): string => `<pre>${escape(JSON.stringify(value, null, 2))}</pre>`;

const anchor = (id: string): string => id.replace(/[^A-Za-z0-9_.-]/g, "-");

/** `#/components/schemas/X` → a link to X's section of the page. */
function refLinks(value: unknown): string {
  const refs = new Set<string>();
  JSON.stringify(value, (key, v: unknown) => {
    if (key === "$ref" && typeof v === "string") refs.add(v.split("/").pop() ?? v);
    return v;
  });
  if (refs.size === 0) return "";
  return `<p>See: ${[...refs].map((r) => `<a href="#schema-${anchor(r)}">${escape(r)}</a>`).join(", ")}</p>`;
}

function operations(openapi: Json): string {
  const paths = openapi["paths"] as Record<string, Record<string, Json>>;
  const byTag = new Map<string, string[]>();
  for (const [path, methods] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const tag = ((op["tags"] as string[] | undefined) ?? ["Other"])[0] ?? "Other";
      const security = (op["security"] as Json[]).flatMap((s) => Object.keys(s));
      const parts = [
        `<h4 id="op-${anchor(String(op["operationId"]))}"><code>${method.toUpperCase()} ${escape(path)}</code></h4>`,
        `<p>${escape(String(op["summary"]))}. Credentials: ${security.length > 0 ? escape(security.join(" or ")) : "none"}.</p>`,
      ];
      if (op["parameters"])
        parts.push(`<details><summary>Parameters</summary>${pre(op["parameters"])}</details>`);
      if (op["requestBody"]) {
        parts.push(`<details><summary>Request body</summary>${pre(op["requestBody"])}</details>`);
        parts.push(refLinks(op["requestBody"]));
      }
      parts.push(
        `<details><summary>Responses</summary>${pre(op["responses"])}</details>`,
        refLinks(op["responses"]),
      );
      const list = byTag.get(tag) ?? [];
      list.push(parts.join("\n"));
      byTag.set(tag, list);
    }
  }
  return [...byTag].map(([tag, ops]) => `<h3>${escape(tag)}</h3>\n${ops.join("\n")}`).join("\n");
}

function schemas(openapi: Json): string {
  const components = (openapi["components"] as Json)["schemas"] as Record<string, unknown>;
  return Object.entries(components)
    .map(
      ([name, schema]) =>
        `<details id="schema-${anchor(name)}"><summary><code>${escape(name)}</code></summary>${pre(schema)}</details>`,
    )
    .join("\n");
}

function protocol(doc: Json): string {
  const section = (title: string, key: string): string => {
    const entries = Object.entries(doc[key] as Record<string, unknown>);
    return `<h3>${title}</h3>\n${entries
      .map(
        ([type, schema]) =>
          `<details><summary><code>${escape(type)}</code></summary>${pre(schema)}</details>`,
      )
      .join("\n")}`;
  };
  const codes = Object.entries(doc["closeCodes"] as Record<string, { name: string; meaning: string }>)
    .map(([code, c]) => `<tr><td>${code}</td><td>${escape(c.name)}</td><td>${escape(c.meaning)}</td></tr>`)
    .join("\n");
  return [
    `<p>${escape(String(doc["description"]))}</p>`,
    `<h3>Sockets</h3>${pre(doc["sockets"])}`,
    `<h3>Keep-alive</h3>${pre(doc["keepAlive"])}`,
    section("Client frames (conversation sockets)", "clientFrames"),
    section("Conversation events", "roomEvents"),
    section("Inbox events", "inboxEvents"),
    `<h3>Close codes</h3><table><thead><tr><th>Code</th><th>Name</th><th>Meaning</th></tr></thead><tbody>${codes}</tbody></table>`,
    section("Shared definitions", "definitions"),
  ].join("\n");
}

export function referencePage(openapi: Json, protocolDoc: Json): string {
  const info = openapi["info"] as Json;
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(String(info["title"]))}</title></head>
<body>
<h1>${escape(String(info["title"]))}</h1>
<p>${escape(String(info["description"]))}</p>
<p>Machine-readable: <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI ${escape(String(openapi["openapi"]))}),
<a href="/api/protocol.json">/api/protocol.json</a> (WebSocket protocol).</p>
<nav><a href="#http">HTTP operations</a> · <a href="#schemas">Schemas</a> · <a href="#protocol">WebSocket protocol</a></nav>
<h2 id="http">HTTP operations</h2>
${operations(openapi)}
<h2 id="schemas">Schemas</h2>
${schemas(openapi)}
<h2 id="protocol">WebSocket protocol</h2>
${protocol(protocolDoc)}
</body>
</html>
`;
}
