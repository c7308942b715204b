// The pipeline-health row of the overview: report freshness, ingest lag, failed runs and the
// fraud stage's p95 time from GET /pipeline (the numbers Prometheus has, or this process's own
// metrics in `pfad demo`), asked again every 10 s. Loaded after app.js, whose helpers ($, num,
// count, text) it uses; app.js's start() calls startPipeline() on the overview. Text from the
// server only reaches the page through textContent.
'use strict';

const PIPELINE_REFRESH_MS = 10000;

// The alert rules' thresholds (deploy/prometheus/pfad-rules.yml): a tile is "bad" where its
// alert would fire. Freshness normally stays between 5 and 65 s (a minute is reported about
// 5 s after it ends), so past that it is "warn" before PfadReportLate's 60 + 120 s.
const HEALTH_RULES = {
  freshness: (v) => (v > 60 + 120 ? 'bad' : v > 65 ? 'warn' : 'ok'),  // PfadReportLate
  lag: (v) => (v > 10000 ? 'bad' : 'ok'),                              // PfadIngestLagGrowing
  failed: (v) => (v > 0 ? 'bad' : 'ok'),                               // PfadRunsFailing
  scoring: () => '',                                                   // no alert rule
};

// 42.4 -> "42 s", 187 -> "3 min 7 s", 0.4123 -> "412 ms"
function duration(seconds) {
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 120) return `${Math.round(seconds)} s`;
  const s = Math.round(seconds);
  return s < 7200 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

// One tile: its value, its colour from `rule`, and the detail line ("no data" without a value).
function showTile(id, value, format, rule, detail) {
  const tile = $(id);
  const v = num(value);
  tile.querySelector('.v').textContent = v === null ? '–' : format(v);
  tile.querySelector('.d').textContent = v === null ? 'no data' : detail;
  const colour = v === null ? 'none' : rule(v);
  tile.className = colour ? `stat ${colour}` : 'stat';
}

function showPipeline(h) {
  const w = isObject(h.window) ? h.window : {};
  const p95 = w.p95 === 'since start' ? 'since start' : `last ${text(w.p95) || '5m'}`;
  const freshP95 = num(h.freshness_p95_seconds);
  showTile('health-freshness', h.freshness_seconds, duration, HEALTH_RULES.freshness,
    `since the newest reported minute ended${freshP95 === null ? '' : ` · p95 ${duration(freshP95)} (${p95})`}`);
  showTile('health-lag', h.lag_messages, (v) => `${count(Math.round(v))}`, HEALTH_RULES.lag, 'messages behind');
  showTile('health-failed', h.failed_runs, (v) => count(Math.round(v)), HEALTH_RULES.failed,
    w.failed_runs === 'since start' ? 'since the process started' : `in the last ${text(w.failed_runs) || '1h'}`);
  showTile('health-scoring', h.fraud_scoring_p95_seconds, duration, HEALTH_RULES.scoring, `per minute, ${p95}`);
  const from = { prometheus: 'From Prometheus', process: 'From this process\'s metrics', none: 'No pipeline metrics' }[h.source]
    || `From ${text(h.source)}`;
  const errors = Array.isArray(h.errors) ? h.errors.map(text).filter(Boolean) : [];
  const said = errors.length ? errors.join(' ') : text(h.hint);
  $('health-source').textContent = said ? `${from}: ${said}` : `${from}, refreshed every ${PIPELINE_REFRESH_MS / 1000} s.`;
}

function pipelineUnavailable(why) {
  for (const id of ['health-freshness', 'health-lag', 'health-failed', 'health-scoring']) {
    showTile(id, null, String, () => '', '');
  }
  $('health-source').textContent = why;
}

async function refreshPipeline() {
  try {
    const res = await fetch('/pipeline');
    if (!res.ok) return pipelineUnavailable(`Pipeline health unavailable: HTTP ${res.status}.`);
    showPipeline(await res.json());
  } catch (err) {
    pipelineUnavailable(`Pipeline health unavailable: ${err.message}`);
  }
}

function startPipeline() {
  refreshPipeline();
  setInterval(refreshPipeline, PIPELINE_REFRESH_MS);
}
