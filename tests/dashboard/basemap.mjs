// The base-map steps: the server restarted with a tile source (tile-server.mjs), the route drawn
// on its tiles, each marker measured against where its check-in lies on them.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  PASSWORD,
  REPO,
  UI_TIMEOUT_MS,
  VERIFICATION_CLASSES,
  assert,
  log,
  serverBin,
  signIn,
  startServer,
  step,
  stopServer,
  waitFor,
  openWatchedPage,
} from './harness.mjs';
import { startTileServer, stopTileServer } from './tile-server.mjs';

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

export async function runWithTiles(browser, { date, markers }) {
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

  const { context, page, foreign, pageErrors } = await openWatchedPage(browser, base, {
    allowed: [`${tiles.origin}/tiles/`],
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
