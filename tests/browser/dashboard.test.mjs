// The dashboard page in a real browser (Debian chromium driven by playwright-core):
// it shows a posted report's numbers in its chart and totals, follows the next POST
// within 2 s through the push stream, and shows the "No data" state; the fraud panels
// (docs/DESIGN.md, "The report's fraud object") show the reports' fraud sections over several minutes, follow new ones,
// show why scoring did not run, and show report text as text. Screenshots go to
// test-artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { launchChromium } from './chromium.mjs';

const root = resolve(import.meta.dirname, '../..');
const pfad = process.env.PFAD_BIN || join(root, 'build/pfad');
const artifacts = join(root, 'test-artifacts');
mkdirSync(artifacts, { recursive: true });

const report = (minute, success, error) => ({
  report: {
    total_events: 5 * (success + error), total_errors: 5 * error,
    by_event_type: Object.fromEntries(['ADD_TO_CART', 'CHECKOUT', 'PAYMENT', 'SEARCH', 'VIEW_PRODUCT']
      .map((t, i) => [t, { SUCCESS: success + i, ERROR: error }])),
    process_time: 0.0042, file_name: `2025-01-15_10-${minute}.json`,
  },
});

// A report's fraud section as the pipeline adds it (status "scored").
const fraud = ({ minute, users, sessions, alerts = 1, top = [] }) => ({
  status: 'scored', model: 'gnn_hetero v2',
  window: { minutes: 10, objects: 7, events: 123456, first: '2025-01-15_10-04', last: `2025-01-15_10-${minute}` },
  threshold: { user: 0.5, session: 0.61234 },
  scored: { user: 1234, session: 2345 },
  flagged: { user: users, session: sessions },
  new_alerts: alerts,
  histogram: { bins: 10, user: [1100, 60, 25, 15, 8, 6, 4, 3, 5, users],
    session: [2200, 50, 20, 10, 7, 5, 3, 2, 1, sessions] },
  top, scoring_ms: 412,
});
const entity = (kind, id, score, features) =>
  ({ entity_kind: kind, entity_id: id, fraud_score: score, is_fraud: score >= (kind === 'user' ? 0.5 : 0.61234),
    top_features: features });
const withFraud = (minute, section) => {
  const doc = report(minute, 17, 3);
  doc.report.fraud = section;
  return doc;
};
const TOP = [
  entity('user', '3f2b6c1e-9a47-4d2e-8f1a-0c5e7d9b2a64', 0.981, 'session_max_degree=14; p_share_cart=0.93; gap_cv=0.02'),
  entity('session', 'b7e04a55-12cd-4f38-9e6b-5a1d3c8f7e20', 0.944, 'degree=22; n_payment=31; payment_error_share=0.81'),
  entity('user', '0d9c8e7f-6a5b-4c3d-2e1f-0a9b8c7d6e5f', 0.412, 'n_events=388; products_per_event=0.97; share_view=0.71'),
];

let server, base, browser, page;

const freePort = () => new Promise((ok) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); });
});

async function post(body) {
  const res = await fetch(`${base}/report`, { method: 'POST', body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json' } });
  assert.equal(res.status, 200);
}

before(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const db = join(mkdtempSync(join(tmpdir(), 'pfad-ui-')), 'reports.db');
  server = spawn(pfad, ['dashboard', '--port', String(port), '--db', db], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; ; i++) {
    try { if ((await fetch(`${base}/health`)).ok) break; } catch { /* not up yet */ }
    if (i > 100) throw new Error('pfad dashboard did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1300, height: 600 } });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
});

// The bar heights the page's chart holds, read from Chart.js itself.
const chartData = () => page.evaluate(() => {
  const chart = Chart.getChart('bars');
  return { labels: chart.data.labels, success: chart.data.datasets[0].data, error: chart.data.datasets[1].data };
});

test('shows a posted report in the chart and totals', async () => {
  await post(report('00', 17, 3));
  await page.goto(base);
  await page.waitForFunction(() => document.getElementById('total').textContent === '100');
  assert.equal(await page.textContent('#errors'), '15');
  assert.equal(await page.textContent('#window'), '2025/01/15 10:00');
  assert.equal(await page.textContent('#rate'), '15.0%');
  assert.deepEqual(await chartData(), {
    labels: ['ADD_TO_CART', 'CHECKOUT', 'PAYMENT', 'SEARCH', 'VIEW_PRODUCT'],
    success: [17, 18, 19, 20, 21], error: [3, 3, 3, 3, 3],
  });
  await page.screenshot({ path: join(artifacts, 'dashboard-report.png') });
});

// What the fraud panels show, read from the page and its charts.
const fraudPanels = () => page.evaluate(() => {
  const $ = (id) => document.getElementById(id);
  const hist = Chart.getChart('fraud-hist');
  const trend = Chart.getChart('fraud-trend');
  return {
    notice: $('fraud-state').hidden ? null : $('fraud-state').textContent,
    caption: $('fraud-caption').hidden ? null : $('fraud-caption').textContent,
    stats: ['fraud-users', 'fraud-users-k', 'fraud-sessions', 'fraud-sessions-k', 'fraud-alerts', 'fraud-time']
      .map((id) => $(id).textContent),
    visible: ['fraud-trend-card', 'fraud-hist-card', 'fraud-top-card'].filter((id) => !$(id).hidden),
    hist: { labels: hist.data.labels, user: hist.data.datasets[0].data, session: hist.data.datasets[1].data },
    trend: { labels: trend.data.labels, user: trend.data.datasets[0].data, session: trend.data.datasets[1].data },
    rows: [...$('fraud-top').tBodies[0].rows].map((tr) => [...tr.cells].map((td) => td.textContent)),
  };
});

test('reports without a fraud section leave the fraud panels in a plain "no fraud scoring" state', async () => {
  const panels = await fraudPanels();
  assert.equal(panels.notice, 'No fraud scoring in these reports: they carry no fraud section.');
  assert.equal(panels.caption, null);
  assert.deepEqual(panels.stats, ['–', 'flagged users', '–', 'flagged sessions', '–', '–']);
  assert.deepEqual(panels.visible, []);
  await page.screenshot({ path: join(artifacts, 'dashboard-fraud-none.png'), fullPage: true });
});

test('follows the next POST within 2 s without reloading', async () => {
  await post(report('01', 40, 10));
  await page.waitForFunction(() => document.getElementById('window').textContent === '2025/01/15 10:01',
    null, { timeout: 2000 });
  assert.equal(await page.textContent('#total'), '250');
  assert.deepEqual((await chartData()).error, [10, 10, 10, 10, 10]);
});

test('shows the no-data state', async () => {
  await post({ report: 'No data for 2025-01-15_10-02.' });
  await page.waitForFunction(() => document.getElementById('nodata').textContent === 'No data for 2025-01-15_10-02.',
    null, { timeout: 2000 });
  assert.ok(await page.isVisible('#nodata'));
  assert.equal(await page.textContent('#window'), '2025/01/15 10:02');
  assert.deepEqual((await chartData()).labels, []);
  assert.equal((await fraudPanels()).notice, 'No fraud scoring in the latest report: No data for 2025-01-15_10-02.');
  await page.screenshot({ path: join(artifacts, 'dashboard-no-data.png') });
});

test('shows failed runs in a banner as they are reported', async () => {
  const res = await fetch(`${base}/runs`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ minute: '2025-01-15_10-03', state: 'failed', attempts: 2, error: 'bucket not found' }) });
  assert.equal(res.status, 200);
  await page.waitForFunction(() => document.getElementById('failed').textContent.includes('2025/01/15 10:03'),
    null, { timeout: 2000 });
  assert.match(await page.textContent('#failed'), /1 failed run: 2025\/01\/15 10:03 \(bucket not found\)/);
  await page.screenshot({ path: join(artifacts, 'dashboard-failed-run.png') });
});

test('shows the fraud sections of several minutes: counts over time, histogram, top entities, caption', async () => {
  const flagged = [[3, 7], [5, 9], [8, 12], [6, 10]];
  for (const [i, [users, sessions]] of flagged.entries()) {
    await post(withFraud(`1${i}`, fraud({ minute: `1${i}`, users, sessions, alerts: i + 1, top: TOP })));
  }
  await page.goto(base);
  await page.waitForFunction(() => document.getElementById('window').textContent === '2025/01/15 10:13');
  await page.waitForFunction(() => Chart.getChart('fraud-trend').data.labels.length === 6);
  const panels = await fraudPanels();
  assert.equal(panels.notice, null);
  assert.equal(panels.caption, 'Minute 2025/01/15 10:13 · model gnn_hetero v2 · flagged at user ≥ 0.5, session ≥ 0.612 · '
    + 'window 10 minutes (7 minute objects, 2025/01/15 10:04–10:13), 123,456 events');
  assert.deepEqual(panels.stats, ['6', 'flagged users of 1,234', '10', 'flagged sessions of 2,345', '4', '412 ms']);
  assert.deepEqual(panels.visible, ['fraud-trend-card', 'fraud-hist-card', 'fraud-top-card']);
  assert.deepEqual(panels.hist, {
    labels: ['0.0–0.1', '0.1–0.2', '0.2–0.3', '0.3–0.4', '0.4–0.5', '0.5–0.6', '0.6–0.7', '0.7–0.8', '0.8–0.9', '0.9–1.0'],
    user: [1100, 60, 25, 15, 8, 6, 4, 3, 5, 6], session: [2200, 50, 20, 10, 7, 5, 3, 2, 1, 10],
  });
  // History: the two earlier reports without fraud are gaps; the "No data" minute has no point.
  assert.deepEqual(panels.trend, { labels: ['10:00', '10:01', '10:10', '10:11', '10:12', '10:13'],
    user: [null, null, 3, 5, 8, 6], session: [null, null, 7, 9, 12, 10] });
  assert.deepEqual(panels.rows, [
    ['user', TOP[0].entity_id, '0.981', 'flagged', TOP[0].top_features],
    ['session', TOP[1].entity_id, '0.944', 'flagged', TOP[1].top_features],
    ['user', TOP[2].entity_id, '0.412', 'no', TOP[2].top_features],
  ]);
  // The bars the histogram draws: every non-empty bin has a visible bar, taller for more entities.
  // (Waits out Chart.js's grow-in animation, which lasts longer on a busy machine.)
  await page.waitForFunction(() => {
    const h = Chart.getChart('fraud-hist').getDatasetMeta(0).data.map((b) => b.height);
    return h.every((x) => x >= 5) && h[0] > h[1] && h[1] > h[2];
  }).catch(() => {});
  const heights = await page.evaluate(() => Chart.getChart('fraud-hist').getDatasetMeta(0).data.map((b) => b.height));
  assert.ok(heights.every((h) => h >= 5), `log scale: a bin of 3 still shows a bar (${heights})`);
  assert.ok(heights[0] > heights[1] && heights[1] > heights[2], String(heights));
  await page.screenshot({ path: join(artifacts, 'dashboard-fraud.png'), fullPage: true });
});

test('the dashboard stores and serves the fraud section as posted', async () => {
  const posted = fraud({ minute: '13', users: 6, sessions: 10, alerts: 4, top: TOP });
  const latest = await (await fetch(`${base}/report`)).json();
  assert.deepEqual(latest.report.fraud, posted);
  const { reports } = await (await fetch(`${base}/reports?limit=1`)).json();
  assert.deepEqual(reports[0].report.report.fraud, posted);
});

test('follows a new fraud section through the push stream', async () => {
  await post(withFraud('14', fraud({ minute: '14', users: 11, sessions: 4, alerts: 2, top: TOP.slice(1) })));
  await page.waitForFunction(() => document.getElementById('fraud-users').textContent === '11');
  await page.waitForFunction(() => Chart.getChart('fraud-trend').data.labels.length === 7);
  const panels = await fraudPanels();
  assert.deepEqual(panels.stats, ['11', 'flagged users of 1,234', '4', 'flagged sessions of 2,345', '2', '412 ms']);
  assert.deepEqual(panels.trend.user.slice(-2), [6, 11]);
  assert.deepEqual(panels.trend.session.slice(-2), [10, 4]);
  assert.deepEqual(panels.hist.user.at(-1), 11);
  assert.deepEqual(panels.rows.map((r) => r[1]), [TOP[1].entity_id, TOP[2].entity_id]);
  assert.match(panels.caption, /^Minute 2025\/01\/15 10:14 · /);
});

test('a minute whose scoring did not run shows the reason, and the history keeps its gap', async () => {
  const reason = 'model file /var/lib/pfad/fraud.model is corrupt: expected PFAD-FRAUD-MODEL 1 on line 1';
  await post(withFraud('15', { status: 'not_run', reason, new_alerts: 0 }));
  await page.waitForFunction(() => document.getElementById('window').textContent === '2025/01/15 10:15');
  await page.waitForFunction(() => Chart.getChart('fraud-trend').data.labels.length === 8);
  const panels = await fraudPanels();
  assert.equal(panels.notice, `Fraud scoring did not run for 2025/01/15 10:15: ${reason}`);
  assert.equal(await page.getAttribute('#fraud-state', 'class'), 'notice not-run');
  assert.equal(panels.caption, null);
  assert.deepEqual(panels.stats, ['–', 'flagged users', '–', 'flagged sessions', '–', '–']);
  assert.deepEqual(panels.visible, ['fraud-trend-card']);
  assert.deepEqual(panels.trend.user.slice(-3), [6, 11, null]);
  assert.equal(await page.textContent('#total'), '100', 'the rest of the page shows the report as usual');
  await page.screenshot({ path: join(artifacts, 'dashboard-fraud-not-run.png'), fullPage: true });
});

test('a report without a fraud section after scored ones says so and leaves the rest of the page alone', async () => {
  await post(report('16', 30, 2));
  await page.waitForFunction(() => document.getElementById('window').textContent === '2025/01/15 10:16');
  const panels = await fraudPanels();
  assert.equal(panels.notice, 'No fraud scoring in the latest report (2025/01/15 10:16).');
  assert.deepEqual(panels.visible, ['fraud-trend-card']);
  assert.equal(await page.textContent('#total'), '160');
  assert.deepEqual((await chartData()).success, [30, 31, 32, 33, 34]);
});

test('a fraud section the page does not understand leaves the rest of the page working', async () => {
  await post(withFraud('17', 'scored'));
  await page.waitForFunction(() => document.getElementById('window').textContent === '2025/01/15 10:17');
  assert.equal((await fraudPanels()).notice, 'The fraud section of 2025/01/15 10:17 is not understood (status "scored").');
  await post(withFraud('18', { status: 'scored', histogram: { bins: 'ten', user: 'x' }, top: 'none', flagged: 3 }));
  await page.waitForFunction(() => document.getElementById('window').textContent === '2025/01/15 10:18');
  const panels = await fraudPanels();
  assert.equal(panels.notice, null);
  assert.deepEqual(panels.hist.labels, []);
  assert.deepEqual(panels.rows, [['No entities in this window.']]);
  assert.equal(await page.textContent('#total'), '100');
});

test('text from reports shows as text, never as HTML', async () => {
  await page.evaluate(() => { delete window.pwned; });
  const id = '<img src=x onerror="window.pwned=1">';
  const features = '<script>window.pwned=2</script>; b=<b>bold</b>';
  await post(withFraud('19', { ...fraud({ minute: '19', users: 1, sessions: 0, top: [entity('user', id, 0.99, features)] }),
    model: '<i>m</i> v1' }));
  await page.waitForFunction(() => document.getElementById('window').textContent === '2025/01/15 10:19');
  const panels = await fraudPanels();
  assert.deepEqual(panels.rows, [['user', id, '0.990', 'flagged', features]]);
  assert.match(panels.caption, / · model <i>m<\/i> v1 · /);
  assert.equal(await page.locator('#fraud img, #fraud-top img, #fraud-top script, #fraud-top b, #fraud i').count(), 0);
  await page.screenshot({ path: join(artifacts, 'dashboard-fraud-injection.png'), fullPage: true });

  const reason = '<img src=x onerror="window.pwned=3"> model missing';
  await post(withFraud('20', { status: 'not_run', reason }));
  await page.waitForFunction(() => document.getElementById('window').textContent === '2025/01/15 10:20');
  assert.equal((await fraudPanels()).notice, `Fraud scoring did not run for 2025/01/15 10:20: ${reason}`);
  assert.equal(await page.locator('#fraud img').count(), 0);
  assert.equal(await page.evaluate(() => window.pwned), undefined);
});

test('the trend has one point per minute, in minute order, the last report of a minute winning', async () => {
  for (const [minute, success] of [['21', 10], ['20', 11], ['22', 12], ['20', 30]]) await post(report(minute, success, 0));
  await page.waitForFunction(() => Chart.getChart('trend').data.labels.at(-1) === '10:22');
  await page.waitForFunction(() => Chart.getChart('trend').data.datasets[0].data.at(-3) === 5 * 30);
  const trend = await page.evaluate(() => {
    const chart = Chart.getChart('trend');
    return { labels: chart.data.labels, events: chart.data.datasets[0].data };
  });
  assert.deepEqual(trend.labels.slice(-3), ['10:20', '10:21', '10:22']);
  assert.deepEqual(trend.events.slice(-3), [5 * 30, 5 * 10, 5 * 12]);
  assert.deepEqual([...trend.labels].sort(), trend.labels, 'in minute order');
  assert.equal(new Set(trend.labels).size, trend.labels.length, 'one point per minute');
});
