// The dashboard page over HTTPS with a read token, in a real browser (Debian chromium
// driven by playwright-core): without the token the page says it needs one and shows no
// data; opened as /#token=…, it moves the token into its cookie and out of the address
// bar, shows the latest report and follows new ones over the (cookie-authenticated)
// event stream. The certificate is made here by openssl, signed by a CA made here; the
// browser trusts exactly that server key (--ignore-certificate-errors-spki-list), not
// every certificate.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { launchChromium } from './chromium.mjs';

const root = resolve(import.meta.dirname, '../..');
const pfad = process.env.PFAD_BIN || join(root, 'build/pfad');
const artifacts = join(root, 'test-artifacts');
mkdirSync(artifacts, { recursive: true });

const dir = mkdtempSync(join(tmpdir(), 'pfad-ui-tls-'));
const file = (name) => join(dir, name);
// Base64 with '+', '/' and '=': the page must carry it percent-encoded, and the server decode it.
const readToken = randomBytes(24).toString('base64');
const writeToken = randomBytes(24).toString('hex');

let server, base, browser, page, ca;

const openssl = (...args) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });

function makeCertificates() {
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', file('ca.key'),
    '-out', file('ca.pem'), '-days', '2', '-subj', '/CN=PFAD browser test CA');
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', file('server.key'),
    '-out', file('server.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(file('server.ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-set_serial', '2',
    '-out', file('server.pem'), '-days', '2', '-extfile', file('server.ext'));
  // The base64 SHA-256 of the server's public key, as chromium's SPKI allow-list wants it.
  const spki = openssl('x509', '-in', file('server.pem'), '-pubkey', '-noout');
  const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'der'], { input: spki });
  return execFileSync('openssl', ['dgst', '-sha256', '-binary'], { input: der }).toString('base64');
}

// A request with pfad's HTTPS trusted through the test CA only.
const call = (method, path, { body, token } = {}) => new Promise((ok, fail) => {
  const req = request(`${base}${path}`, { method, ca, headers: {
    'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) } }, (res) => {
    let text = '';
    res.on('data', (d) => { text += d; });
    res.on('end', () => ok({ status: res.statusCode, text }));
  });
  req.on('error', fail);
  req.end(body === undefined ? undefined : JSON.stringify(body));
});

const report = (minute, success, error) => ({
  report: {
    total_events: 5 * (success + error), total_errors: 5 * error,
    by_event_type: Object.fromEntries(['ADD_TO_CART', 'CHECKOUT', 'PAYMENT', 'SEARCH', 'VIEW_PRODUCT']
      .map((t) => [t, { SUCCESS: success, ERROR: error }])),
    process_time: 0.003, file_name: `2025-01-15_12-${minute}.json`,
  },
});

const freePort = () => new Promise((ok) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); });
});

before(async () => {
  const spki = makeCertificates();
  ca = readFileSync(file('ca.pem'));
  const port = await freePort();
  base = `https://127.0.0.1:${port}`;
  server = spawn(pfad, ['dashboard', '--port', String(port), '--db', file('reports.db'),
    '--tls-cert', file('server.pem'), '--tls-key', file('server.key')], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, PFAD_DASHBOARD_READ_TOKEN: readToken, PFAD_DASHBOARD_TOKEN: writeToken },
  });
  for (let i = 0; ; i++) {
    try { if ((await call('GET', '/health', { token: readToken })).status === 200) break; } catch { /* not up yet */ }
    if (i > 100) throw new Error('pfad dashboard (https) did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  browser = await launchChromium([`--ignore-certificate-errors-spki-list=${spki}`]);
  page = await browser.newPage({ viewport: { width: 1300, height: 600 } });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
});

test('without the read token the page says it needs one and shows no data', async () => {
  assert.equal((await call('POST', '/report', { body: report('00', 17, 3), token: writeToken })).status, 200);
  assert.equal((await call('GET', '/report')).status, 401);
  const response = await page.goto(`${base}/`);
  assert.equal(response.status(), 200);
  assert.equal(response.url().startsWith('https://'), true);
  await page.waitForFunction(() => document.getElementById('live').textContent === 'locked');
  assert.equal(await page.isVisible('#locked'), true);
  assert.equal(await page.textContent('#total'), '–');
  await page.screenshot({ path: join(artifacts, 'dashboard-https-locked.png') });
});

test('opened as /#token=…, it shows the report, keeps the token out of the address bar and follows new reports', async () => {
  await page.goto(`${base}/#token=${encodeURIComponent(readToken)}`);
  await page.waitForFunction(() => document.getElementById('total').textContent === '100');
  assert.equal(await page.isVisible('#locked'), false);
  assert.equal(page.url(), `${base}/`);
  const [cookie] = await page.context().cookies();
  assert.equal(cookie.name, 'pfad_read_token');
  assert.equal(cookie.secure, true);
  assert.equal(cookie.sameSite, 'Strict');
  await page.waitForFunction(() => document.getElementById('live').textContent === 'live');
  assert.equal((await call('POST', '/report', { body: report('01', 40, 10), token: writeToken })).status, 200);
  await page.waitForFunction(() => document.getElementById('window').textContent === '2025/01/15 12:01',
    null, { timeout: 2000 });
  assert.equal(await page.textContent('#total'), '250');
  await page.screenshot({ path: join(artifacts, 'dashboard-https-token.png') });
  // A reload keeps working from the cookie alone.
  await page.reload();
  await page.waitForFunction(() => document.getElementById('total').textContent === '250');
});
