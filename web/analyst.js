// The analyst's part of the page (docs/DESIGN.md, "Dashboard HTTP API"): the review queue of
// open fraud alerts on the overview, and the entity view at /entity/<kind>/<id> (score per
// minute, why, recent events, the neighbourhood graph, review history and verdict buttons).
// Loaded after app.js, whose helpers ($, text, num, isObject, windowOf) it uses. Text from
// the server only reaches the page through textContent, the charts' canvas or the graph's
// canvas, never as HTML.
//
// Verdicts need the dashboard's write token when it has one: open the page once as
// /#write_token=<token>; the page keeps it in this tab's sessionStorage (never in a cookie,
// so it is sent only as "Authorization: Bearer" on POST /reviews) and drops it from the
// address bar.
'use strict';

const WRITE_TOKEN_KEY = 'pfad_write_token';
const ENTITY_PATH = /^\/entity\/(user|session)\/([^/]+)$/;
const FLAGGED = '#d6453d';
const NODE_COLORS = { user: '#7b4fd6', session: '#e08a1e', product: '#9aa3b5' };

// A write token in the address (/#write_token=…) moves into sessionStorage.
function takeWriteToken() {
  const m = location.hash.match(/(?:^#|&)write_token=([^&]*)/);
  if (!m) return false;
  sessionStorage.setItem(WRITE_TOKEN_KEY, decodeURIComponent(m[1]));
  return true;
}

const utc = (ms) => (num(ms) === null ? '–' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19));
const score3 = (v) => (num(v) === null ? '–' : v.toFixed(3));
const entityHref = (kind, id) => `/entity/${encodeURIComponent(kind)}/${encodeURIComponent(id)}`;

function cell(tr, value, className = '') {
  const td = document.createElement('td');
  td.className = className;
  td.textContent = value;
  tr.appendChild(td);
  return td;
}

function showMessage(el, message, ok = false) {
  el.hidden = !message;
  el.textContent = message || '';
  el.className = ok ? 'message ok' : 'message';
}

// POST /reviews; resolves to the stored review, rejects with a message for people.
async function sendVerdict(kind, id, verdict, note) {
  const headers = { 'Content-Type': 'application/json' };
  const token = sessionStorage.getItem(WRITE_TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  const body = { entity_kind: kind, entity_id: id, verdict };
  if (note) body.note = note;
  const res = await fetch('/reviews', { method: 'POST', headers, body: JSON.stringify(body) });
  if (res.status === 401) {
    throw new Error(token
      ? 'The write token this page holds was refused: open the page as /#write_token=<token> with the right one.'
      : 'Recording a verdict needs the dashboard\'s write token: open the page as /#write_token=<token>.');
  }
  let answer = null;
  try { answer = await res.json(); } catch { /* no body */ }
  if (!res.ok) throw new Error(`The verdict was not recorded: ${(answer && answer.detail) || `HTTP ${res.status}`}`);
  return answer;
}

// Two buttons and a note field that send a verdict on one entity; `done(review)` after it is stored.
function verdictControls(kind, id, messageEl, done) {
  const wrap = document.createElement('span');
  const note = document.createElement('input');
  note.className = 'note';
  note.placeholder = 'note (optional)';
  note.maxLength = 2000;
  note.setAttribute('aria-label', 'note');
  wrap.appendChild(note);
  for (const [verdict, label] of [['fraud', 'Fraud'], ['not_fraud', 'Not fraud']]) {
    const b = document.createElement('button');
    b.className = verdict === 'fraud' ? 'verdict fraud' : 'verdict';
    b.textContent = label;
    b.dataset.verdict = verdict;
    b.addEventListener('click', async () => {
      wrap.querySelectorAll('button').forEach((x) => { x.disabled = true; });
      try {
        done(await sendVerdict(kind, id, verdict, note.value.trim()));
      } catch (err) {
        showMessage(messageEl, err.message);
        wrap.querySelectorAll('button').forEach((x) => { x.disabled = false; });
      }
    });
    wrap.append(' ', b);
  }
  return wrap;
}

// ---- The review queue (overview) ----

async function refreshQueue() {
  const res = await fetch('/alerts?limit=200');
  if (!res.ok) return;
  const { alerts } = await res.json();
  const message = $('queue-message');
  const rows = alerts.filter(isObject).map((a) => {
    const tr = document.createElement('tr');
    tr.dataset.entity = `${a.entity_kind}:${a.entity_id}`;
    cell(tr, score3(a.fraud_score), 'score');
    cell(tr, text(a.entity_kind), 'kind');
    const link = document.createElement('a');
    link.className = 'entity';
    link.href = entityHref(a.entity_kind, a.entity_id);
    link.textContent = text(a.entity_id);
    cell(tr, '', 'id').appendChild(link);
    cell(tr, text(a.reason));
    cell(tr, windowOf(text(a.minute)));
    cell(tr, '', 'actions').appendChild(verdictControls(a.entity_kind, a.entity_id, message, (review) => {
      tr.remove();
      showMessage(message, `Recorded: ${review.entity_kind} ${review.entity_id} is ${review.verdict === 'fraud'
        ? 'fraud' : 'not fraud'}.`, true);
      if (!$('alerts').tBodies[0].rows.length) refreshQueue();
    }));
    return tr;
  });
  if (!rows.length) {
    const tr = document.createElement('tr');
    cell(tr, 'No open alerts.').colSpan = 6;
    rows.push(tr);
  }
  $('alerts').tBodies[0].replaceChildren(...rows);
}

// ---- The model registry (overview): `pfad fraud retrain --dashboard` posts each record ----

async function refreshModels() {
  const res = await fetch('/models');
  if (!res.ok) return;
  const { models } = await res.json();
  const rows = models.filter(isObject).map((m) => {
    const tr = document.createElement('tr');
    const pr = isObject(m.pr_auc) ? m.pr_auc : {};
    const precision = isObject(m.alert_precision) ? m.alert_precision : {};
    const holdout = isObject(m.holdout) ? m.holdout : {};
    cell(tr, `v${text(m.version)}`);
    cell(tr, utc(m.created_ms));
    cell(tr, text(m.model));
    cell(tr, `${text(holdout.first)} to ${text(holdout.last)}`);
    cell(tr, score3(pr.challenger), 'score');
    cell(tr, score3(pr.champion), 'score');
    cell(tr, `${score3(precision.challenger)} / ${score3(precision.champion)}`, 'score');
    cell(tr, m.promoted ? 'yes' : 'no', m.promoted ? 'promoted' : '');
    cell(tr, text(m.reason));
    return tr;
  });
  $('models-card').hidden = rows.length === 0;
  $('models').tBodies[0].replaceChildren(...rows);
}

// ---- The entity view ----

let entityChart;
let entityThreshold = null;  // the latest investigation's threshold, drawn across the chart
const thresholdLine = {
  id: 'entityThreshold',
  afterDatasetsDraw(chart) {
    if (entityThreshold === null) return;
    const { ctx, chartArea, scales: { y } } = chart;
    const py = y.getPixelForValue(entityThreshold);
    ctx.save();
    ctx.strokeStyle = ctx.fillStyle = '#1d2330';
    ctx.setLineDash([6, 4]);
    ctx.beginPath();
    ctx.moveTo(chartArea.left, py);
    ctx.lineTo(chartArea.right, py);
    ctx.stroke();
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillText(`threshold ${entityThreshold}`, chartArea.left + 6, py - 4);
    ctx.restore();
  },
};
window.pfadGraph = null;  // the Cytoscape instance (tests read its nodes)

function drawScores(scores, threshold) {
  entityThreshold = num(threshold);
  const labels = scores.map((p) => windowOf(text(p.minute)));
  const data = {
    labels,
    datasets: [
      { label: 'fraud score', data: scores.map((p) => num(p.fraud_score)), borderColor: FLAGGED,
        pointBackgroundColor: scores.map((p) => (p.is_fraud === true ? FLAGGED : '#3a6fd8')), spanGaps: false },
      { label: 'threshold', data: scores.map((p) => num(p.threshold)), borderColor: '#1d2330', borderDash: [6, 4],
        pointRadius: 0, borderWidth: 1.5 },
    ],
  };
  if (entityChart) {
    entityChart.data = data;
    entityChart.update();
    return;
  }
  entityChart = new Chart($('entity-scores'), {
    type: 'line', data,
    options: { animation: false, responsive: true, scales: { y: { min: 0, max: 1, title: { display: true, text: 'score' } } } },
    plugins: [thresholdLine],
  });
}

function drawWhy(why) {
  const items = (Array.isArray(why) ? why : []).filter(isObject).map((w) => {
    const li = document.createElement('li');
    li.textContent = text(w.text) || `${text(w.feature)} = ${text(w.value)}`;
    const parts = [];
    if (w.feature !== undefined) parts.push(text(w.feature));
    if (num(w.value) !== null) parts.push(`value ${+w.value.toPrecision(4)}`);
    if (num(w.median) !== null) parts.push(`median ${+w.median.toPrecision(4)}`);
    if (num(w.percentile) !== null) parts.push(`percentile ${w.percentile}`);
    if (parts.length) {
      const d = document.createElement('div');
      d.className = 'detail';
      d.textContent = parts.join(' · ');
      li.appendChild(d);
    }
    return li;
  });
  if (!items.length) {
    const li = document.createElement('li');
    li.textContent = 'No reasons given.';
    items.push(li);
  }
  $('entity-why').replaceChildren(...items);
}

function drawEvents(events) {
  const rows = (Array.isArray(events) ? events : []).filter(isObject).map((e) => {
    const tr = document.createElement('tr');
    cell(tr, utc(e.ts_ms));
    cell(tr, text(e.event_type));
    const status = cell(tr, '');
    const flag = document.createElement('span');
    flag.className = e.status === 'ERROR' ? 'flag yes' : 'flag';
    flag.textContent = text(e.status) || '–';
    status.appendChild(flag);
    cell(tr, text(e.error_code));
    for (const key of ['product_id', 'session_id', 'user_id']) cell(tr, text(e[key]), 'id');
    return tr;
  });
  if (!rows.length) {
    const tr = document.createElement('tr');
    cell(tr, 'No events in the window.').colSpan = 7;
    rows.push(tr);
  }
  $('entity-events').tBodies[0].replaceChildren(...rows);
}

// The neighbourhood: flagged nodes red, others by kind, this entity outlined; products are
// squares. A ring shows as flagged nodes tied through shared products and users.
function drawGraph(neighbours) {
  const n = isObject(neighbours) ? neighbours : {};
  const nodes = (Array.isArray(n.nodes) ? n.nodes : []).filter((v) => isObject(v) && v.key !== undefined);
  const keys = new Set(nodes.map((v) => String(v.key)));
  const links = (Array.isArray(n.links) ? n.links : [])
    .filter((l) => isObject(l) && keys.has(String(l.source)) && keys.has(String(l.target)));
  const elements = [
    ...nodes.map((v) => ({ data: {
      id: String(v.key), label: `${text(v.kind)} ${text(v.id).slice(0, 8)}`,
      color: v.is_fraud === true ? FLAGGED : (NODE_COLORS[v.kind] || '#9aa3b5'),
      shape: v.kind === 'product' ? 'round-rectangle' : 'ellipse',
      size: v.center === true ? 46 : 30, border: v.center === true ? 5 : 0,
    } })),
    ...links.map((l, i) => ({ data: {
      id: `link${i}`, source: String(l.source), target: String(l.target),
      width: Math.min(1 + Math.log2(1 + (num(l.weight) ?? 1)), 8),
    } })),
  ];
  if (window.pfadGraph) window.pfadGraph.destroy();
  const cy = cytoscape({
    container: $('entity-graph'),
    elements,
    style: [
      { selector: 'node', style: { 'background-color': 'data(color)', shape: 'data(shape)', width: 'data(size)',
        height: 'data(size)', label: 'data(label)', 'font-size': 10, color: '#1d2330', 'text-valign': 'bottom',
        'text-margin-y': 4, 'border-width': 'data(border)', 'border-color': '#1d2330' } },
      { selector: 'edge', style: { width: 'data(width)', 'line-color': '#c3c9d4', 'curve-style': 'bezier' } },
    ],
    layout: { name: 'cose', animate: false, randomize: false, nodeRepulsion: () => 8000, idealEdgeLength: () => 90 },
    wheelSensitivity: 0.3,
  });
  cy.on('tap', 'node', (e) => {
    const [kind, ...rest] = e.target.id().split(':');
    if (kind === 'user' || kind === 'session') location.href = entityHref(kind, rest.join(':'));
  });
  window.pfadGraph = cy;
  $('entity-graph').dataset.nodes = String(cy.nodes().length);
  $('entity-graph').dataset.flagged = String(nodes.filter((v) => v.is_fraud === true).length);
}

function drawReviews(reviews) {
  const rows = reviews.filter(isObject).map((r) => {
    const tr = document.createElement('tr');
    cell(tr, text(r.id));
    cell(tr, utc(r.reviewed_ms));
    const flag = document.createElement('span');
    flag.className = r.verdict === 'fraud' ? 'flag yes' : 'flag';
    flag.textContent = r.verdict === 'fraud' ? 'fraud' : 'not fraud';
    cell(tr, '').appendChild(flag);
    cell(tr, text(r.note));
    cell(tr, windowOf(text(r.minute)));
    return tr;
  });
  if (!rows.length) {
    const tr = document.createElement('tr');
    cell(tr, 'Not reviewed yet.').colSpan = 5;
    rows.push(tr);
  }
  $('entity-reviews').tBodies[0].replaceChildren(...rows);
  const latest = reviews[0];
  $('entity-verdict').textContent = latest ? (latest.verdict === 'fraud' ? 'fraud' : 'not fraud') : '–';
}

// Loads and shows one entity; false when the page has no access (read token).
async function showEntity(kind, id) {
  const res = await fetch(`/entities/${encodeURIComponent(kind)}/${encodeURIComponent(id)}`);
  if (res.status === 401) return false;
  $('entity-title').textContent = id.length > 13 ? `${id.slice(0, 13)}…` : id;
  $('entity-title').title = id;
  $('entity-kind').textContent = kind;
  if (!res.ok) {
    showMessage($('entity-message'), res.status === 404
      ? `No investigation or review of ${kind} ${id} is kept (investigations are kept for the retention window).`
      : `The entity could not be loaded (HTTP ${res.status}).`);
    $('entity-actions').hidden = true;
    return true;
  }
  const c = await res.json();
  const inv = isObject(c.investigation) ? c.investigation : {};
  $('entity-score').textContent = score3(inv.fraud_score);
  const caption = [];
  if (inv.minute !== undefined) caption.push(`minute ${windowOf(text(inv.minute))}`);
  if (inv.model !== undefined) caption.push(`model ${text(inv.model)}`);
  if (num(inv.threshold) !== null) caption.push(`threshold ${inv.threshold}`);
  if (num(inv.first_ms) !== null) caption.push(`events ${utc(inv.first_ms)} – ${utc(inv.last_ms)} UTC`);
  if (inv.is_fraud === true) caption.push('flagged');
  $('entity-caption').textContent = caption.join(' · ') || 'No investigation is kept; only its reviews.';
  $('entity-actions').hidden = !isObject(c.investigation);
  drawScores(Array.isArray(c.scores) ? c.scores.filter(isObject) : [], inv.threshold);
  drawWhy(inv.why);
  drawEvents(Array.isArray(c.events) && c.events.length ? c.events : inv.events);
  drawGraph(inv.neighbours);
  drawReviews(Array.isArray(c.reviews) ? c.reviews : []);
  return true;
}

function entityRoute() {
  const m = ENTITY_PATH.exec(location.pathname);
  return m ? { kind: m[1], id: decodeURIComponent(m[2]) } : null;
}

// The entity page: wires its verdict buttons and follows new reports and reviews.
async function startEntity(route) {
  $('overview').hidden = true;
  $('entity-view').hidden = false;
  document.title = `PFAD — ${route.kind} ${route.id}`;
  const message = $('entity-message');
  for (const [button, verdict] of [['entity-fraud', 'fraud'], ['entity-not-fraud', 'not_fraud']]) {
    $(button).addEventListener('click', async () => {
      try {
        const review = await sendVerdict(route.kind, route.id, verdict, $('entity-note').value.trim());
        $('entity-note').value = '';
        showMessage(message, `Recorded: ${review.verdict === 'fraud' ? 'fraud' : 'not fraud'} (review ${review.id}).`, true);
        await showEntity(route.kind, route.id);
      } catch (err) {
        showMessage(message, err.message);
      }
    });
  }
  return showEntity(route.kind, route.id);
}
