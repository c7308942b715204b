// The dashboard page: the latest report as a grouped bar chart with totals, the last hour
// as a trend, updated from the server's push stream (/events) as soon as a report arrives.
'use strict';

const $ = (id) => document.getElementById(id);

// "2025-01-15_10-00.json" -> "2025/01/15 10:00"
function windowOf(fileName) {
  const m = /^(\d{4})-(\d{2})-(\d{2})_(\d{2})-(\d{2})/.exec(fileName || '');
  return m ? `${m[1]}/${m[2]}/${m[3]} ${m[4]}:${m[5]}` : (fileName || '–');
}

// Value labels above each bar.
const valueLabels = {
  id: 'valueLabels',
  afterDatasetsDraw(chart) {
    const { ctx } = chart;
    ctx.save();
    ctx.font = '12px system-ui, sans-serif';
    ctx.fillStyle = '#1d2330';
    ctx.textAlign = 'center';
    chart.data.datasets.forEach((ds, i) => {
      chart.getDatasetMeta(i).data.forEach((bar, j) => ctx.fillText(String(ds.data[j]), bar.x, bar.y - 4));
    });
    ctx.restore();
  },
};

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
}

async function refreshTrend() {
  const res = await fetch('/reports?limit=60');
  if (!res.ok) return;
  const { reports } = await res.json();
  const points = reports.map((r) => r.report).filter((r) => r && typeof r.report === 'object')
    .map((r) => r.report).reverse();
  trend.data.labels = points.map((r) => windowOf(r.file_name).slice(11));
  trend.data.datasets[0].data = points.map((r) => r.total_events);
  trend.data.datasets[1].data = points.map((r) => (r.total_events ? 100 * r.total_errors / r.total_events : 0));
  trend.update();
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

async function start() {
  const res = await fetch('/report');
  if (res.ok) showReport(await res.json());
  else $('nodata').style.display = 'block', $('nodata').textContent = 'No report yet.';
  refreshTrend();
  refreshFailures();
  const events = new EventSource('/events');
  events.addEventListener('run', () => refreshFailures());
  events.addEventListener('report', (e) => { showReport(JSON.parse(e.data)); refreshTrend(); });
  events.addEventListener('cleared', () => { showReport({ report: 'No report stored.' }); });
  events.onopen = () => { $('live').textContent = 'live'; };
  events.onerror = () => { $('live').textContent = 'reconnecting…'; };
}

start();
