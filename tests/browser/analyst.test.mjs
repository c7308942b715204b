// The analyst's page in a real browser (Debian chromium driven by playwright-core): a
// report carrying a fraud ring (3 flagged sessions sharing 2 products and a user) puts
// three alerts in the review queue; an alert opens the entity view at /entity/<kind>/<id>
// with its events, scores and the neighbourhood drawn by Cytoscape; a "Fraud" verdict
// takes the alert out of the queue and shows in the history; a verdict from the queue
// itself does the same. With the dashboard's write token set, a verdict without it shows
// a clear message, and the page opened as /#write_token=… records it. Screenshots go to
// test-artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { launchChromium } from './chromium.mjs';

const root = resolve(import.meta.dirname, '../..');
const pfad = process.env.PFAD_BIN || join(root, 'build/pfad');
const artifacts = join(root, 'test-artifacts');
mkdirSync(artifacts, { recursive: true });

const MINUTE = '2025-01-15_10-05';
const T0 = Date.UTC(2025, 0, 15, 6, 35);  // 10:05 in Asia/Tehran
const SESSIONS = ['5e551011-0000-4000-8000-000000000001', '5e551022-0000-4000-8000-000000000002',
  '5e551033-0000-4000-8000-000000000003'];
const PRODUCTS = ['9a0d0011-0000-4000-8000-00000000000a', '9a0d0022-0000-4000-8000-00000000000b'];
const USER = '05e70011-0000-4000-8000-0000000000aa';
const SCORES = [0.97, 0.93, 0.88];

// The ring as each member's neighbourhood: all three sessions, both products and the user.
function ringInvestigation(i) {
  const key = (kind, id) => `${kind}:${id}`;
  const nodes = [
    ...SESSIONS.map((s, j) => ({ key: key('session', s), kind: 'session', id: s, fraud_score: SCORES[j],
      is_fraud: true, center: j === i })),
    ...PRODUCTS.map((p) => ({ key: key('product', p), kind: 'product', id: p, fraud_score: null, is_fraud: false,
      center: false })),
    { key: key('user', USER), kind: 'user', id: USER, fraud_score: 0.42, is_fraud: false, center: false },
  ];
  const links = SESSIONS.flatMap((s) => [...PRODUCTS.map((p) => key('product', p)), key('user', USER)]
    .map((target) => ({ source: key('session', s), target, weight: 3 })));
  return {
    entity_kind: 'session', entity_id: SESSIONS[i], minute: MINUTE, fraud_score: SCORES[i], threshold: 0.5,
    is_fraud: true, model: 'trees_graph v1', first_ms: T0, last_ms: T0 + 299000,
    why: [
      { feature: 'error_rate', value: 0.95, percentile: 99.8, median: 0.1,
        text: 'payment errors 0.95 — higher than 99.8 % of sessions' },
      { feature: 'shared_products', value: 2, percentile: 99.1, median: 0,
        text: 'shares 2 products with 2 flagged sessions' },
    ],
    events: [0, 1, 2].map((k) => ({ ts_ms: T0 + 299000 - k * 1000, event_type: k === 0 ? 'CHECKOUT' : 'PAYMENT',
      status: 'ERROR', error_code: 'PAYMENT_DECLINED', product_id: PRODUCTS[k % 2], session_id: SESSIONS[i],
      user_id: k === 2 ? null : USER })),
    neighbours: { nodes, links },
  };
}

const ringReport = () => ({ report: {
  total_events: 100, total_errors: 15, process_time: 0.004, file_name: `${MINUTE}.json`,
  by_event_type: { CHECKOUT: { SUCCESS: 40, ERROR: 10 }, PAYMENT: { SUCCESS: 45, ERROR: 5 } },
  fraud: { status: 'scored', model: 'trees_graph v1', investigations: [0, 1, 2].map(ringInvestigation) },
} });

const freePort = () => new Promise((ok) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); });
});

// `pfad dashboard` on a free port with `env`; resolves to { server, base }.
async function startDashboard(env = {}) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const db = join(mkdtempSync(join(tmpdir(), 'pfad-ui-analyst-')), 'reports.db');
  const server = spawn(pfad, ['dashboard', '--port', String(port), '--db', db],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...env } });
  for (let i = 0; ; i++) {
    try { if ((await fetch(`${base}/health`)).ok) break; } catch { /* not up yet */ }
    if (i > 100) throw new Error('pfad dashboard did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { server, base };
}

async function post(base, body, token) {
  const res = await fetch(`${base}/report`, { method: 'POST', body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) } });
  assert.equal(res.status, 200);
}

let browser;
const servers = [];

before(async () => {
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  for (const s of servers) s.kill('SIGTERM');
});

// The queue's rows as [score, kind, entity id].
const queue = (page) => page.evaluate(() => [...document.getElementById('alerts').tBodies[0].rows]
  .filter((tr) => tr.dataset.entity).map((tr) => [...tr.cells].slice(0, 3).map((td) => td.textContent)));

test('an alert of a ring opens its entity view; a verdict takes it out of the queue', async () => {
  const { server, base } = await startDashboard();
  servers.push(server);
  await post(base, ringReport());
  const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
  await page.goto(base);
  await page.waitForFunction(() => document.querySelectorAll('#alerts tr[data-entity]').length === 3);
  assert.deepEqual(await queue(page), SESSIONS.map((s, i) => [SCORES[i].toFixed(3), 'session', s]));
  assert.match(await page.textContent('#alerts tbody tr'), /payment errors 0\.95/);
  await page.screenshot({ path: join(artifacts, 'analyst-queue.png'), fullPage: true });

  await page.click(`#alerts a[href="/entity/session/${SESSIONS[0]}"]`);
  await page.waitForURL(`${base}/entity/session/${SESSIONS[0]}`);
  await page.waitForFunction(() => document.getElementById('entity-graph').dataset.nodes === '6');
  assert.equal(await page.isVisible('#overview'), false);
  assert.equal(await page.textContent('#entity-score'), '0.970');
  // Events, newest first.
  const events = await page.evaluate(() => [...document.getElementById('entity-events').tBodies[0].rows]
    .map((tr) => [...tr.cells].map((td) => td.textContent)));
  assert.equal(events.length, 3);
  assert.deepEqual(events[0], ['2025-01-15 06:39:59', 'CHECKOUT', 'ERROR', 'PAYMENT_DECLINED', PRODUCTS[0],
    SESSIONS[0], USER]);
  assert.equal(events[2][6], '');
  assert.deepEqual(await page.$$eval('#entity-why > li', (lis) => lis.map((li) => li.firstChild.textContent)),
    ['payment errors 0.95 — higher than 99.8 % of sessions', 'shares 2 products with 2 flagged sessions']);
  // The graph as Cytoscape holds it: the ring's 3 flagged sessions red, tied through 2 products and a user.
  const graph = await page.evaluate(() => {
    const cy = window.pfadGraph;
    const red = cy.nodes().filter((n) => n.data('color') === '#d6453d').map((n) => n.id()).sort();
    const center = cy.nodes().filter((n) => n.data('border') > 0).map((n) => n.id());
    const box = cy.elements().renderedBoundingBox();
    return { nodes: cy.nodes().length, edges: cy.edges().length, red, center, drawn: box.w > 50 && box.h > 50 };
  });
  assert.deepEqual(graph, { nodes: 6, edges: 9, red: SESSIONS.map((s) => `session:${s}`).sort(),
    center: [`session:${SESSIONS[0]}`], drawn: true });
  const chart = await page.evaluate(() => {
    const c = Chart.getChart('entity-scores');
    return { labels: c.data.labels, score: c.data.datasets[0].data, threshold: c.data.datasets[1].data };
  });
  assert.deepEqual(chart, { labels: ['2025/01/15 10:05'], score: [0.97], threshold: [0.5] });
  assert.match(await page.textContent('#entity-reviews tbody'), /Not reviewed yet/);

  await page.fill('#entity-note', 'card testing ring');
  await page.click('#entity-fraud');
  await page.waitForFunction(() => document.querySelectorAll('#entity-reviews tbody tr td').length === 5 &&
    document.getElementById('entity-verdict').textContent === 'fraud');
  const history = await page.$$eval('#entity-reviews tbody td', (tds) => tds.map((td) => td.textContent));
  assert.deepEqual([history[2], history[3], history[4]], ['fraud', 'card testing ring', '2025/01/15 10:05']);
  await page.screenshot({ path: join(artifacts, 'analyst-entity.png'), fullPage: true });

  // Back in the queue, the reviewed session is gone; a verdict from the queue removes another.
  await page.goto(base);
  await page.waitForFunction(() => document.querySelectorAll('#alerts tr[data-entity]').length === 2);
  assert.deepEqual((await queue(page)).map((r) => r[2]), SESSIONS.slice(1));
  await page.click(`#alerts tr[data-entity="session:${SESSIONS[1]}"] button[data-verdict="not_fraud"]`);
  await page.waitForFunction(() => document.querySelectorAll('#alerts tr[data-entity]').length === 1);
  assert.match(await page.textContent('#queue-message'), /is not fraud/);
  const reviews = await (await fetch(`${base}/reviews`)).json();
  assert.deepEqual(reviews.reviews.map((r) => [r.entity_id, r.verdict]),
    [[SESSIONS[0], 'fraud'], [SESSIONS[1], 'not_fraud']]);
  await page.close();
});

test('with a write token: refused without it, with a message; recorded when opened as /#write_token=…', async () => {
  const writeToken = randomBytes(16).toString('hex');
  const { server, base } = await startDashboard({ PFAD_DASHBOARD_TOKEN: writeToken });
  servers.push(server);
  await post(base, ringReport(), writeToken);
  const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
  await page.goto(`${base}/entity/session/${SESSIONS[2]}`);
  await page.waitForFunction(() => document.getElementById('entity-graph').dataset.nodes === '6');
  await page.click('#entity-fraud');
  await page.waitForFunction(() => !document.getElementById('entity-message').hidden);
  assert.match(await page.textContent('#entity-message'), /needs the dashboard's write token.*#write_token=/);
  assert.match(await page.textContent('#entity-reviews tbody'), /Not reviewed yet/);

  await page.goto(`${base}/entity/session/${SESSIONS[2]}#write_token=${writeToken}`);
  await page.waitForFunction(() => document.getElementById('entity-graph').dataset.nodes === '6');
  assert.equal(page.url(), `${base}/entity/session/${SESSIONS[2]}`, 'the token leaves the address bar');
  await page.click('#entity-fraud');
  await page.waitForFunction(() => document.getElementById('entity-verdict').textContent === 'fraud');
  // The queue in the same tab sends the token too.
  await page.goto(base);
  await page.waitForFunction(() => document.querySelectorAll('#alerts tr[data-entity]').length === 2);
  await page.click(`#alerts tr[data-entity="session:${SESSIONS[0]}"] button[data-verdict="fraud"]`);
  await page.waitForFunction(() => document.querySelectorAll('#alerts tr[data-entity]').length === 1);
  const reviews = await (await fetch(`${base}/reviews`)).json();
  assert.deepEqual(reviews.reviews.map((r) => r.entity_id), [SESSIONS[2], SESSIONS[0]]);
  await page.screenshot({ path: join(artifacts, 'analyst-token.png'), fullPage: true });
  await page.close();
});
