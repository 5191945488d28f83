// A small reader for /openapi.json: each operation with its security, parameters, body, responses and
// (for the trigger routes) the event catalog; then every schema. Rendered as text, never as HTML.
'use strict';

(async () => {
  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return node;
  };
  const refName = (schema) => (schema && schema.$ref ? schema.$ref.split('/').pop() : null);
  const describe = (schema) => refName(schema) || (schema && (schema.type || (schema.anyOf ? 'anyOf' : ''))) || '';

  const doc = await (await fetch('/openapi.json')).json();
  document.title = `${doc.info.title} ${doc.info.version} · API docs`;
  $('title').replaceChildren(`${doc.info.title} `, el('span', { class: 'muted' }, `v${doc.info.version} · OpenAPI ${doc.openapi}`));
  $('description').textContent = doc.info.description || '';

  const security = (op) => {
    const list = op.security || doc.security || [];
    return list.length ? list.map((s) => Object.keys(s).join(' + ')).join(' or ') : 'none';
  };

  const ops = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const rows = [];
      for (const p of op.parameters || []) rows.push(el('tr', {}, el('td', {}, `${p.in} ${p.name}${p.required ? ' *' : ''}`), el('td', {}, describe(p.schema)), el('td', {}, p.description || '')));
      const body = op.requestBody && op.requestBody.content;
      if (body) for (const [type, media] of Object.entries(body)) rows.push(el('tr', {}, el('td', {}, `body (${type})`), el('td', {}, describe(media.schema)), el('td', {}, op.requestBody.description || '')));
      for (const [status, response] of Object.entries(op.responses || {})) {
        const media = response.content && Object.values(response.content)[0];
        rows.push(el('tr', {}, el('td', {}, `→ ${status}`), el('td', {}, media ? describe(media.schema) : ''), el('td', {}, response.description || '')));
      }
      const children = [
        el('h3', {}, el('span', { class: `method ${method}` }, method.toUpperCase()), el('code', {}, path), el('span', { class: 'muted' }, op.summary && op.summary !== `${method.toUpperCase()} ${path}` ? op.summary : '')),
        el('div', { class: 'muted' }, `auth: ${security(op)} · function: ${op['x-lambda-function'] || '?'}`),
        el('table', {}, el('tbody', {}, ...rows)),
      ];
      const catalog = op['x-event-catalog'];
      if (catalog) {
        const lines = Object.entries(catalog).flatMap(([family, events]) => Object.entries(events).map(([name, ref]) => el('tr', {}, el('td', {}, el('code', {}, family)), el('td', {}, el('code', {}, name)), el('td', {}, refName(ref)))));
        children.push(el('details', {}, el('summary', {}, `event catalog (${lines.length} events)`), el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'channel family'), el('th', {}, 'event'), el('th', {}, 'data schema'))), el('tbody', {}, ...lines))));
      }
      ops.push(el('div', { class: 'op', 'data-path': path, 'data-method': method }, ...children));
    }
  }
  $('operations').replaceChildren(...ops);

  const schemas = (doc.components && doc.components.schemas) || {};
  $('schemas').replaceChildren(...Object.keys(schemas).sort().map((name) => el('details', { id: `schema-${name}` },
    el('summary', {}, name), el('pre', { class: 'schema' }, JSON.stringify(schemas[name], null, 2)))));
  document.body.dataset.ready = 'true';
})();
