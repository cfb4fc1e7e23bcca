// The API reference of /docs, rendered from the OpenAPI 3 description the
// server serves at /api/openapi.json (so the page and the description cannot
// disagree). DOM calls only (CSP "default-src 'self'": no inline code).

import { $, h } from './dom.js';

// Inline `code` in descriptions becomes <code>; everything else stays text.
function prose(text) {
  const out = [];
  String(text || '').split(/(`[^`]+`)/).forEach((part) => {
    if (part.startsWith('`') && part.endsWith('`') && part.length > 1) out.push(h('code', { text: part.slice(1, -1) }));
    else if (part) out.push(part);
  });
  return out;
}

function resolve(spec, node) {
  let n = node;
  for (let i = 0; n && n.$ref && i < 20; i += 1) {
    const path = n.$ref.replace(/^#\//, '').split('/');
    n = path.reduce((acc, key) => (acc ? acc[key] : undefined), spec);
  }
  return n || {};
}

function refName(node) {
  return node && node.$ref ? node.$ref.split('/').pop() : null;
}

function typeLabel(spec, node) {
  const name = refName(node);
  const s = resolve(spec, node);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (s.type === 'array') return `array of ${typeLabel(spec, s.items || {})}`;
  if (s.oneOf) return name || 'one of';
  if (s.allOf && s.allOf.length === 1) return typeLabel(spec, s.allOf[0]);
  let t = s.type || (name ? name : 'object');
  if (s.format) t += ` (${s.format})`;
  if (s.nullable) t += ' | null';
  return name && s.type === 'object' ? name : t;
}

// A schema as a nested list of its properties (depth-limited: the reference is
// for reading, components repeat).
function schemaView(spec, node, depth = 0) {
  const s = resolve(spec, node);
  if (depth > 3) return null;
  if (s.oneOf) {
    return h('ul', { class: 'schema-list' }, s.oneOf.map((alt) => {
      const a = resolve(spec, alt);
      return h('li', {}, h('strong', { text: a.title || refName(alt) || 'variant' }), ': ', schemaView(spec, alt, depth + 1));
    }));
  }
  if (s.allOf) {
    const merged = { type: 'object', properties: {}, required: [] };
    for (const part of s.allOf) {
      const p = resolve(spec, part);
      Object.assign(merged.properties, p.properties || {});
      merged.required.push(...(p.required || []));
    }
    return schemaView(spec, merged, depth);
  }
  if (s.type === 'array') {
    const items = resolve(spec, s.items || {});
    if (items.properties || items.oneOf) return h('div', {}, 'array of:', schemaView(spec, s.items, depth + 1));
    return null;
  }
  if (!s.properties) return null;
  const required = new Set(s.required || []);
  return h('ul', { class: 'schema-list' }, Object.entries(s.properties).map(([name, prop]) => {
    const p = resolve(spec, prop);
    const nested = (p.properties || p.oneOf || (p.type === 'array' && resolve(spec, p.items || {}).properties))
      ? schemaView(spec, prop, depth + 1) : null;
    return h('li', {},
      h('code', { text: name }), ' ',
      h('span', { class: 'type', text: typeLabel(spec, prop) }),
      required.has(name) ? h('span', { class: 'req', text: ' required' }) : null,
      p.default !== undefined ? h('span', { class: 'muted', text: ` default ${JSON.stringify(p.default)}` }) : null,
      p.description ? [' — ', ...prose(p.description)] : null,
      nested);
  }));
}

function curlFor(spec, method, path, op) {
  const lines = [`curl -s -X ${method.toUpperCase()} "$BASE${path.replace(/\{(\w+)\}/g, (_, n) => `$${n.toUpperCase()}`)}`];
  const query = (op.parameters || []).map((p) => resolve(spec, p)).filter((p) => p.in === 'query' && p.required);
  if (query.length) lines[0] += `?${query.map((p) => `${p.name}=…`).join('&')}`;
  lines[0] += '"';
  const secured = op.security === undefined ? (spec.security || []).length > 0 : op.security.some((s) => Object.keys(s).length > 0);
  if (secured) lines.push('  -H "Authorization: Bearer $TOKEN"');
  const body = op.requestBody && op.requestBody.content && op.requestBody.content['application/json'];
  if (body) {
    lines.push("  -H 'Content-Type: application/json'");
    lines.push(`  -d '${JSON.stringify(body.example || {})}'`);
  }
  return lines.join(' \\\n');
}

function operationView(spec, path, method, op) {
  const params = (op.parameters || []).map((p) => resolve(spec, p));
  const body = op.requestBody && op.requestBody.content && op.requestBody.content['application/json'];
  const id = `op-${method}-${path.replace(/[^A-Za-z0-9]+/g, '-')}`;
  return h('details', { class: 'op', id, 'data-method': method.toUpperCase(), 'data-path': path },
    h('summary', {},
      h('span', { class: `method method-${method}`, text: method.toUpperCase() }),
      h('span', { class: 'op-path', text: path }),
      h('span', { class: 'op-summary', text: op.summary || '' })),
    h('div', { class: 'op-body' },
      op.description ? h('p', {}, prose(op.description)) : null,
      params.length ? [h('h4', { text: 'Parameters' }), h('ul', { class: 'schema-list' }, params.map((p) =>
        h('li', {}, h('code', { text: p.name }), ` (${p.in}) `, h('span', { class: 'type', text: typeLabel(spec, p.schema || {}) }),
          p.required ? h('span', { class: 'req', text: ' required' }) : null,
          p.description ? [' — ', ...prose(p.description)] : null)))] : null,
      body ? [h('h4', { text: 'Request body (JSON)' }), schemaView(spec, body.schema)] : null,
      h('h4', { text: 'Responses' }),
      h('ul', { class: 'schema-list' }, Object.entries(op.responses || {}).map(([code, r]) => {
        const resp = resolve(spec, r);
        return h('li', {}, h('strong', { text: code }), ' ', ...prose(resp.description || ''));
      })),
      h('h4', { text: 'Example' }),
      h('pre', {}, h('code', { text: curlFor(spec, method, path, op) }))));
}

function render(spec) {
  const root = $('api-reference');
  const groups = new Map();
  for (const [path, item] of Object.entries(spec.paths || {})) {
    for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
      const op = item[method];
      if (!op) continue;
      const tag = (op.tags && op.tags[0]) || 'Other';
      if (!groups.has(tag)) groups.set(tag, []);
      groups.get(tag).push(operationView(spec, path, method, op));
    }
  }
  const order = (spec.tags || []).map((t) => t.name);
  const tags = [...groups.keys()].sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
  root.replaceChildren(
    spec.info && spec.info.description ? h('p', {}, prose(spec.info.description)) : null,
    ...tags.map((tag) => h('section', { 'aria-label': tag }, h('h3', { text: tag }), groups.get(tag))),
  );
}

async function load() {
  const status = $('reference-status');
  try {
    const headers = { Accept: 'application/json' };
    const token = sessionStorage.getItem('tb.token');
    if (token) headers.Authorization = `Bearer ${token}`;
    const res = await fetch('/api/openapi.json', { headers, cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    render(await res.json());
    status.hidden = true;
  } catch (e) {
    status.className = 'notice notice-error';
    status.textContent = `The API description could not be loaded (${e.message}). It is at /api/openapi.json.`;
  }
}

load();
