// The dashboard test's shared harness: step reporting, the fieldcrm-server process (the demo
// organisation on a temporary database), the browser, the page helpers every step uses, and the
// report of a failed step (a screenshot of the page, the server's last lines).

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..', '..');
export const PASSWORD = 'fieldcrm-demo';
const START_TIMEOUT_MS = 120_000;
export const UI_TIMEOUT_MS = 30_000;
export const VERIFICATION_CLASSES = [
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

export function log(message) {
  process.stdout.write(`${message}\n`);
}

export function assert(condition, message) {
  if (!condition) throw new Error(message);
}

export async function step(name, fn) {
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

// How many steps have passed so far.
export function passedSteps() {
  return passed;
}

// ---------------------------------------------------------------- the server

export function serverBin() {
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
export async function startServer(extra = []) {
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

export async function stopServer({ keepData = false } = {}) {
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

export async function errorBanner(page) {
  return page.evaluate(() => {
    const banner = document.getElementById('error');
    const text = document.getElementById('error-text') || banner;
    return banner && !banner.hidden ? text.textContent.trim() : '';
  });
}

// Waits for a condition in the page; on timeout the message says what the page showed.
export async function waitFor(page, description, fn, arg) {
  try {
    await page.waitForFunction(fn, arg, { timeout: UI_TIMEOUT_MS });
  } catch (err) {
    const banner = await errorBanner(page).catch(() => '');
    throw new Error(`timed out waiting for ${description}${banner ? ` (error banner: "${banner}")` : ''}`);
  }
}

export async function signIn(page, username, password) {
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('#login-submit');
}

export async function repOptions(page) {
  return page.$$eval('#rep option', (options) => options.map((o) => o.textContent.trim()));
}

// ---------------------------------------------------------------- the browser

export async function launchBrowser() {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--no-sandbox'],
    headless: true,
  });
  return browser;
}

// The page a failed step's screenshot is taken of.
export function watchPage(page) {
  currentPage = page;
}

export async function closeBrowser() {
  if (browser) {
    await browser.close().catch(() => {});
    browser = null;
  }
}

// Says which step failed and why, with a screenshot of the page and the server's last lines.
export async function reportFailure(err) {
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
}

// A browser context and page as a manager in Berlin sees it, watched: every request to a host
// other than the server (or the origins in `allowed`) is collected in `foreign`, and page
// errors and Content Security Policy violations (console errors) in `pageErrors`.
export async function openWatchedPage(browser, base, { allowed = [], acceptDownloads = false } = {}) {
  const context = await browser.newContext({
    viewport: { width: 1440, height: 900 },
    timezoneId: process.env.FIELDCRM_TEST_TZ || 'Europe/Berlin',
    locale: 'en-GB',
    acceptDownloads,
  });
  const foreign = [];
  context.on('request', (request) => {
    const url = request.url();
    if (url.startsWith('blob:') || url.startsWith('data:')) return;
    if (url === base || url.startsWith(`${base}/`)) return;
    if (allowed.some((prefix) => url.startsWith(prefix))) return;
    foreign.push(url);
  });
  const pageErrors = [];
  const page = await context.newPage();
  watchPage(page);
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    // CSP violations show up as console errors: the page must not need anything the
    // server's policy forbids.
    if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) pageErrors.push(msg.text());
  });
  return { context, page, foreign, pageErrors };
}
