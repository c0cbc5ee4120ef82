// Samsa web console: a hash-routed single page over the broker's /api/. Plain DOM, no framework; every value from
// the broker is put in the page as text (never as HTML); charts are inline SVG drawn here.
'use strict';

const main = document.getElementById('main');
const statusBox = document.getElementById('status');
let refreshTimer = null;
let renderToken = 0;

// ---- helpers ----

function h(tag, attrs, ...children) {
  const svg = ['svg', 'path', 'line', 'text', 'g', 'title', 'polyline', 'rect', 'desc'].includes(tag);
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.setAttribute('class', v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

async function api(path, options) {
  const response = await fetch('/api/' + path, { credentials: 'same-origin', ...options });
  const body = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function say(message, isError) {
  statusBox.textContent = message;
  statusBox.className = isError ? 'status error' : 'status';
  if (!isError) setTimeout(() => { if (statusBox.textContent === message) statusBox.textContent = ''; }, 4000);
}

const fmt = new Intl.NumberFormat('en');
function num(n) { return n === null || n === undefined ? '–' : fmt.format(n); }
function bytes(n) {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? Math.round(n) : n.toFixed(1)) + ' ' + units[i];
}
function time(ms) { return new Date(ms).toISOString().replace('T', ' ').replace('Z', ' UTC'); }
function badge(text) { return text ? h('span', { class: 'badge ' + text }, text) : '–'; }

// A table: columns are [header, cell(row), numeric?]; on a phone each cell shows its header (data-label).
function table(caption, columns, rows, id) {
  return h('div', { class: 'scroll' }, h('table', { class: 'stack', id },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, columns.map(([name, , numeric]) => h('th', { scope: 'col', class: numeric ? 'num' : null }, name)))),
    h('tbody', {}, rows.length === 0
      ? h('tr', {}, h('td', { colspan: columns.length }, 'None'))
      : rows.map(row => h('tr', { class: row.__class }, columns.map(([name, cell, numeric]) =>
        h('td', { 'data-label': name, class: numeric ? 'num' : null }, cell(row))))))));
}

function page(title, ...content) {
  main.replaceChildren(h('h1', {}, title), ...content);
  document.title = title + ' · Samsa console';
}

// ---- charts ----

// A line chart of series [{name, points: [[timeMs, value]...]}] over the last `spanMs`, as inline SVG.
// The span shown grows with the data from `minSpanMs` up to `spanMs`; the drawing is as wide as the page allows.
function lineChart(label, series, spanMs, formatValue, minSpanMs = 5 * 60 * 1000) {
  const W = Math.round(Math.max(300, Math.min(900, main.clientWidth - 40))), H = W < 600 ? 200 : 240, L = 70, R = 12, T = 12, B = 28;
  const now = Math.max(Date.now(), ...series.flatMap(s => s.points.map(p => p[0])));
  const first = Math.min(now, ...series.flatMap(s => s.points.map(p => p[0])));
  spanMs = Math.min(spanMs, Math.max(minSpanMs, now - first));
  const from = now - spanMs;
  const max = Math.max(1, ...series.flatMap(s => s.points.map(p => p[1])));
  const x = t => L + (W - L - R) * (t - from) / spanMs;
  const y = v => T + (H - T - B) * (1 - v / max);
  const grid = [];
  for (let i = 0; i <= 4; i++) {
    const v = max * i / 4;
    grid.push(h('line', { x1: L, x2: W - R, y1: y(v), y2: y(v) }));
    grid.push(h('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end' }, formatValue(v)));
  }
  const ticks = W < 600 ? 2 : 4;
  for (let i = 0; i <= ticks; i++) {
    const t = from + spanMs * i / ticks;
    grid.push(h('text', { x: x(t), y: H - 8, 'text-anchor': i === 0 ? 'start' : i === ticks ? 'end' : 'middle' }, new Date(t).toISOString().slice(11, 19)));
  }
  const colors = ['#0b5cad', '#d1242f', '#1a7f37'];
  const lines = series.map((s, i) => {
    const pts = s.points.filter(p => p[0] >= from);
    if (pts.length === 0) return null;
    const d = pts.map((p, j) => (j === 0 ? 'M' : 'L') + x(p[0]).toFixed(1) + ' ' + y(p[1]).toFixed(1)).join(' ');
    return h('path', { d, fill: 'none', stroke: colors[i % colors.length], 'stroke-width': 2 });
  });
  const latest = series.map(s => s.name + ' ' + (s.points.length ? formatValue(s.points[s.points.length - 1][1]) : 'no data')).join(', ');
  return h('figure', { class: 'panel' },
    h('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `${label}. Latest: ${latest}.` },
      h('title', {}, label),
      h('g', { class: 'grid' }, grid),
      lines),
    h('figcaption', {}, h('ul', { class: 'legend' }, series.map((s, i) => h('li', {}, h('span', { class: 'swatch-' + (i % 3), 'aria-hidden': 'true' }), s.name)))));
}

// ---- pages ----

async function overview(token) {
  const [cluster, throughput] = await Promise.all([api('cluster'), api('throughput')]);
  if (token !== renderToken) return;
  document.getElementById('cluster-id').textContent = 'cluster ' + cluster.clusterId;
  const card = (label, value, bad, id) => h('div', { class: 'card' + (bad ? ' bad' : '') }, h('dt', {}, label), h('dd', { id }, value));
  const samples = throughput.samples;
  page('Cluster overview',
    h('dl', { class: 'cards' },
      card('Brokers', num(cluster.brokers.length), false, 'stat-brokers'),
      card('Controller', cluster.controllerId >= 0 ? 'node ' + cluster.controllerId : 'none', cluster.controllerId < 0, 'stat-controller'),
      card('Topics', num(cluster.topicCount), false, 'stat-topics'),
      card('Partitions', num(cluster.partitionCount), false, 'stat-partitions'),
      card('Under-replicated', num(cluster.underReplicated), cluster.underReplicated > 0, 'stat-urp'),
      card('Offline', num(cluster.offline), cluster.offline > 0, 'stat-offline'),
      card('Consumer groups', num(cluster.groupCount), false, 'stat-groups')),
    h('h2', {}, 'Throughput of this broker (node ' + cluster.nodeId + ')'),
    lineChart('Bytes per second in (produced) and out (consumed), up to the last 5 minutes',
      [{ name: 'Bytes in/s', points: samples.map(s => [s.time, s.bytesIn]) },
       { name: 'Bytes out/s', points: samples.map(s => [s.time, s.bytesOut]) }], 5 * 60 * 1000, v => bytes(v), 60 * 1000),
    lineChart('Messages produced per second, up to the last hour',
      [{ name: 'Messages in/s', points: samples.map(s => [s.time, s.messagesIn]) }], 60 * 60 * 1000, v => num(Math.round(v)), 60 * 1000),
    h('h2', {}, 'Brokers'),
    table('Brokers of the cluster', [
      ['Node', b => String(b.id) + (b.id === cluster.controllerId ? ' (controller)' : '')],
      ['Endpoints', b => b.endpoints.join(', ')],
      ['Rack', b => b.rack || '–'],
      ['State', b => badge(b.state)],
      ['Leaders', b => num(b.leaders), true],
      ['Replicas', b => num(b.replicas), true],
    ], cluster.brokers, 'brokers'));
}

function topicLink(name) { return h('a', { href: '#/topics/' + encodeURIComponent(name) }, name); }

async function topics(token) {
  const list = await api('topics');
  if (token !== renderToken) return;
  const configs = h('textarea', { id: 'new-topic-configs', name: 'configs', rows: 3, placeholder: 'cleanup.policy=compact\nretention.ms=86400000', 'aria-describedby': 'configs-hint' });
  const form = h('form', { class: 'grid panel', id: 'create-topic', 'aria-labelledby': 'create-heading' },
    h('div', {}, h('label', { for: 'new-topic-name' }, 'Topic name'), h('input', { id: 'new-topic-name', name: 'name', required: true, pattern: '[a-zA-Z0-9._\\-]+', maxlength: 249, autocomplete: 'off' })),
    h('div', {}, h('label', { for: 'new-topic-partitions' }, 'Partitions'), h('input', { id: 'new-topic-partitions', name: 'partitions', type: 'number', min: 1, value: 1, required: true })),
    h('div', {}, h('label', { for: 'new-topic-rf' }, 'Replication factor'), h('input', { id: 'new-topic-rf', name: 'replicationFactor', type: 'number', min: 1, value: 1, required: true })),
    h('div', { class: 'wide' }, h('label', { for: 'new-topic-configs' }, 'Topic configs'), configs,
      h('p', { class: 'hint', id: 'configs-hint' }, 'One key=value per line; leave empty for the broker defaults.')),
    h('div', {}, h('button', { type: 'submit' }, 'Create topic')),
    h('p', { id: 'create-result', class: 'wide', role: 'alert' }));
  form.addEventListener('submit', async event => {
    event.preventDefault();
    const data = new FormData(form);
    const entries = {};
    for (const line of String(data.get('configs')).split('\n').map(l => l.trim()).filter(Boolean)) {
      const eq = line.indexOf('=');
      if (eq <= 0) { document.getElementById('create-result').textContent = 'Config lines are key=value: ' + line; return; }
      entries[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
    }
    const name = String(data.get('name')).trim();
    try {
      await api('topics', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Samsa-Console': '1' },
        body: JSON.stringify({ name, partitions: Number(data.get('partitions')), replicationFactor: Number(data.get('replicationFactor')), configs: entries }),
      });
      say('Created topic ' + name);
      location.hash = '#/topics/' + encodeURIComponent(name);
    } catch (e) {
      document.getElementById('create-result').textContent = 'Not created: ' + e.message;
      document.getElementById('create-result').className = 'wide error-text';
    }
  });
  page('Topics',
    table('Topics (' + list.length + ')', [
      ['Name', t => topicLink(t.name)],
      ['Partitions', t => num(t.partitions), true],
      ['Replication', t => num(t.replicationFactor), true],
      ['Under-replicated', t => num(t.underReplicated), true],
      ['Messages', t => num(t.messages), true],
      ['Size', t => bytes(t.sizeBytes), true],
      ['Browse', t => h('a', { href: '#/messages?topic=' + encodeURIComponent(t.name), 'aria-label': 'Browse messages of ' + t.name }, 'Messages')],
    ], list, 'topics'),
    h('h2', { id: 'create-heading' }, 'Create a topic'),
    form);
}

async function topic(token, name) {
  const t = await api('topics/' + encodeURIComponent(name));
  if (token !== renderToken) return;
  const set = t.configs.filter(c => !c.isDefault);
  page('Topic ' + t.name,
    h('p', {}, 'Id ', h('code', {}, t.id), ' · replication factor ' + t.replicationFactor + (t.internal ? ' · internal' : ''), ' · ',
      h('a', { href: '#/messages?topic=' + encodeURIComponent(t.name) }, 'Browse messages')),
    table('Partitions', [
      ['Partition', p => String(p.partition), true],
      ['Leader', p => p.leader >= 0 ? String(p.leader) : 'none (offline)'],
      ['Replicas', p => p.replicas.join(', ')],
      ['In-sync replicas', p => p.isr.join(', ') + (p.underReplicated ? ' (under-replicated)' : '')],
      ['Log start', p => num(p.logStartOffset), true],
      ['High watermark', p => num(p.highWatermark), true],
      ['Size', p => bytes(p.sizeBytes), true],
    ], t.partitions, 'partitions'),
    h('h2', {}, 'Configs'),
    h('p', { class: 'hint' }, set.length + ' set on the topic; the rest are defaults (shown dimmed).'),
    table('Topic configs', [
      ['Name', c => c.name],
      ['Value', c => c.value === null ? '(sensitive)' : c.value],
      ['Source', c => c.source],
    ], [...set, ...t.configs.filter(c => c.isDefault).map(c => ({ ...c, __class: 'default' }))], 'configs'));
}

function decode(b64) {
  const raw = atob(b64);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

function renderBytes(field, format) {
  if (field === null) return h('span', { class: 'muted' }, 'null');
  const data = decode(field.base64);
  let text;
  if (format === 'hex') {
    text = Array.from(data, b => b.toString(16).padStart(2, '0')).join(' ');
  } else {
    text = new TextDecoder('utf-8').decode(data);
    if (format === 'json') {
      // Not JSON: shown as the text it is.
      try { text = JSON.stringify(JSON.parse(text), null, 2); } catch { /* text */ }
    }
  }
  const cut = field.length > data.length ? `\n(${num(field.length)} bytes, first ${num(data.length)} shown)` : '';
  return h('pre', { class: 'data' }, text + cut);
}

async function messages(token, params) {
  const list = await api('topics');
  if (token !== renderToken) return;
  const topicName = params.get('topic') || (list.find(t => !t.internal) || list[0] || {}).name || '';
  const mode = params.get('from') || 'latest';
  const format = params.get('format') || 'text';
  const option = (value, label, selected) => h('option', { value, selected: selected ? true : null }, label);
  const form = h('form', { class: 'grid panel', id: 'browse' },
    h('div', {}, h('label', { for: 'browse-topic' }, 'Topic'),
      h('select', { id: 'browse-topic', name: 'topic' }, list.map(t => option(t.name, t.name, t.name === topicName)))),
    h('div', {}, h('label', { for: 'browse-partition' }, 'Partition'), h('input', { id: 'browse-partition', name: 'partition', type: 'number', min: 0, value: params.get('partition') || 0 })),
    h('div', {}, h('label', { for: 'browse-from' }, 'Start at'),
      h('select', { id: 'browse-from', name: 'from' },
        option('latest', 'Latest messages', mode === 'latest'), option('offset', 'Offset', mode === 'offset'), option('timestamp', 'Time (UTC)', mode === 'timestamp'))),
    h('div', {}, h('label', { for: 'browse-position' }, 'Offset or time'),
      h('input', { id: 'browse-position', name: 'position', value: params.get('position') || '', placeholder: '0 or 2026-01-31T12:00:00Z', 'aria-describedby': 'position-hint' })),
    h('div', {}, h('label', { for: 'browse-limit' }, 'How many'), h('input', { id: 'browse-limit', name: 'limit', type: 'number', min: 1, max: 500, value: params.get('limit') || 50 })),
    h('div', {}, h('label', { for: 'browse-format' }, 'Show as'),
      h('select', { id: 'browse-format', name: 'format' }, option('text', 'Text', format === 'text'), option('json', 'JSON', format === 'json'), option('hex', 'Hex', format === 'hex'))),
    h('div', {}, h('button', { type: 'submit' }, 'Show messages')),
    h('p', { class: 'hint wide', id: 'position-hint' }, 'With "Latest messages" the offset is ignored; a time finds the first message at or after it.'));
  form.addEventListener('submit', event => {
    event.preventDefault();
    const q = new URLSearchParams(new FormData(form));
    location.hash = '#/messages?' + q.toString();
  });
  const results = h('div', { id: 'messages-result' });
  page('Message browser', form, results);
  if (!topicName) return;
  const q = new URLSearchParams({ partition: params.get('partition') || '0', limit: params.get('limit') || '50' });
  const position = (params.get('position') || '').trim();
  if (mode === 'offset' && position) q.set('offset', position);
  if (mode === 'timestamp' && position) {
    const ms = /^\d+$/.test(position) ? Number(position) : Date.parse(position);
    if (Number.isNaN(ms)) { results.replaceChildren(h('p', { class: 'error-text', role: 'alert' }, 'Not a time: ' + position)); return; }
    q.set('timestamp', String(ms));
  }
  const answer = await api('topics/' + encodeURIComponent(topicName) + '/messages?' + q.toString());
  if (token !== renderToken) return;
  if (answer.error) { results.replaceChildren(h('p', { class: 'error-text', role: 'alert' }, answer.error)); return; }
  results.replaceChildren(
    h('p', {}, `Partition ${answer.partition}: offsets ${num(answer.logStartOffset)} to ${num(answer.highWatermark)} (high watermark); showing ${answer.messages.length} from offset ${num(answer.startOffset)}.`),
    table('Messages of ' + topicName, [
      ['Offset', m => String(m.offset), true],
      ['Timestamp', m => time(m.timestamp)],
      ['Key', m => renderBytes(m.key, format)],
      ['Value', m => renderBytes(m.value, format)],
      ['Headers', m => m.headers.length === 0 ? '–' : h('ul', {}, m.headers.map(hd => h('li', {}, hd.key + ': ', renderBytes(hd.value, format === 'hex' ? 'hex' : 'text'))))],
    ], answer.messages, 'messages'),
    answer.nextOffset < answer.highWatermark
      ? h('p', {}, h('a', { href: '#/messages?' + new URLSearchParams({ topic: topicName, partition: answer.partition, from: 'offset', position: answer.nextOffset, limit: params.get('limit') || 50, format }).toString() }, 'Next page from offset ' + answer.nextOffset))
      : '');
}

async function groups(token) {
  const list = await api('groups');
  if (token !== renderToken) return;
  page('Consumer groups',
    table('Consumer groups (' + list.length + ')', [
      ['Group', g => h('a', { href: '#/groups/' + encodeURIComponent(g.groupId) }, g.groupId)],
      ['State', g => badge(g.state)],
      ['Type', g => g.type || '–'],
      ['Total lag', g => num(g.totalLag), true],
      ['Lag status', g => badge(g.status)],
    ], list, 'groups'));
}

async function group(token, id) {
  const g = await api('groups/' + encodeURIComponent(id));
  if (token !== renderToken) return;
  page('Group ' + g.groupId,
    h('dl', { class: 'cards' },
      h('div', { class: 'card' }, h('dt', {}, 'State'), h('dd', { id: 'group-state' }, g.state)),
      h('div', { class: 'card' }, h('dt', {}, 'Members'), h('dd', { id: 'group-members' }, num(g.members.length))),
      h('div', { class: 'card' + (g.totalLag > 0 ? ' bad' : '') }, h('dt', {}, 'Total lag'), h('dd', { id: 'group-total-lag' }, num(g.totalLag))),
      h('div', { class: 'card' }, h('dt', {}, 'Lag status'), h('dd', { id: 'group-status' }, g.status || '–'))),
    h('h2', {}, 'Lag over the last hour'),
    lineChart('Total lag of ' + g.groupId + ' in records, up to the last hour', [{ name: 'Total lag', points: g.history }], 60 * 60 * 1000, v => num(Math.round(v)), 60 * 1000),
    table('Lag by partition', [
      ['Topic', p => topicLink(p.topic)],
      ['Partition', p => String(p.partition), true],
      ['Committed', p => num(p.committedOffset), true],
      ['Log end', p => num(p.logEndOffset), true],
      ['Lag', p => num(p.lag), true],
      ['Status', p => badge(p.status)],
    ], g.partitions, 'group-lag'),
    h('h2', {}, 'Members'),
    table('Members and assignments', [
      ['Member', m => m.memberId],
      ['Client', m => m.clientId + ' @ ' + m.clientHost],
      ['Assignment', m => m.assignment.length === 0 ? '–' : m.assignment.map(a => a.topic + ' [' + a.partitions.join(', ') + ']').join('; ')],
    ], g.members, 'group-members-table'));
}

// ---- routing ----

const routes = [
  [/^#?\/?$/, 'overview', (t) => overview(t), true],
  [/^#\/topics$/, 'topics', (t) => topics(t), false],
  [/^#\/topics\/(.+)$/, 'topics', (t, m) => topic(t, decodeURIComponent(m[1])), true],
  [/^#\/messages(?:\?(.*))?$/, 'messages', (t, m) => messages(t, new URLSearchParams(m[1] || '')), false],
  [/^#\/groups$/, 'groups', (t) => groups(t), true],
  [/^#\/groups\/(.+)$/, 'groups', (t, m) => group(t, decodeURIComponent(m[1])), true],
];

async function render(isRefresh) {
  clearTimeout(refreshTimer);
  const token = ++renderToken;
  const hash = location.hash || '#/';
  const route = routes.find(([re]) => re.test(hash)) || routes[0];
  const match = hash.match(route[0]) || [];
  for (const a of document.querySelectorAll('nav a')) {
    if (a.dataset.section === route[1]) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  // A refresh rebuilds the page: keyboard focus goes back to the element it was on (same id, or link to the same place).
  const active = document.activeElement;
  const focusKey = active && active !== main && main.contains(active)
    ? (active.id ? '#' + CSS.escape(active.id) : active.getAttribute('href') ? `a[href="${CSS.escape(active.getAttribute('href'))}"]` : null)
    : null;
  try {
    await route[2](token, match);
    if (!isRefresh && token === renderToken) { window.scrollTo(0, 0); main.focus({ preventScroll: true }); }
    if (isRefresh && focusKey && token === renderToken) main.querySelector(focusKey)?.focus({ preventScroll: true });
  } catch (e) {
    if (token === renderToken) page('Error', h('p', { class: 'error-text', role: 'alert' }, e.message));
  }
  // Pages that show live state refresh themselves; pages with forms wait for the user.
  if (route[3] && token === renderToken) refreshTimer = setTimeout(() => render(true), 2000);
}

// The skip link moves focus without touching the hash, which holds the route.
document.querySelector('.skip').addEventListener('click', event => { event.preventDefault(); main.focus(); });
window.addEventListener('hashchange', () => render(false));
render(false);
