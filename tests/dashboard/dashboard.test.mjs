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
//
// The steps are split by concern: harness.mjs (the server, the browser, the page helpers),
// sales-panels.mjs (the sales and analytics panels), basemap.mjs with tile-server.mjs (the route
// on a base map); this file runs them in order.

import fs from 'node:fs';
import path from 'node:path';
import { runWithTiles } from './basemap.mjs';
import {
  PASSWORD,
  REPO,
  UI_TIMEOUT_MS,
  VERIFICATION_CLASSES,
  assert,
  closeBrowser,
  errorBanner,
  launchBrowser,
  log,
  passedSteps,
  repOptions,
  reportFailure,
  signIn,
  startServer,
  step,
  stopServer,
  waitFor,
  openWatchedPage,
} from './harness.mjs';
import { salesPanelSteps } from './sales-panels.mjs';
import { stopTileServer } from './tile-server.mjs';

// ---------------------------------------------------------------- the test

async function run() {
  const external = process.env.FIELDCRM_BASE_URL;
  const base = external ? external.replace(/\/+$/, '') : await startServer();
  log(`server: ${base}`);

  const browser = await launchBrowser();
  const { context, page, foreign, pageErrors } = await openWatchedPage(browser, base, { acceptDownloads: true });

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

  await salesPanelSteps(page, base, anna);

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
    await runWithTiles(browser, { date: anna.date, markers });
  }
  return { screenshot, markers };
}

// ---------------------------------------------------------------- main

async function cleanup() {
  await closeBrowser();
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
  log(`${passedSteps()} passed, 0 failed`);
} catch (err) {
  exitCode = 1;
  await reportFailure(err);
} finally {
  await cleanup();
}
process.exit(exitCode);
