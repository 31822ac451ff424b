// Browser end-to-end test of the manager dashboard: starts the real fieldcrm-server with the
// demo organisation on a temporary database, drives headless Chromium through the page as a
// manager and as a rep, and writes a screenshot of the manager's view to target/dashboard.png.
//
// Usage (from anywhere): node tests/dashboard/dashboard.test.mjs
//   FIELDCRM_SERVER_BIN  server binary (default: <repo>/target/debug/fieldcrm-server)
//   FIELDCRM_BASE_URL    use an already running server instead of starting one
//   CHROMIUM_PATH        browser binary (default: /usr/bin/chromium)
//   FIELDCRM_TEST_TZ     the browser's time zone (default: Europe/Berlin, the demo's)
// Exits 0 when every step passed; otherwise prints the failed step and exits 1.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const PASSWORD = 'fieldcrm-demo';
const START_TIMEOUT_MS = 120_000;
const UI_TIMEOUT_MS = 30_000;
const VERIFICATION_CLASSES = [
  'verification-verified',
  'verification-uncertain',
  'verification-out_of_range',
  'verification-no_customer_location',
];

let passed = 0;
let server = null;
let serverLog = [];
let tmpDir = null;
let browser = null;
let currentPage = null;

function log(message) {
  process.stdout.write(`${message}\n`);
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

async function step(name, fn) {
  try {
    const result = await fn();
    passed += 1;
    log(`ok ${passed} - ${name}`);
    return result;
  } catch (err) {
    err.step = name;
    throw err;
  }
}

// ---------------------------------------------------------------- the server

function serverBin() {
  const bin = process.env.FIELDCRM_SERVER_BIN
    ? path.resolve(process.cwd(), process.env.FIELDCRM_SERVER_BIN)
    : path.join(REPO, 'target', 'debug', 'fieldcrm-server');
  if (!fs.existsSync(bin)) {
    throw new Error(`server binary not found: ${bin} (build it with: cargo build -p fieldcrm-server)`);
  }
  return bin;
}

// Starts the server on the demo database (seeded at the first start, kept until stopServer
// is told otherwise), with `extra` serve flags.
async function startServer(extra = []) {
  const bin = serverBin();
  tmpDir = tmpDir || fs.mkdtempSync(path.join(os.tmpdir(), 'fieldcrm-dashboard-'));
  const db = path.join(tmpDir, 'server.sqlite');
  const args = ['--db', db, 'serve', '--demo', '--listen', '127.0.0.1:0', ...extra];
  log(`starting ${bin} ${args.join(' ')}`);
  server = spawn(bin, args, { cwd: tmpDir, stdio: ['ignore', 'pipe', 'pipe'] });
  const remember = (line) => {
    serverLog.push(line);
    if (serverLog.length > 200) serverLog.shift();
  };
  readline.createInterface({ input: server.stderr }).on('line', remember);
  const lines = readline.createInterface({ input: server.stdout });

  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (fn, value) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      fn(value);
    };
    const timer = setTimeout(
      () => finish(reject, new Error(`the server did not report listening within ${START_TIMEOUT_MS / 1000} s`)),
      START_TIMEOUT_MS
    );
    lines.on('line', (line) => {
      remember(line);
      const match = /fieldcrm-server listening on (http:\/\/\S+)/.exec(line);
      if (match) finish(resolve, match[1].replace(/\/+$/, ''));
    });
    server.once('error', (err) => finish(reject, new Error(`cannot start the server: ${err.message}`)));
    server.once('exit', (code, signal) =>
      finish(reject, new Error(`the server exited before listening (code ${code}, signal ${signal})`))
    );
  });
}

async function stopServer({ keepData = false } = {}) {
  if (server && server.exitCode === null && server.signalCode === null) {
    const running = server;
    const exited = once(running, 'exit');
    running.kill('SIGTERM');
    const timer = setTimeout(() => running.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
  server = null;
  if (tmpDir && !keepData) {
    fs.rmSync(tmpDir, { recursive: true, force: true });
    tmpDir = null;
  }
}

// ---------------------------------------------------------------- page helpers

async function errorBanner(page) {
  return page.evaluate(() => {
    const banner = document.getElementById('error');
    const text = document.getElementById('error-text') || banner;
    return banner && !banner.hidden ? text.textContent.trim() : '';
  });
}

// Waits for a condition in the page; on timeout the message says what the page showed.
async function waitFor(page, description, fn, arg) {
  try {
    await page.waitForFunction(fn, arg, { timeout: UI_TIMEOUT_MS });
  } catch (err) {
    const banner = await errorBanner(page).catch(() => '');
    throw new Error(`timed out waiting for ${description}${banner ? ` (error banner: "${banner}")` : ''}`);
  }
}

async function signIn(page, username, password) {
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('#login-submit');
}

async function repOptions(page) {
  return page.$$eval('#rep option', (options) => options.map((o) => o.textContent.trim()));
}

// ---------------------------------------------------------------- the test

async function run() {
  const external = process.env.FIELDCRM_BASE_URL;
  const base = external ? external.replace(/\/+$/, '') : await startServer();
  log(`server: ${base}`);

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--no-sandbox'],
    headless: true,
  });
  const context = await browser.newContext({
    viewport: { width: 1440, height: 900 },
    timezoneId: process.env.FIELDCRM_TEST_TZ || 'Europe/Berlin',
    locale: 'en-GB',
    acceptDownloads: true,
  });
  const foreign = [];
  context.on('request', (request) => {
    const url = request.url();
    if (url.startsWith('blob:') || url.startsWith('data:')) return;
    if (url === base || url.startsWith(`${base}/`)) return;
    foreign.push(url);
  });
  const pageErrors = [];
  const page = await context.newPage();
  currentPage = page;
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    // CSP violations show up as console errors: the page must not need anything the
    // server's policy forbids.
    if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) pageErrors.push(msg.text());
  });

  await step('the dashboard page loads with a sign-in form', async () => {
    const response = await page.goto(`${base}/dashboard`);
    assert(response && response.ok(), `GET /dashboard answered ${response && response.status()}`);
    const type = response.headers()['content-type'] || '';
    assert(type.startsWith('text/html'), `GET /dashboard has content-type "${type}"`);
    await page.waitForSelector('#login-form', { state: 'visible', timeout: UI_TIMEOUT_MS });
  });

  await step('a wrong password shows an error and stays on the sign-in form', async () => {
    await signIn(page, 'mia', 'not-the-password');
    await waitFor(page, 'the error banner', () => {
      const banner = document.getElementById('error');
      return banner && !banner.hidden && banner.textContent.trim().length > 0;
    });
    const banner = await errorBanner(page);
    assert(/sign-in failed/i.test(banner), `unexpected error text: "${banner}"`);
    assert(await page.isVisible('#login-form'), 'the sign-in form is no longer visible');
    assert(await page.isHidden('#app-view'), 'the dashboard is shown after a failed sign-in');
  });

  await step('the manager signs in and sees the team in the rep picker', async () => {
    await signIn(page, 'mia', PASSWORD);
    await waitFor(page, 'anna, ben and clara in the rep picker', () => {
      const names = [...document.querySelectorAll('#rep option')].map((o) => o.textContent.trim());
      return ['anna', 'ben', 'clara'].every((n) => names.includes(n));
    });
    assert(await page.isHidden('#login-view'), 'the sign-in form is still shown');
    assert(await errorBanner(page) === '', `error banner after sign-in: "${await errorBanner(page)}"`);
  });

  const anna = await step("selecting anna shows her last check-in day's route on the map", async () => {
    await page.selectOption('#rep', { label: 'anna' });
    const repId = await page.$eval('#rep', (s) => s.value);
    const token = await page.evaluate(() => sessionStorage.getItem('fieldcrm.dashboard.token'));
    assert(token, 'no token kept in sessionStorage');
    const reps = await (await fetch(`${base}/v1/reps`, { headers: { Authorization: `Bearer ${token}` } })).json();
    const rep = reps.reps.find((r) => r.id === repId);
    assert(rep && rep.username === 'anna', 'the selected rep is not anna');
    assert(rep.last_check_in_at, 'anna has no check-in in the demo data');
    const expected = await page.evaluate((ms) => {
      const d = new Date(ms);
      const p = (n) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
    }, rep.last_check_in_at);
    const date = await page.inputValue('#date');
    assert(date === expected, `the date is ${date}, expected anna's last check-in day ${expected}`);
    await waitFor(page, 'a track segment and at least 3 visit markers on the map', () =>
      document.querySelectorAll('#route-map polyline.segment').length >= 1 &&
      document.querySelectorAll('#route-map circle.visit-marker').length >= 3);
    return { repId, date, token };
  });

  await step('without a tile source the route is drawn on the plain grid, and the page says so', async () => {
    const view = await page.evaluate(() => {
      const map = document.getElementById('route-map');
      return {
        inFrame: map.parentElement.classList.contains('map-frame'),
        grid: map.querySelectorAll('.map-grid line').length,
        scaleBar: map.querySelectorAll('.scale-bar').length,
        leaflet: document.querySelectorAll('.leaflet-container, .leaflet-tile').length,
        note: document.getElementById('map-note').textContent,
      };
    });
    assert(view.inFrame && view.grid > 0 && view.scaleBar === 1, `the fallback map: ${JSON.stringify(view)}`);
    assert(view.leaflet === 0, 'a base map was created without a tile source');
    assert(/plain grid/.test(view.note) && /nothing from the internet/.test(view.note), `the map note reads "${view.note}"`);
  });

  const markers = await step('every visit marker is coloured by its verification', async () => {
    const classes = await page.$$eval('#route-map circle.visit-marker', (circles) =>
      circles.map((c) => c.getAttribute('class')));
    for (const cls of classes) {
      const list = cls.split(/\s+/);
      assert(VERIFICATION_CLASSES.some((v) => list.includes(v)), `marker without a verification class: "${cls}"`);
    }
    const titled = await page.$$eval('#route-map circle.visit-marker', (circles) =>
      circles.every((c) => c.querySelector('title') && c.querySelector('title').textContent.includes('Check-in')));
    assert(titled, 'a visit marker has no tooltip');
    return classes.length;
  });

  await step('clicking a visit marker highlights its row in the visits table', async () => {
    const visitId = await page.$eval('#route-map g.visit', (g) => g.getAttribute('data-visit-id'));
    // Dispatched, not clicked at a point: markers may overlap.
    await page.$eval(`#route-map g.visit[data-visit-id="${visitId}"]`, (g) =>
      g.dispatchEvent(new MouseEvent('click', { bubbles: true })));
    await waitFor(page, 'the highlighted visit row', (id) => {
      const row = document.querySelector('#visits tr.highlight');
      return row && row.getAttribute('data-visit-id') === id;
    }, visitId);
  });

  await step('the visits table has a row per marker and a summary is shown', async () => {
    const rows = await page.$$eval('#visits tbody tr', (trs) => trs.length);
    assert(rows === markers, `the visits table has ${rows} rows, the map ${markers} markers`);
    const distance = await page.textContent('#sum-distance');
    assert(/^\d+\.\d\s*km/.test(distance.trim()), `total distance shown as "${distance}"`);
    const badges = await page.$$eval('#visits tbody .badge', (b) => b.length);
    assert(badges === rows, `${badges} verification badges for ${rows} visits`);
  });

  await step('the team overview lists the three reps, with a distance for anna', async () => {
    await waitFor(page, 'anna, ben and clara in the team overview', () => {
      const names = [...document.querySelectorAll('#team-overview tbody tr th')].map((c) => c.textContent.trim());
      return ['anna', 'ben', 'clara'].every((n) => names.includes(n));
    });
    const distance = await page.$$eval('#team-overview tbody tr', (trs) => {
      const row = trs.find((tr) => tr.querySelector('th').textContent.trim() === 'anna');
      return row.querySelector('[data-col="distance"]').textContent.trim();
    });
    assert(parseFloat(distance) > 0, `anna's distance in the team overview is "${distance}"`);
    const [from, to] = [await page.inputValue('#from'), await page.inputValue('#to')];
    assert(to === anna.date, `the overview ends on ${to}, not on the selected day ${anna.date}`);
    const days = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000 + 1;
    assert(days === 7, `the overview covers ${days} days (${from} to ${to}), expected 7`);
  });

  await step('the overdue customers table has rows', async () => {
    await waitFor(page, 'rows in the overdue table', () =>
      document.querySelectorAll('#overdue tbody tr').length > 0);
  });

  // The sales panels: every figure drawn is checked against the API's own answer.
  const api = async (token, apiPath) => {
    const response = await fetch(`${base}${apiPath}`, { headers: { Authorization: `Bearer ${token}` } });
    assert(response.ok, `GET ${apiPath} answered ${response.status}`);
    return response.json();
  };

  await step('the pipeline panel draws a bar per open stage of the currency, from the data', async () => {
    const report = await api(anna.token, '/v1/pipeline');
    const currency = report.totals[0] && report.totals[0].currency;
    assert(currency, 'the demo has no open deals');
    const stages = report.stages.filter((s) => s.currency === currency).map((s) => s.stage);
    await waitFor(page, 'the pipeline bars', (n) =>
      document.querySelectorAll('#pipeline-chart g.bar-row').length === n, stages.length);
    const drawn = await page.$$eval('#pipeline-chart g.bar-row', (gs) => gs.map((g) => g.getAttribute('data-key')));
    assert(drawn.join() === stages.join(), `bars for ${drawn.join()}, the API has ${stages.join()}`);
    const rows = await page.$$eval('#pipeline-table tbody tr', (trs) => trs.length);
    assert(rows === stages.length, `${rows} pipeline rows for ${stages.length} stages`);
    const reps = await page.$$eval('#pipeline-reps tbody tr th', (ths) => ths.map((th) => th.textContent.trim()));
    assert(['anna', 'ben', 'clara'].every((n) => reps.includes(n)), `the pipeline per rep lists ${reps.join(', ')}`);
  });

  await step('the funnel chart has a band per stage, and the win rate is shown', async () => {
    await waitFor(page, 'five funnel bands', () =>
      document.querySelectorAll('#funnel-chart g.funnel-stage rect.funnel-band').length === 5);
    const period = await page.inputValue('#sales-period');
    const funnel = await api(anna.token, `/v1/pipeline/funnel?period=${period}`);
    const counts = await page.$$eval('#funnel-chart text.funnel-count', (ts) => ts.map((t) => Number(t.textContent)));
    assert(counts.join() === funnel.stages.map((s) => s.reached).join(),
      `the funnel shows ${counts.join()}, the API ${funnel.stages.map((s) => s.reached).join()}`);
    await waitFor(page, 'the win rate line', () => document.getElementById('win-rate').textContent.trim().length > 0);
  });

  await step('the forecast chart has two bars for each of six months', async () => {
    await waitFor(page, 'six forecast months', () =>
      document.querySelectorAll('#forecast-chart g.month').length === 6);
    const bars = await page.$$eval('#forecast-chart g.month rect', (rs) => rs.length);
    assert(bars === 12, `${bars} forecast bars, expected 12`);
  });

  await step('big deals lists the open deals over the amount, largest first', async () => {
    const report = await api(anna.token, '/v1/pipeline/big-deals?limit=20');
    await waitFor(page, 'the big deals rows', (n) =>
      document.querySelectorAll('#big-deals tbody tr').length === n, report.deals.length);
    const ids = await page.$$eval('#big-deals tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-opportunity-id')));
    assert(ids.join() === report.deals.map((d) => d.opportunity_id).join(), 'the big deals differ from the API');
    const amounts = report.deals.map((d) => d.amount_minor);
    assert(amounts.every((a, i) => i === 0 || amounts[i - 1] >= a), 'big deals are not largest first');
  });

  await step('the orders and revenue panel draws bars per rep, customer and product from the data', async () => {
    await waitFor(page, 'the revenue panel loaded', () =>
      document.getElementById('revenue-total').textContent.trim().length > 0);
    const period = await page.inputValue('#revenue-period');
    const currency = await page.$eval('#revenue-currency', (s) => s.value || null);
    const totals = (await api(anna.token, `/v1/revenue?period=${period}`)).totals;
    assert((totals[0] && totals[0].currency) === (currency || undefined) || (!totals.length && !currency),
      `the panel shows currency ${currency}, the API's first is ${totals[0] && totals[0].currency}`);
    for (const by of ['rep', 'customer', 'product']) {
      const report = await api(anna.token, `/v1/revenue?period=${period}&by=${by}&limit=100`);
      const groups = report.groups.filter((g) => g.currency === currency).slice(0, 10);
      await waitFor(page, `${groups.length} revenue bars per ${by}`, ([kind, n]) =>
        document.querySelectorAll(`#revenue-${kind}-chart g.bar-row`).length === n, [by, groups.length]);
      const drawn = await page.$$eval(`#revenue-${by}-chart g.bar-row`, (gs) => gs.map((g) => g.getAttribute('data-key')));
      assert(drawn.join() === groups.map((g) => g.id).join(), `revenue bars per ${by}: ${drawn.join()}, the API has ${groups.map((g) => g.id).join()}`);
      const nets = groups.map((g) => g.net_minor);
      assert(nets.every((n, i) => i === 0 || nets[i - 1] >= n), `revenue per ${by} is not largest first`);
      assert(await page.isHidden(`#revenue-${by}-empty`) === groups.length > 0, `the empty note per ${by} is wrong`);
    }
    const unknown = await api(anna.token, `/v1/revenue/unknown-products?period=${period}&limit=50`);
    await waitFor(page, 'the unknown-product lines as the API lists them', (n) =>
      document.querySelectorAll('#revenue-unknown li.flag-unknown_product').length === n, unknown.lines.length);
  });

  await step('order lines naming an unknown product are flagged, in the list and in the product bars', async () => {
    // The demo's orders name catalog products only: the API's answer for this step names one
    // the server does not know, as a device may write it.
    const period = await page.inputValue('#revenue-period');
    const line = {
      order_id: 'o-1', line_id: 'l-1', product_id: 'no-such-product', sku: 'X-404', name: 'From the back room',
      quantity: 3, net_minor: 4500, currency: 'EUR', customer_id: 'c-1', rep_id: anna.repId, ordered_at: Date.now(),
    };
    const byProduct = {
      period, by: 'product', currency: null, truncated: false,
      totals: [{ currency: 'EUR', orders: 1, net_minor: 9500, gross_minor: 9500 }],
      groups: [
        { id: 'p-known', name: 'Beans', sku: 'B-1', known: true, currency: 'EUR', lines: 1, quantity: 2, net_minor: 5000, gross_minor: 5000 },
        { id: 'no-such-product', name: 'From the back room', sku: 'X-404', known: false, currency: 'EUR', lines: 1, quantity: 3, net_minor: 4500, gross_minor: 4500 },
      ],
    };
    const json = (body) => ({ status: 200, contentType: 'application/json', body: JSON.stringify(body) });
    const unknownUrl = /\/v1\/revenue\/unknown-products\?/;
    const byProductUrl = /\/v1\/revenue\?.*\bby=product\b/;
    await page.route(unknownUrl, (route) => route.fulfill(json({ period, count: 7, lines: [line] })));
    await page.route(byProductUrl, (route) => route.fulfill(json(byProduct)));
    try {
      await page.dispatchEvent('#revenue-period', 'change');
      await waitFor(page, 'one flagged unknown-product line', () =>
        document.querySelectorAll('#revenue-unknown li.flag-unknown_product').length === 1);
      const flag = await page.$eval('#revenue-unknown li.flag-unknown_product', (li) => li.textContent);
      assert(flag.includes('X-404') && flag.includes('Unknown product'), `the flag reads "${flag}"`);
      assert(await page.$eval('#revenue-unknown-count', (n) => n.textContent) === '7', 'the count is not the API\'s');
      assert((await page.$eval('#revenue-unknown-more', (n) => n.textContent)).includes('6 more'), 'the unlisted lines are not said');
      // The demo's orders are in EUR, the panel's first currency.
      await page.selectOption('#revenue-currency', 'EUR');
      await waitFor(page, 'the unknown product drawn as unknown', () =>
        [...document.querySelectorAll('#revenue-product-chart g.bar-row')].some((g) =>
          g.getAttribute('data-key') === 'no-such-product' && g.classList.contains('bar-unknown')));
      const known = await page.$eval('#revenue-product-chart g.bar-row[data-key="p-known"]', (g) => g.classList.contains('bar-unknown'));
      assert(!known, 'a known product is drawn as unknown');
    } finally {
      await page.unroute(unknownUrl);
      await page.unroute(byProductUrl);
    }
    await page.dispatchEvent('#revenue-period', 'change');
    await waitFor(page, 'the real unknown-product lines again', () =>
      document.querySelectorAll('#revenue-unknown li[data-order-id="o-1"]').length === 0);
  });

  await step('the manager sets a target and sees its attainment and the ranking', async () => {
    await page.selectOption('#target-rep', { label: 'anna' });
    await page.selectOption('#target-metric', 'deals_won');
    await page.fill('#target-value', '2');
    await page.click('#target-save');
    await waitFor(page, "anna's deals-won attainment", (repId) => {
      const cell = document.querySelector(`#targets-table tr[data-rep-id="${repId}"] td[data-metric="deals_won"]`);
      return cell && /\/ 2/.test(cell.textContent);
    }, anna.repId);
    await page.selectOption('#ranking-metric', 'deals_won');
    await waitFor(page, 'anna ranked first', (repId) => {
      const first = document.querySelector('#ranking li.ranking-row');
      return first && first.getAttribute('data-rep-id') === repId && first.querySelector('.ranking-rank').textContent === '#1';
    }, anna.repId);
    const period = await page.inputValue('#targets-period');
    const targets = await api(anna.token, `/v1/targets?period=${period}`);
    const annaTargets = targets.reps.find((r) => r.rep_id === anna.repId).targets;
    assert(annaTargets.some((t) => t.metric === 'deals_won' && t.target === 2), 'the target was not stored');
  });

  await step("a revenue target shows the rep's revenue from orders as its actual, and ranks", async () => {
    await page.selectOption('#target-rep', { label: 'anna' });
    await page.selectOption('#target-metric', 'revenue');
    await page.fill('#target-currency', 'EUR');
    await page.fill('#target-value', '1000');
    await page.click('#target-save');
    const period = await page.inputValue('#targets-period');
    await waitFor(page, "anna's revenue attainment", (repId) => {
      const cell = document.querySelector(`#targets-table tr[data-rep-id="${repId}"] td[data-metric="revenue"]`);
      return cell && /\//.test(cell.textContent) && !cell.textContent.includes('no actual');
    }, anna.repId);
    const targets = await api(anna.token, `/v1/targets?period=${period}`);
    const revenue = targets.reps.find((r) => r.rep_id === anna.repId).targets.find((t) => t.metric === 'revenue');
    assert(revenue && revenue.target === 100000 && Number.isInteger(revenue.actual), `anna's revenue target: ${JSON.stringify(revenue)}`);
    const percent = await page.$eval(`#targets-table tr[data-rep-id="${anna.repId}"] td[data-metric="revenue"] .attainment-percent`, (n) => n.textContent);
    assert(percent === `${revenue.percent}%`, `the cell shows ${percent}, the API ${revenue.percent}%`);
    await page.selectOption('#ranking-metric', 'revenue');
    await waitFor(page, 'anna ranked on revenue', (repId) => {
      const row = document.querySelector(`#ranking li.ranking-row[data-rep-id="${repId}"]`);
      return row && /^#\d+$/.test(row.querySelector('.ranking-rank').textContent);
    }, anna.repId);
  });

  await step('the analytics panels draw the RFM grid, the Pareto curve, the CLV bars and the churn list from the data', async () => {
    const overview = await api(anna.token, '/v1/analytics');
    assert(overview.run, 'the demo has no analytics run');
    const panels = await api(anna.token, '/v1/analytics/panels');
    const rules = await api(anna.token, '/v1/analytics/rules?limit=10');
    await waitFor(page, 'the RFM grid', () => document.querySelectorAll('#rfm-grid g.rfm-cell').length === 25);
    const cells = await page.$$eval('#rfm-grid g.rfm-cell', (gs) => gs.map((g) =>
      [Number(g.getAttribute('data-r')), Number(g.getAttribute('data-f')), Number(g.getAttribute('data-count'))]));
    for (const [r, f, count] of cells) {
      assert(overview.rfm_grid[r - 1][f - 1] === count, `RFM cell R${r} F${f} shows ${count}, the API has ${overview.rfm_grid[r - 1][f - 1]}`);
    }
    assert(cells.reduce((sum, c) => sum + c[2], 0) > 0, 'the RFM grid is empty');
    const points = await page.$eval('#pareto-chart path.pareto-line', (p) => Number(p.getAttribute('data-points')));
    assert(points === panels.pareto.length, `the Pareto curve has ${points} points, the API ${panels.pareto.length}`);
    const bins = await page.$$eval('#clv-chart rect.clv-bin', (rs) => rs.map((r) => Number(r.getAttribute('data-count'))));
    assert(bins.join() === panels.clv.counts.join(), `CLV bars ${bins.join()}, the API ${panels.clv.counts.join()}`);
    const churn = await page.$$eval('#churn-list tbody tr', (rows) => rows.map((r) => r.getAttribute('data-id')));
    assert(churn.join() === panels.churn.map((c) => c.customer_id).join(), "the churn list is not the API's, in its order");
    if (panels.churn.length > 0) {
      const owner = await page.$eval('#churn-list tbody tr td:nth-child(2)', (td) => td.textContent);
      assert(owner === (panels.churn[0].owner || '–'), `the first at-risk customer's owner shows ${owner}`);
    }
    const top = await page.$$eval('#top-clv tbody tr', (rows) => rows.length);
    assert(top === panels.top_clv.length, `${top} top customers drawn, the API has ${panels.top_clv.length}`);
    const ruleRows = await page.$$eval('#rules-table tbody tr', (rows) => rows.length);
    assert(ruleRows === rules.rules.length, `${ruleRows} rules drawn, the API has ${rules.rules.length}`);
  });

  await step('the manager sets up a campaign on a segment, previews it, starts it and sees its results', async () => {
    await page.waitForSelector('#campaigns-card', { state: 'visible', timeout: UI_TIMEOUT_MS });
    await page.fill('#campaign-name', 'Win back the A customers');
    await page.check('#campaign-form input[name="abc"][value="A"]');
    await page.fill('#campaign-control', '20');
    await page.fill('#campaign-script', 'Offer the autumn range');
    const expected = await fetch(`${base}/v1/campaigns/preview`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${anna.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ filter: { abc_classes: ['A'] } }),
    }).then((r) => r.json());
    assert(expected.matching > 0, `no A customer in the demo: ${JSON.stringify(expected)}`);
    await page.click('#campaign-preview-button');
    await waitFor(page, 'the preview count', (n) =>
      document.getElementById('campaign-preview').textContent === `${n} customers match`, expected.matching);
    await page.click('#campaign-save');
    await waitFor(page, 'the draft in the list', () =>
      document.querySelectorAll('#campaigns tbody tr[data-status="draft"] button.campaign-start').length === 1);
    await page.click('#campaigns tbody tr[data-status="draft"] button.campaign-start');
    await waitFor(page, 'the campaign started', () =>
      document.querySelectorAll('#campaigns tbody tr[data-status="started"]').length === 1);
    const id = await page.$eval('#campaigns tbody tr[data-status="started"]', (tr) => tr.getAttribute('data-id'));
    const { results } = await api(anna.token, `/v1/campaigns/${id}`);
    assert(results.treated + results.control === expected.matching, `targets ${results.treated} + ${results.control}, preview ${expected.matching}`);
    assert(results.control > 0 && results.basis === 'control_group', `control ${results.control}, basis ${results.basis}`);
    const targetsCell = await page.$eval('#campaigns tbody tr[data-status="started"] td:nth-child(5)', (td) => td.textContent);
    assert(targetsCell.startsWith(String(results.treated)), `the targets cell shows ${targetsCell}, the API ${results.treated} treated`);
    assert((await page.$eval('#campaign-note', (n) => n.textContent)).startsWith('Started:'), 'no start report shown');
  });

  await step('the flags list is shown', async () => {
    const flags = await page.$$eval('#flags', (lists) => {
      if (lists.length !== 1) return null;
      return { items: lists[0].querySelectorAll('li.flag').length, text: lists[0].textContent };
    });
    assert(flags, 'no #flags list');
    assert(flags.items > 0 || flags.text.includes('No flags'), 'the flags list has neither flags nor "No flags"');
    if (flags.items > 0) {
      const kinds = await page.$$eval('#flags li.flag', (items) => items.map((li) => li.className));
      assert(kinds.every((k) => /\bflag-[a-z_]+\b/.test(k)), `a flag without its kind class: ${kinds.join(', ')}`);
    }
  });

  await step('the CSV export downloads a file with a header line', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: UI_TIMEOUT_MS }),
      page.click('#export-csv'),
    ]);
    const stream = await download.createReadStream();
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const text = Buffer.concat(chunks).toString('utf8');
    const [header] = text.split(/\r?\n/);
    assert(download.suggestedFilename().endsWith('.csv'), `the download is named ${download.suggestedFilename()}`);
    assert(header.includes(',') && /^[A-Za-z_"]/.test(header), `the CSV does not start with a header line: "${header.slice(0, 120)}"`);
    assert(text.split(/\r?\n/).filter(Boolean).length > 1, 'the CSV has no data line');
    assert(await errorBanner(page) === '', `error banner after the export: "${await errorBanner(page)}"`);
  });

  const screenshot = path.join(REPO, 'target', 'dashboard.png');
  await step("a screenshot of the manager's view is written", async () => {
    fs.mkdirSync(path.dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    assert(fs.statSync(screenshot).size > 10_000, 'the screenshot is suspiciously small');
  });

  await step('signing out returns to the sign-in form and forgets the token', async () => {
    await page.click('#sign-out');
    await page.waitForSelector('#login-form', { state: 'visible', timeout: UI_TIMEOUT_MS });
    const token = await page.evaluate(() => sessionStorage.getItem('fieldcrm.dashboard.token'));
    assert(token === null, 'the token is still in sessionStorage');
  });

  await step('a rep sees only themself and no team overview', async () => {
    await signIn(page, 'ben', PASSWORD);
    await waitFor(page, 'ben in the rep picker', () =>
      [...document.querySelectorAll('#rep option')].some((o) => o.textContent.trim() === 'ben'));
    const names = await repOptions(page);
    assert(names.length === 1 && names[0] === 'ben', `ben's rep picker lists: ${names.join(', ')}`);
    await waitFor(page, 'the rep note instead of the team overview', () => {
      const note = document.getElementById('team-note');
      const table = document.getElementById('team-overview');
      return note && !note.hidden && note.offsetParent !== null && table.offsetParent === null;
    });
    // Nor can ben's session see anna's route.
    const token = await page.evaluate(() => sessionStorage.getItem('fieldcrm.dashboard.token'));
    const status = (await fetch(`${base}/v1/routes/${anna.repId}/${anna.date}?tz_offset_min=60`, {
      headers: { Authorization: `Bearer ${token}` },
    })).status;
    assert(status === 403, `ben reading anna's route got HTTP ${status}, expected 403`);
    // His sales panels: his own targets only, and no form to set one.
    await waitFor(page, "ben's own row in the targets table", () =>
      document.querySelectorAll('#targets-table tbody tr').length === 1);
    assert(await page.isHidden('#target-form'), 'a rep is offered the form to set targets');
    await waitFor(page, 'the funnel for the rep', () =>
      document.querySelectorAll('#funnel-chart g.funnel-stage').length === 5);
    assert(await page.isHidden('#campaigns-card'), 'a rep is shown the campaigns panel');
    assert(await errorBanner(page) === '', `error banner for the rep: "${await errorBanner(page)}"`);
  });

  await step('nothing was requested from another host and the page raised no error', async () => {
    assert(foreign.length === 0, `requests to other hosts: ${foreign.join(', ')}`);
    assert(pageErrors.length === 0, `errors in the page: ${pageErrors.join(' | ')}`);
  });

  await context.close();
  if (external) {
    log('# skipped: the base-map steps start their own server (FIELDCRM_BASE_URL is set)');
  } else {
    await runWithTiles({ date: anna.date, markers });
  }
  return { screenshot, markers };
}

// ---------------------------------------------------------------- a tile source

// A tile server of its own on loopback: every /tiles/{z}/{x}/{y}.png is a generated 256 px PNG
// (a checkerboard of two greens, so a drawn tile is not blank); other paths are 404.
let tileServer = null;

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

// A 256 x 256 RGB PNG of one colour with a darker 1 px border.
function tilePng([r, g, b]) {
  const size = 256;
  const raw = Buffer.alloc((size * 3 + 1) * size);
  for (let y = 0; y < size; y += 1) {
    const row = y * (size * 3 + 1);
    for (let x = 0; x < size; x += 1) {
      const edge = x === 0 || y === 0 ? 0.8 : 1;
      raw.set([r * edge, g * edge, b * edge].map(Math.round), row + 1 + x * 3);
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, no filter, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', zlib.deflateSync(raw)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

async function startTileServer() {
  const tiles = [tilePng([200, 225, 200]), tilePng([180, 210, 185])];
  const requests = [];
  const httpServer = http.createServer((req, res) => {
    requests.push(req.url);
    const match = /^\/tiles\/(\d+)\/(\d+)\/(\d+)\.png$/.exec(req.url);
    if (req.method !== 'GET' || !match) {
      res.writeHead(404).end();
      return;
    }
    const [, , x, y] = match.map(Number);
    res.writeHead(200, { 'Content-Type': 'image/png', 'Cache-Control': 'no-store' });
    res.end(tiles[(x + y) % 2]);
  });
  httpServer.listen(0, '127.0.0.1');
  await once(httpServer, 'listening');
  const origin = `http://127.0.0.1:${httpServer.address().port}`;
  tileServer = { httpServer, origin, requests };
  return tileServer;
}

async function stopTileServer() {
  if (!tileServer) return;
  const { httpServer } = tileServer;
  tileServer = null;
  httpServer.closeAllConnections();
  await new Promise((resolve) => httpServer.close(resolve));
}

// Where the page shows the tiles and the route's markers: each loaded tile's z/x/y and screen
// box, each visit marker's id, classes and screen centre, the map's box.
async function basemapView(page) {
  return page.evaluate(() => {
    const box = (node) => {
      const r = node.getBoundingClientRect();
      return { left: r.left, top: r.top, width: r.width, height: r.height };
    };
    const container = document.querySelector('.basemap.leaflet-container');
    const tiles = [...document.querySelectorAll('img.leaflet-tile.leaflet-tile-loaded')].map((img) => {
      const m = /\/tiles\/(\d+)\/(\d+)\/(\d+)\.png$/.exec(img.src);
      return { src: img.src, z: m && Number(m[1]), x: m && Number(m[2]), y: m && Number(m[3]),
        natural: img.naturalWidth, box: box(img) };
    });
    const markers = [...document.querySelectorAll('#route-map circle.visit-marker')].map((c) => {
      const b = c.getBoundingClientRect();
      return { id: c.getAttribute('data-visit-id'), cls: c.getAttribute('class'),
        x: b.left + b.width / 2, y: b.top + b.height / 2 };
    });
    return { map: container && box(container), tiles, markers };
  });
}

// Web Mercator: where a point lies at zoom z, in tile pixels (256 a tile).
function mercator(lat, lon, z) {
  const scale = 256 * 2 ** z;
  const sin = Math.sin((lat * Math.PI) / 180);
  return [((lon + 180) / 360) * scale, (0.5 - Math.log((1 + sin) / (1 - sin)) / (4 * Math.PI)) * scale];
}

// Every visit marker sits where its check-in lies on the drawn tiles (within 2 px).
function assertOnTheTiles(view, visits) {
  const tile = view.tiles[0];
  assert(tile && tile.natural === 256, `no drawn tile to measure against: ${JSON.stringify(view.tiles.slice(0, 2))}`);
  const k = tile.box.width / 256;
  for (const marker of view.markers) {
    const visit = visits.find((v) => v.visit_id === marker.id);
    assert(visit, `a marker for a visit the route does not have: ${marker.id}`);
    const [px, py] = mercator(visit.lat, visit.lon, tile.z);
    const x = tile.box.left + (px - tile.x * 256) * k;
    const y = tile.box.top + (py - tile.y * 256) * k;
    assert(Math.hypot(x - marker.x, y - marker.y) <= 2,
      `visit ${visit.sequence} is drawn at ${marker.x.toFixed(1)},${marker.y.toFixed(1)}, its check-in lies at ${x.toFixed(1)},${y.toFixed(1)} on tile ${tile.z}/${tile.x}/${tile.y}`);
  }
}

async function runWithTiles({ date, markers }) {
  const bin = serverBin();

  await step('a tile URL template without {y} stops the server at startup with the reason', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fieldcrm-dashboard-bad-'));
    try {
      const db = path.join(dir, 'server.sqlite');
      const child = spawn(bin, ['--db', db, 'serve', '--listen', '127.0.0.1:0', '--map-tiles', 'http://127.0.0.1:9/tiles/{z}/{x}.png'],
        { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk) => { stderr += chunk; });
      const [code] = await once(child, 'exit');
      assert(code !== 0, 'the server accepted a template without {y}');
      assert(stderr.includes('--map-tiles') && stderr.includes('{y}'), `the error reads: ${stderr.trim()}`);
      assert(!fs.existsSync(db), 'the refused start created a database');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  const tiles = await startTileServer();
  await stopServer({ keepData: true });
  const template = `${tiles.origin}/tiles/{z}/{x}/{y}.png`;
  const base = await startServer(['--map-tiles', template, '--map-attribution', 'FieldCRM test tiles <b>']);
  log(`server: ${base}, tiles: ${template}`);

  const context = await browser.newContext({
    viewport: { width: 1440, height: 900 },
    timezoneId: process.env.FIELDCRM_TEST_TZ || 'Europe/Berlin',
    locale: 'en-GB',
  });
  const foreign = [];
  context.on('request', (request) => {
    const url = request.url();
    if (url.startsWith('blob:') || url.startsWith('data:')) return;
    if (url === base || url.startsWith(`${base}/`) || url.startsWith(`${tiles.origin}/tiles/`)) return;
    foreign.push(url);
  });
  const pageErrors = [];
  const page = await context.newPage();
  currentPage = page;
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) pageErrors.push(msg.text());
  });

  await step("with a tile source the page's policy lets it load images from the tile host only", async () => {
    const response = await page.goto(`${base}/dashboard/`);
    const policy = response.headers()['content-security-policy'] || '';
    assert(policy.includes(`img-src 'self' data: blob: ${tiles.origin};`), `the policy is "${policy}"`);
    assert(/script-src 'self';/.test(policy) && /connect-src 'self'/.test(policy), `the policy is "${policy}"`);
    await page.waitForSelector('#login-form', { state: 'visible', timeout: UI_TIMEOUT_MS });
  });

  let route = null;
  await step("anna's route is drawn on tiles from the configured source", async () => {
    await signIn(page, 'mia', PASSWORD);
    await waitFor(page, 'anna in the rep picker', () =>
      [...document.querySelectorAll('#rep option')].some((o) => o.textContent.trim() === 'anna'));
    await page.selectOption('#rep', { label: 'anna' });
    assert(await page.inputValue('#date') === date, `the date is ${await page.inputValue('#date')}, expected ${date}`);
    await waitFor(page, 'loaded tiles and the route in the overlay pane', () => {
      const map = document.getElementById('route-map');
      return document.querySelectorAll('.basemap img.leaflet-tile-loaded').length >= 4 &&
        map.closest('.leaflet-overlay-pane') !== null &&
        map.querySelectorAll('polyline.segment').length >= 1 &&
        map.querySelectorAll('circle.visit-marker').length >= 3;
    });
    const asked = tiles.requests.filter((url) => /^\/tiles\/\d+\/\d+\/\d+\.png$/.test(url));
    assert(asked.length >= 4 && asked.length === tiles.requests.length, `the tile server was asked for ${tiles.requests.join(', ')}`);
    const token = await page.evaluate(() => sessionStorage.getItem('fieldcrm.dashboard.token'));
    const repId = await page.$eval('#rep', (s) => s.value);
    const tz = await page.evaluate((d) => -new Date(`${d}T00:00:00`).getTimezoneOffset(), date);
    const answer = await fetch(`${base}/v1/routes/${repId}/${date}?tz_offset_min=${tz}`, { headers: { Authorization: `Bearer ${token}` } });
    assert(answer.ok, `the route API answered ${answer.status}`);
    route = await answer.json();
  });

  await step('the track, the gaps, the customers and every visit marker are on the map, where they lie', async () => {
    const view = await basemapView(page);
    assert(view.markers.length === markers, `${view.markers.length} markers on the base map, ${markers} on the grid`);
    for (const m of view.markers) {
      assert(VERIFICATION_CLASSES.some((v) => m.cls.split(/\s+/).includes(v)), `marker without a verification class: "${m.cls}"`);
      assert(m.x >= view.map.left && m.x <= view.map.left + view.map.width && m.y >= view.map.top && m.y <= view.map.top + view.map.height,
        `visit ${m.id} is outside the map`);
    }
    assertOnTheTiles(view, route.visits);
    const drawn = await page.evaluate(() => {
      const map = document.getElementById('route-map');
      return {
        segments: map.querySelectorAll('polyline.segment').length,
        gaps: map.querySelectorAll('line.gap').length,
        customers: map.querySelectorAll('rect.customer').length,
        grid: map.querySelectorAll('.map-grid').length,
        titled: [...map.querySelectorAll('circle.visit-marker')].every((c) => (c.querySelector('title')?.textContent || '').includes('Check-in')),
        attribution: document.querySelector('.leaflet-control-attribution')?.textContent || '',
        scale: document.querySelectorAll('.leaflet-control-scale').length,
        note: document.getElementById('map-note').textContent,
      };
    });
    const segments = route.segments.filter((s) => s.points.length).length;
    assert(drawn.segments === segments, `${drawn.segments} track segments drawn, the route has ${segments}`);
    assert(drawn.gaps === Math.max(segments - 1, 0), `${drawn.gaps} gaps drawn for ${segments} segments`);
    assert(drawn.customers > 0 && drawn.grid === 0 && drawn.titled, `the overlay: ${JSON.stringify(drawn)}`);
    // The attribution is the server's text, shown as text.
    assert(drawn.attribution.includes('FieldCRM test tiles <b>'), `the attribution reads "${drawn.attribution}"`);
    assert(drawn.scale === 1 && /tile server/.test(drawn.note), `scale ${drawn.scale}, note "${drawn.note}"`);
  });

  await step('clicking a visit marker on the map highlights its row', async () => {
    const visitId = await page.$eval('#route-map g.visit', (g) => g.getAttribute('data-visit-id'));
    await page.$eval(`#route-map g.visit[data-visit-id="${visitId}"]`, (g) =>
      g.dispatchEvent(new MouseEvent('click', { bubbles: true })));
    await waitFor(page, 'the highlighted visit row', (id) => {
      const row = document.querySelector('#visits tr.highlight');
      return row && row.getAttribute('data-visit-id') === id;
    }, visitId);
  });

  await step('zooming in fetches the next zoom level and redraws the route on it', async () => {
    const before = (await basemapView(page)).tiles[0].z;
    await page.click('.leaflet-control-zoom-in');
    await waitFor(page, 'tiles of the next zoom level', (z) =>
      [...document.querySelectorAll('.basemap img.leaflet-tile-loaded')].some((img) => img.src.includes(`/tiles/${z}/`)), before + 1);
    await waitFor(page, 'the zoom animation to end', () => !document.querySelector('.leaflet-zoom-anim'));
    const view = await basemapView(page);
    view.tiles = view.tiles.filter((t) => t.z === before + 1);
    const inside = view.markers.filter((m) => m.x >= view.map.left && m.x <= view.map.left + view.map.width &&
      m.y >= view.map.top && m.y <= view.map.top + view.map.height);
    assert(inside.length > 0, 'no marker left in view after zooming in once');
    assertOnTheTiles(view, route.visits);
    assert(await page.$$eval('#route-map g.visit.highlight', (gs) => gs.length) === 1, 'the picked visit lost its mark in the redraw');
  });

  await step("a day with a GPS gap draws it dashed between the segments' ends on the map", async () => {
    const token = await page.evaluate(() => sessionStorage.getItem('fieldcrm.dashboard.token'));
    const repId = await page.$eval('#rep', (s) => s.value);
    let gapDay = null;
    for (let back = 0; back < 8 && !gapDay; back += 1) {
      const day = new Date(Date.parse(`${date}T00:00:00Z`) - back * 86_400_000).toISOString().slice(0, 10);
      const tz = await page.evaluate((d) => -new Date(`${d}T00:00:00`).getTimezoneOffset(), day);
      const answer = await fetch(`${base}/v1/routes/${repId}/${day}?tz_offset_min=${tz}`, { headers: { Authorization: `Bearer ${token}` } });
      const dayRoute = await answer.json();
      if ((dayRoute.gaps || []).length > 0) gapDay = { day, route: dayRoute };
    }
    assert(gapDay, "no day of anna's in the demo week has a GPS gap");
    await page.fill('#date', gapDay.day);
    await page.dispatchEvent('#date', 'change');
    const segments = gapDay.route.segments.filter((s) => s.points.length).length;
    await waitFor(page, "the gap day's segments and gaps on the map", (n) => {
      const map = document.getElementById('route-map');
      return map.closest('.leaflet-overlay-pane') !== null &&
        map.querySelectorAll('polyline.segment').length === n && map.querySelectorAll('line.gap').length === n - 1;
    }, segments);
    const joins = await page.evaluate(() => {
      const map = document.getElementById('route-map');
      const ends = [...map.querySelectorAll('polyline.segment')].map((p) => p.getAttribute('points').split(' '));
      return [...map.querySelectorAll('line.gap')].map((line, i) => ({
        from: `${Number(line.getAttribute('x1')).toFixed(1)},${Number(line.getAttribute('y1')).toFixed(1)}`,
        to: `${Number(line.getAttribute('x2')).toFixed(1)},${Number(line.getAttribute('y2')).toFixed(1)}`,
        end: ends[i][ends[i].length - 1],
        start: ends[i + 1][0],
        dashed: getComputedStyle(line).strokeDasharray,
        title: line.querySelector('title')?.textContent || '',
      }));
    });
    for (const join of joins) {
      assert(join.from === join.end && join.to === join.start, `a gap does not join its segments: ${JSON.stringify(join)}`);
      assert(join.dashed && join.dashed !== 'none', `a gap is drawn solid: ${JSON.stringify(join)}`);
      assert(join.title.startsWith('GPS gap'), `a gap without its tooltip: ${JSON.stringify(join)}`);
    }
    await waitFor(page, 'the tiles under the gap day', () =>
      document.querySelectorAll('.basemap img.leaflet-tile-loaded').length >= 4);
    assertOnTheTiles(await basemapView(page), gapDay.route.visits);
  });

  await step('a day without GPS data says so on the plain view, and the next route is back on the map', async () => {
    const empty = new Date(Date.parse(`${date}T00:00:00Z`) - 60 * 86_400_000).toISOString().slice(0, 10);
    await page.fill('#date', empty);
    await page.dispatchEvent('#date', 'change');
    await waitFor(page, 'the "No GPS data" note with the base map hidden', () => {
      const map = document.getElementById('route-map');
      return map.parentElement.classList.contains('map-frame') && document.getElementById('route-basemap').hidden &&
        /No GPS data/.test(map.textContent) && map.querySelectorAll('.visit-marker').length === 0;
    });
    await page.fill('#date', date);
    await page.dispatchEvent('#date', 'change');
    await waitFor(page, "the route back on the shown base map", (n) => {
      const map = document.getElementById('route-map');
      return !document.getElementById('route-basemap').hidden && map.closest('.leaflet-overlay-pane') !== null &&
        map.querySelectorAll('circle.visit-marker').length === n;
    }, markers);
    await waitFor(page, 'the tiles under it', () =>
      document.querySelectorAll('.basemap img.leaflet-tile-loaded').length >= 4);
    assertOnTheTiles(await basemapView(page), route.visits);
  });

  const screenshot = path.join(REPO, 'target', 'dashboard-basemap.png');
  await step('a screenshot of the route on the base map is written', async () => {
    fs.mkdirSync(path.dirname(screenshot), { recursive: true });
    await page.locator('#route-card').screenshot({ path: screenshot });
    assert(fs.statSync(screenshot).size > 10_000, 'the screenshot is suspiciously small');
  });

  await step('with tiles too, nothing but this server and the tile server was asked, and the page raised no error', async () => {
    assert(foreign.length === 0, `requests to other hosts: ${foreign.join(', ')}`);
    assert(pageErrors.length === 0, `errors in the page: ${pageErrors.join(' | ')}`);
  });

  await context.close();
  await stopTileServer();
  log(`screenshot: ${screenshot}`);
}

// ---------------------------------------------------------------- main

async function cleanup() {
  if (browser) {
    await browser.close().catch(() => {});
    browser = null;
  }
  await stopServer().catch(() => {});
  await stopTileServer().catch(() => {});
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    cleanup().finally(() => process.exit(130));
  });
}

let exitCode = 0;
try {
  const { screenshot, markers } = await run();
  log(`screenshot: ${screenshot}`);
  log(`dashboard e2e: manager and rep views checked, ${markers} visit markers on anna's route`);
  log(`${passed} passed, 0 failed`);
} catch (err) {
  exitCode = 1;
  log(`not ok - ${err.step || 'setup'}: ${err.message}`);
  if (currentPage) {
    const shot = path.join(REPO, 'target', 'dashboard-failure.png');
    try {
      fs.mkdirSync(path.dirname(shot), { recursive: true });
      await currentPage.screenshot({ path: shot, fullPage: true });
      log(`screenshot of the failure: ${shot}`);
    } catch (_) {
      // The browser may be gone already.
    }
  }
  if (serverLog.length) {
    log('--- last lines of the server output ---');
    for (const line of serverLog.slice(-40)) log(line);
  }
  log(`${passed} passed, 1 failed`);
} finally {
  await cleanup();
}
process.exit(exitCode);
