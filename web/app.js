// The dashboard page: the latest report as a grouped bar chart with totals, the last hour
// as a trend, the pipeline-health row (pipeline.js), the review queue and entity view (analyst.js), and the reports' fraud section (docs/DESIGN.md, "The report's fraud object") as panels, updated from the
// server's push stream (/events) as soon as a report arrives. Text from reports only ever
// reaches the page through textContent or the charts' canvas, never as HTML.
'use strict';

const $ = (id) => document.getElementById(id);

// "2025-01-15_10-00.json" -> "2025/01/15 10:00"
function windowOf(fileName) {
  const m = /^(\d{4})-(\d{2})-(\d{2})_(\d{2})-(\d{2})/.exec(fileName || '');
  return m ? `${m[1]}/${m[2]}/${m[3]} ${m[4]}:${m[5]}` : (fileName || '–');
}

// Value labels above each bar.
const labelsAbove = (font, format = String) => ({
  id: 'valueLabels',
  afterDatasetsDraw(chart) {
    const { ctx } = chart;
    ctx.save();
    ctx.font = font;
    ctx.fillStyle = '#1d2330';
    ctx.textAlign = 'center';
    chart.data.datasets.forEach((ds, i) => {
      chart.getDatasetMeta(i).data.forEach((bar, j) => ctx.fillText(format(ds.data[j]), bar.x, bar.y - 4));
    });
    ctx.restore();
  },
});
const valueLabels = labelsAbove('12px system-ui, sans-serif');

const bars = new Chart($('bars'), {
  type: 'bar',
  data: { labels: [], datasets: [
    { label: 'SUCCESS', data: [], backgroundColor: '#2f9e6e' },
    { label: 'ERROR', data: [], backgroundColor: '#d6453d' },
  ] },
  options: { animation: false, responsive: true, layout: { padding: { top: 18 } }, scales: { y: { beginAtZero: true } } },
  plugins: [valueLabels],
});

const trend = new Chart($('trend'), {
  type: 'line',
  data: { labels: [], datasets: [
    { label: 'events', data: [], borderColor: '#3a6fd8', yAxisID: 'y' },
    { label: 'error rate %', data: [], borderColor: '#d6453d', yAxisID: 'y1' },
  ] },
  options: { animation: false, responsive: true, scales: {
    y: { beginAtZero: true, position: 'left' },
    y1: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false } },
  } },
});

// ---- Fraud panels: the latest report's `fraud` section (status "scored" or "not_run")
// and the flagged counts of the last hour. Reports may lack the section (reference
// clients) or carry one this page does not understand: both leave a plain notice.

const KINDS = ['user', 'session'];
const KIND_COLORS = { user: '#7b4fd6', session: '#e08a1e' };
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const count = (v) => (num(v) === null ? '–' : v.toLocaleString('en'));
const text = (v) => (v === undefined || v === null ? '' : String(v));
const isScored = (fraud) => isObject(fraud) && fraud.status === 'scored';

// "2026-12-02_10-01" .. "2026-12-02_10-07" -> "2026/12/02 10:01–10:07"
function minuteRange(first, last) {
  const a = windowOf(text(first));
  const b = windowOf(text(last));
  return a.slice(0, 11) === b.slice(0, 11) ? `${a}–${b.slice(11)}` : `${a} – ${b}`;
}

// The thresholds as dashed vertical lines over the histogram's bins.
let histThresholds = [];  // [{ value, label, color }]
const thresholdLines = {
  id: 'thresholdLines',
  afterDatasetsDraw(chart) {
    const { ctx, chartArea, scales: { x } } = chart;
    const bins = chart.data.labels.length;
    if (!bins) return;
    ctx.save();
    ctx.font = '11px system-ui, sans-serif';
    ctx.setLineDash([5, 4]);
    histThresholds.forEach((t, i) => {
      const px = x.getPixelForValue(t.value * bins - 0.5);
      ctx.strokeStyle = ctx.fillStyle = t.color;
      ctx.beginPath();
      ctx.moveTo(px, chartArea.top);
      ctx.lineTo(px, chartArea.bottom);
      ctx.stroke();
      ctx.fillText(t.label, px + 4, chartArea.top + 12 + 14 * i);
    });
    ctx.restore();
  },
};

const fraudTrend = new Chart($('fraud-trend'), {
  type: 'line',
  data: { labels: [], datasets: KINDS.map((k) => ({
    label: `flagged ${k}s`, data: [], borderColor: KIND_COLORS[k], backgroundColor: KIND_COLORS[k], spanGaps: false,
  })) },
  options: { animation: false, responsive: true, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
});

// 1146 -> "1.1K", so that neighbouring bars' labels fit (the tooltip has the exact count).
const compact = (v) => new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 }).format(v);

// Log scale: most entities score in the lowest bin. The axis starts at 0.5 so that a bin
// of one still shows a bar; only powers of ten are labelled.
const fraudHist = new Chart($('fraud-hist'), {
  type: 'bar',
  data: { labels: [], datasets: KINDS.map((k) => ({
    label: `${k}s`, data: [], backgroundColor: KIND_COLORS[k], categoryPercentage: 0.9, barPercentage: 0.95,
  })) },
  options: { animation: false, responsive: true, layout: { padding: { top: 18 } }, scales: {
    x: { title: { display: true, text: 'fraud score' } },
    y: { type: 'logarithmic', min: 0.5, suggestedMax: 10, title: { display: true, text: 'entities (log scale)' },
      ticks: { callback: (v) => (Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-9 ? v.toLocaleString('en') : '') } },
  } },
  plugins: [labelsAbove('10px system-ui, sans-serif', compact), thresholdLines],
});

let fraudReport;             // the latest report (object or string) the panels show
let fraudInHistory = false;  // whether a report of the last hour was scored

function showFraudStats(fraud) {
  const scored = isScored(fraud);
  const part = (key, kind) => (scored && isObject(fraud[key]) ? fraud[key][kind] : undefined);
  for (const kind of KINDS) {
    $(`fraud-${kind}s`).textContent = count(part('flagged', kind));
    const of = part('scored', kind);
    $(`fraud-${kind}s-k`).textContent = `flagged ${kind}s` + (num(of) === null ? '' : ` of ${count(of)}`);
  }
  $('fraud-alerts').textContent = scored ? count(fraud.new_alerts) : '–';
  $('fraud-time').textContent = scored && num(fraud.scoring_ms) !== null ? `${count(fraud.scoring_ms)} ms` : '–';
}

// A threshold as people read it: 3 significant digits (0.5, 0.873, 0.000033).
const short = (v) => String(+Number(v).toPrecision(3));

function showFraudCaption(fraud, minute) {
  const parts = [`Minute ${minute}`];
  if (fraud.model !== undefined) parts.push(`model ${text(fraud.model)}`);
  if (isObject(fraud.threshold)) {
    const t = KINDS.filter((k) => num(fraud.threshold[k]) !== null).map((k) => `${k} ≥ ${short(fraud.threshold[k])}`);
    if (t.length) parts.push(`flagged at ${t.join(', ')}`);
  }
  const w = fraud.window;
  if (isObject(w)) {
    const inside = [];
    if (num(w.objects) !== null) inside.push(`${w.objects} minute object${w.objects === 1 ? '' : 's'}`);
    if (w.first !== undefined && w.last !== undefined) inside.push(minuteRange(w.first, w.last));
    let s = `window ${num(w.minutes) ?? '?'} minutes`;
    if (inside.length) s += ` (${inside.join(', ')})`;
    if (num(w.events) !== null) s += `, ${count(w.events)} events`;
    parts.push(s);
  }
  $('fraud-caption').textContent = parts.join(' · ');
}

function showFraudHistogram(fraud) {
  const h = isObject(fraud.histogram) ? fraud.histogram : {};
  const bins = num(h.bins) !== null && h.bins > 0 && h.bins <= 1000 ? Math.round(h.bins) : 0;
  const digits = bins <= 10 ? 1 : bins <= 100 ? 2 : 3;
  fraudHist.data.labels = Array.from({ length: bins },
    (_, i) => `${(i / bins).toFixed(digits)}–${((i + 1) / bins).toFixed(digits)}`);
  fraudHist.data.datasets.forEach((ds, i) => {
    const counts = Array.isArray(h[KINDS[i]]) ? h[KINDS[i]] : [];
    ds.data = counts.slice(0, bins).map((c) => num(c) ?? 0);
  });
  const t = isObject(fraud.threshold) ? fraud.threshold : {};
  const known = KINDS.filter((k) => num(t[k]) !== null && t[k] >= 0 && t[k] <= 1);
  histThresholds = known.length === 2 && t.user === t.session
    ? [{ value: t.user, label: `threshold ${short(t.user)}`, color: '#1d2330' }]
    : known.map((k) => ({ value: t[k], label: `${k} threshold ${short(t[k])}`, color: KIND_COLORS[k] }));
  $('fraud-hist-title').textContent = `fraud score histogram, ${bins} bins`;
  fraudHist.update();
}

function showFraudTop(fraud) {
  const rows = (Array.isArray(fraud.top) ? fraud.top : []).filter(isObject).map((e) => {
    const tr = document.createElement('tr');
    const cell = (className, value) => {
      const td = document.createElement('td');
      td.className = className;
      td.textContent = value;
      tr.appendChild(td);
      return td;
    };
    cell('kind', text(e.entity_kind));
    cell('id', text(e.entity_id));
    cell('score', num(e.fraud_score) === null ? '–' : e.fraud_score.toFixed(3));
    const flag = document.createElement('span');
    flag.className = e.is_fraud === true ? 'flag yes' : 'flag';
    flag.textContent = e.is_fraud === true ? 'flagged' : 'no';
    cell('flagged', '').appendChild(flag);
    cell('features', text(e.top_features));
    return tr;
  });
  if (!rows.length) {
    const tr = document.createElement('tr');
    const td = document.createElement('td');
    td.colSpan = 5;
    td.textContent = 'No entities in this window.';
    tr.appendChild(td);
    rows.push(tr);
  }
  $('fraud-top').tBodies[0].replaceChildren(...rows);
}

// The notice and which panels show, from the latest report and the history.
function showFraudState() {
  const report = fraudReport;
  const fraud = isObject(report) ? report.fraud : undefined;
  const minute = isObject(report) ? windowOf(report.file_name) : '';
  let notice = '';
  let notRun = false;
  if (report === undefined) {
    notice = 'No report yet.';
  } else if (typeof report === 'string') {
    notice = `No fraud scoring in the latest report: ${report}`;
  } else if (fraud === undefined) {
    notice = fraudInHistory ? `No fraud scoring in the latest report (${minute}).`
      : 'No fraud scoring in these reports: they carry no fraud section.';
  } else if (isObject(fraud) && fraud.status === 'not_run') {
    notRun = true;
    notice = `Fraud scoring did not run for ${minute}: ${text(fraud.reason) || 'no reason given.'}`;
  } else if (!isScored(fraud)) {
    notRun = true;
    notice = `The fraud section of ${minute} is not understood (status ${JSON.stringify(isObject(fraud) ? fraud.status : fraud)}).`;
  }
  $('fraud-state').textContent = notice;
  $('fraud-state').className = notRun ? 'notice not-run' : 'notice';
  $('fraud-state').hidden = !notice;
  $('fraud-caption').hidden = !isScored(fraud);
  $('fraud-hist-card').hidden = !isScored(fraud);
  $('fraud-top-card').hidden = !isScored(fraud);
  $('fraud-trend-card').hidden = !fraudInHistory;
}

// `report`: the posted document's report (object or "No data…" string).
function showFraud(report) {
  fraudReport = report;
  const fraud = isObject(report) ? report.fraud : undefined;
  try {
    showFraudStats(fraud);
    if (isScored(fraud)) {
      showFraudCaption(fraud, windowOf(report.file_name));
      showFraudHistogram(fraud);
      showFraudTop(fraud);
    }
    showFraudState();
  } catch (err) {  // a malformed section must not stop the rest of the page
    $('fraud-state').hidden = false;
    $('fraud-state').className = 'notice not-run';
    $('fraud-state').textContent = `The fraud section could not be shown: ${err.message}`;
  }
}

// Flagged counts per minute; minutes without scoring are gaps.
function showFraudTrend(points, labels) {
  const flagged = (r, kind) => (isScored(r.fraud) && isObject(r.fraud.flagged) ? num(r.fraud.flagged[kind]) : null);
  fraudTrend.data.labels = labels;
  fraudTrend.data.datasets.forEach((ds, i) => { ds.data = points.map((r) => flagged(r, KINDS[i])); });
  fraudTrend.update();
  fraudInHistory = points.some((r) => isScored(r.fraud));
  showFraudState();
}

function showReport(doc) {
  const report = doc && doc.report;
  if (typeof report === 'string') {
    $('nodata').style.display = 'block';
    $('nodata').textContent = report;
    const m = /No data for (\S+?)\.?$/.exec(report);
    $('window').textContent = m ? windowOf(m[1]) : '–';
    for (const id of ['total', 'errors', 'rate', 'ptime']) $(id).textContent = '–';
    bars.data.labels = [];
    bars.data.datasets.forEach((ds) => { ds.data = []; });
    bars.update();
    showFraud(report);
    return;
  }
  if (!report || typeof report !== 'object') return;
  $('nodata').style.display = 'none';
  const types = Object.keys(report.by_event_type || {}).sort();
  bars.data.labels = types;
  bars.data.datasets[0].data = types.map((t) => report.by_event_type[t].SUCCESS);
  bars.data.datasets[1].data = types.map((t) => report.by_event_type[t].ERROR);
  bars.update();
  $('window').textContent = windowOf(report.file_name);
  $('total').textContent = report.total_events.toLocaleString('en');
  $('errors').textContent = report.total_errors.toLocaleString('en');
  $('rate').textContent = report.total_events ? `${(100 * report.total_errors / report.total_events).toFixed(1)}%` : '0%';
  $('ptime').textContent = typeof report.process_time === 'number' ? `${(report.process_time * 1000).toFixed(1)} ms` : '–';
  showFraud(report);
}

// One point per minute, in minute order: of several reports of one minute (a re-run after
// late events, a backfill) the one posted last wins. `reports` come newest first.
function perMinute(reports) {
  const latest = new Map();
  for (const r of reports) if (!latest.has(r.file_name)) latest.set(r.file_name, r);
  return [...latest.values()].sort((a, b) => String(a.file_name).localeCompare(String(b.file_name)));
}

async function refreshTrend() {
  const res = await fetch('/reports?limit=60');
  if (!res.ok) return;
  const { reports } = await res.json();
  const points = perMinute(reports.map((r) => r.report).filter((r) => r && typeof r.report === 'object')
    .map((r) => r.report));
  trend.data.labels = points.map((r) => windowOf(r.file_name).slice(11));
  trend.data.datasets[0].data = points.map((r) => r.total_events);
  trend.data.datasets[1].data = points.map((r) => (r.total_events ? 100 * r.total_errors / r.total_events : 0));
  trend.update();
  showFraudTrend(points, [...trend.data.labels]);
}

// Scheduled runs that failed after their retries (reported by `pfad run`).
async function refreshFailures() {
  const res = await fetch('/runs?failed');
  if (!res.ok) return;
  const { runs } = await res.json();
  const box = $('failed');
  box.style.display = runs.length ? 'block' : 'none';
  box.textContent = runs.length
    ? `${runs.length} failed run${runs.length > 1 ? 's' : ''}: ` +
      runs.slice(0, 5).map((r) => `${windowOf(r.minute)} (${r.error || 'error'})`).join('; ')
    : '';
}

// A read token in the address (/#token=…) moves into the cookie the server accepts on
// every data request (the event stream too: EventSource cannot send a header) and out of
// the address bar; a fragment never reaches the server or its logs. A write token
// (/#write_token=…) goes the same way into sessionStorage (analyst.js).
function takeTokens() {
  const m = location.hash.match(/(?:^#|&)token=([^&]*)/);
  if (m) {
    const secure = location.protocol === 'https:' ? '; Secure' : '';
    document.cookie = `pfad_read_token=${m[1]}; Path=/; SameSite=Strict${secure}`;
  }
  if (takeWriteToken() || m) history.replaceState(null, '', location.pathname + location.search);
}
// A token given to the open page (the address edited) takes effect at once.
window.addEventListener('hashchange', () => {
  if (/(?:^#|&)(write_)?token=/.test(location.hash)) { takeTokens(); location.reload(); }
});

function locked() {
  $('locked').style.display = 'block';
  $('live').textContent = 'locked';
}

function follow(handlers) {
  const events = new EventSource('/events');
  for (const [name, handler] of Object.entries(handlers)) events.addEventListener(name, handler);
  events.onopen = () => { $('live').textContent = 'live'; };
  events.onerror = () => { $('live').textContent = 'reconnecting…'; };
}

async function start() {
  takeTokens();
  const entity = entityRoute();
  if (entity) {
    if (!(await startEntity(entity))) return locked();
    const reload = () => showEntity(entity.kind, entity.id);
    follow({ report: reload, review: reload });
    return;
  }
  const res = await fetch('/report');
  if (res.status === 401) return locked();
  if (res.ok) showReport(await res.json());
  else $('nodata').style.display = 'block', $('nodata').textContent = 'No report yet.';
  refreshTrend();
  refreshFailures();
  refreshQueue();
  refreshModels();
  startPipeline();
  follow({
    run: () => refreshFailures(),
    model: () => refreshModels(),
    report: (e) => { showReport(JSON.parse(e.data)); refreshTrend(); refreshQueue(); },
    review: () => refreshQueue(),
    cleared: () => { showReport({ report: 'No report stored.' }); },
  });
}

// After analyst.js and pipeline.js (loaded next) have defined the review queue and the entity view.
document.addEventListener('DOMContentLoaded', start);
