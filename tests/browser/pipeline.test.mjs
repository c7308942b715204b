// The overview's pipeline-health row (GET /pipeline, web/pipeline.js) in a real browser (Debian
// chromium driven by playwright-core): in `pfad demo` it shows the process's own numbers with
// their colours; a standalone dashboard shows "no data" with the hint to set [dashboard]
// prometheus; an unreachable Prometheus shows its error. Screenshots go to test-artifacts/.
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

const freePort = () => new Promise((ok) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); });
});

let browser;
const children = [];

// Starts `pfad <args> --port <free port>` and resolves to its base URL once `ready` (a path) answers 200.
async function start(args, ready, env = {}, patience = 100) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(pfad, [...args, '--port', String(port)],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...env } });
  children.push(child);
  for (let i = 0; ; i++) {
    try { if ((await fetch(`${base}${ready}`)).ok) break; } catch { /* not up yet */ }
    if (child.exitCode !== null) throw new Error(`pfad ${args[0]} exited with ${child.exitCode}`);
    if (i > patience) throw new Error(`pfad ${args[0]}: ${ready} did not answer`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return base;
}

before(async () => {
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  for (const child of children) child.kill('SIGINT');
});

// The four tiles as the page shows them: value, colour class and detail line; and the source line.
const row = (page) => page.evaluate(() => {
  const tile = (id) => {
    const el = document.getElementById(id);
    return { value: el.querySelector('.v').textContent, state: el.className.replace('stat', '').trim(),
      detail: el.querySelector('.d').textContent };
  };
  return {
    freshness: tile('health-freshness'), lag: tile('health-lag'), failed: tile('health-failed'),
    scoring: tile('health-scoring'), source: document.getElementById('health-source').textContent,
  };
});

test('a standalone dashboard shows "no data" and says to set [dashboard] prometheus', async () => {
  const db = join(mkdtempSync(join(tmpdir(), 'pfad-ui-')), 'reports.db');
  const base = await start(['dashboard', '--db', db], '/health', { PFAD_PROMETHEUS_URL: '' });
  const page = await browser.newPage({ viewport: { width: 1300, height: 700 } });
  await page.goto(base);
  await page.waitForFunction(() => document.getElementById('health-source').textContent.startsWith('No pipeline'));
  const r = await row(page);
  for (const t of [r.freshness, r.lag, r.failed, r.scoring]) assert.deepEqual(t, { value: '–', state: 'none', detail: 'no data' });
  assert.match(r.source, /set \[dashboard\] prometheus/);
  await page.close();
});

test('an unreachable Prometheus shows its error, not numbers', async () => {
  const db = join(mkdtempSync(join(tmpdir(), 'pfad-ui-')), 'reports.db');
  const closed = await freePort();  // nothing listens there
  const base = await start(['dashboard', '--db', db], '/health', { PFAD_PROMETHEUS_URL: `http://127.0.0.1:${closed}` });
  const page = await browser.newPage({ viewport: { width: 1300, height: 700 } });
  await page.goto(base);
  await page.waitForFunction(() => document.getElementById('health-source').textContent.startsWith('From Prometheus'));
  const r = await row(page);
  assert.equal(r.freshness.state, 'none');
  assert.equal(r.failed.value, '–');
  assert.match(r.source, /cannot be reached/);
  await page.close();
});

test('the demo shows its own pipeline health: fresh reports, no lag, no failed runs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pfad-ui-demo-'));
  // The demo trains its model first; its first report follows the past minutes through every stage.
  const base = await start(['demo', '--dir', dir, '--backfill', '2', '--events-per-minute', '1200',
    '--retrain-minutes', '0'], '/report', {}, 900);
  const page = await browser.newPage({ viewport: { width: 1300, height: 800 } });
  await page.goto(base);
  await page.waitForFunction(() => document.getElementById('health-freshness').querySelector('.v').textContent !== '–',
    null, { timeout: 120000 });
  const r = await row(page);
  assert.match(r.source, /^From this process's metrics/);
  assert.match(r.freshness.value, /^\d+(\.\d)? (ms|s)$|min/);
  assert.ok(['ok', 'warn', 'bad'].includes(r.freshness.state), r.freshness.state);
  assert.deepEqual(r.failed, { value: '0', state: 'ok', detail: 'since the process started' });
  assert.notEqual(r.lag.value, '–');
  await page.locator('#pipeline').screenshot({ path: join(artifacts, 'pipeline-health-demo.png') });
  await page.close();
});
