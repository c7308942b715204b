// The dashboard page in a real browser (Debian chromium driven by playwright-core):
// it shows a posted report's numbers in its chart and totals, follows the next POST
// within 2 s through the push stream, and shows the "No data" state. Screenshots go
// to test-artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

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
  browser = await chromium.launch({
    executablePath: process.env.PFAD_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'],
  });
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
