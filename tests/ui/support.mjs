// What every browser test file shares: the environment run.sh passes (server
// address, tokens, folders), one Chromium per file with a fresh profile, and
// page helpers. Importing this module registers the browser's before/after
// hooks in the importing test file.

import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the browser tests through tests/ui/run.sh`);
  return v;
};
export const URL = env('TB_URL');
export const TOKEN_DEMO = env('TB_TOKEN_DEMO');
export const TOKEN_MULTI = env('TB_TOKEN_MULTI');
export const TOKEN_EXPIRED = env('TB_TOKEN_EXPIRED');
export const TOKEN_LONG = env('TB_TOKEN_LONG'); // demo and a project with the longest id, slug and name
export const LONG_PROJECT = env('TB_LONG_PROJECT');
export const DATABASE_URL = env('DATABASE_URL');
export const TELEGRAM_URL = env('TELEGRAM_API_URL'); // the fake Bot API run.sh starts
export const ARTIFACTS = env('TB_ARTIFACTS');
export const PSQL = '/usr/lib/postgresql/15/bin/psql';

export const JOB_TIMEOUT = 90_000;

let browser;
let profileDir;
export const contexts = [];

// The restore route is being built in parallel with this UI; until the server
// serves it, its test is reported as skipped (not passed).
export async function serverHasRoute(method, path) {
  const r = await fetch(`${URL}${path}`, {
    method, headers: { Authorization: `Bearer ${TOKEN_DEMO}`, 'Content-Type': 'application/json' }, body: '{}',
  });
  return r.status !== 404 && r.status !== 405;
}
export const hasRestore = await serverHasRoute('POST', '/api/backup/restore');

before(async () => {
  // A fresh profile for this run: nothing from an earlier run (storage, cache)
  // can make a test pass.
  profileDir = mkdtempSync(join(tmpdir(), 'tb-ui-profile-'));
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', `--disk-cache-dir=${profileDir}/cache`],
  });
});

after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
});

// A new tab in its own context (own session storage), recording page errors
// and Content-Security-Policy violations, which must never happen.
export async function openPage({ width = 1440, height = 900, permissions = [] } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, acceptDownloads: true, permissions });
  contexts.push(context);
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) page.problems.push(`CSP: ${m.text()}`);
  });
  page.setDefaultTimeout(15_000);
  return page;
}

export function assertNoProblems(page) {
  assert.deepEqual(page.problems, [], 'the page raised errors or CSP violations');
}

// The Settings tab, once its form has loaded.
export async function openSettings(page) {
  await page.getByRole('tab', { name: 'Settings' }).click();
  await page.locator('#settings-loading').waitFor({ state: 'hidden' });
}

export async function signInWithLink(page, token) {
  await page.goto(`${URL}/#token=${token}`);
  await page.locator('#app-view').waitFor({ state: 'visible' });
}

export async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

// The whole page in parts of `height` px (a tall phone page is easier to look at so).
export async function shotParts(page, name, height = 1400) {
  const { width } = page.viewportSize();
  const total = await page.evaluate(() => document.documentElement.scrollHeight);
  for (let y = 0, i = 1; y < total; y += height, i += 1) {
    await page.screenshot({ path: join(ARTIFACTS, `${name}-part${i}.png`), fullPage: true, clip: { x: 0, y, width, height: Math.min(height, total - y) } });
  }
}

// What the fake Telegram holds: {messages, calls, deleted}.
export async function telegramState() {
  return (await fetch(`${TELEGRAM_URL}/_control/state`)).json();
}

// Records every text the job cards show, from their first paint on (a check
// after the fact would miss a wrong first render that the next poll fixes).
export async function recordJobCardTexts(page) {
  await page.evaluate(() => {
    window.jobCardTexts = [];
    new MutationObserver(() => {
      for (const li of document.querySelectorAll('#jobs li')) window.jobCardTexts.push(li.textContent);
    }).observe(document.getElementById('jobs'), { subtree: true, childList: true, characterData: true });
  });
}

export function psql(sql) {
  const r = spawnSync(PSQL, [DATABASE_URL, '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', sql], { encoding: 'utf8' });
  assert.equal(r.status, 0, `psql failed: ${r.stderr}`);
  return r.stdout.trim();
}

// A session that holds `table` ACCESS EXCLUSIVE (an export's dump waits on
// it, so its job stays running) until the returned function ends it.
export async function lockTable(table) {
  const locker = spawn(PSQL, [DATABASE_URL, '-XAtq', '-v', 'ON_ERROR_STOP=1'], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise((resolve) => {
    locker.stdout.on('data', (d) => { if (String(d).includes('locked')) resolve(); });
    locker.stdin.write(`BEGIN; LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE; SELECT 'locked';\n`);
  });
  return () => locker.stdin.end('COMMIT;\n');
}

export const firstRow = (page) => page.locator('#history-body tr').first();

export async function waitForJobEnd(page, li) {
  await page.waitForFunction(
    (el) => ['completed', 'failed', 'cancelled'].includes(el.dataset.status),
    await li.elementHandle(), { timeout: JOB_TIMEOUT });
  return li.getAttribute('data-status');
}


// Everything in a job card (the first, or the one the selector names) that
// sticks out of it, and how far the page scrolls sideways (0 when it does not).
export function jobCardOverflow(page, selector = '#jobs li') {
  return page.evaluate((sel) => {
    const card = document.querySelector(sel);
    const box = card.getBoundingClientRect();
    const out = [];
    if (box.left < 0 || box.right > window.innerWidth) out.push(`the card spans ${box.left}..${box.right} of ${window.innerWidth}px`);
    for (const el of card.querySelectorAll('*')) {
      if (el.getClientRects().length === 0) continue; // not rendered (hidden)
      // Inside a box that clips (the progress bar's moving fill): that box is checked instead.
      if (el.parentElement !== card && getComputedStyle(el.parentElement).overflowX !== 'visible') continue;
      const r = el.getBoundingClientRect();
      const name = `${el.tagName.toLowerCase()}.${el.className} "${el.textContent.trim().slice(0, 40)}"`;
      if (r.left < box.left - 0.5 || r.right > box.right + 0.5) out.push(`${name} spans ${r.left}..${r.right}, the card ${box.left}..${box.right}`);
      // Text cut off (an ellipsis or a clipped word) hides what the card says.
      if (el.childElementCount === 0 && el.textContent.trim() && el.scrollWidth > el.clientWidth + 1) {
        out.push(`${name} is cut: ${el.scrollWidth}px of text in ${el.clientWidth}px`);
      }
    }
    return { items: out, scroll: document.documentElement.scrollWidth - window.innerWidth };
  }, selector);
}

// How far the page scrolls sideways (0 or less: it does not).
export const sidewaysScroll = (page) => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

// Presses Tab (at most `max` times) until the focused element matches the
// selector: the way a keyboard-only user gets there. Returns the presses.
export async function tabTo(page, selector, max = 80) {
  for (let i = 1; i <= max; i += 1) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((sel) => document.activeElement && document.activeElement.matches(sel), selector)) return i;
  }
  throw new Error(`${max} presses of Tab never reached ${selector}`);
}

// What has focus, in words ("body" when focus was dropped).
export const focused = (page) => page.evaluate(() => {
  const el = document.activeElement;
  if (!el || el === document.body) return 'body';
  return `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''} "${el.getAttribute('aria-label') || el.textContent.trim().slice(0, 60)}"`;
});

// axe-core (tests/ui/node_modules), run inside the page: the serious and
// critical violations, each as "rule: target (summary)". Evaluated through the
// DevTools protocol, so the page's Content-Security-Policy stays as it is.
const AXE_SOURCE = readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'node_modules/axe-core/axe.min.js'), 'utf8');
export async function axeViolations(page) {
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => `${n.target.join(' ')} (${n.failureSummary.split('\n').slice(1).join(' ').trim().slice(0, 160)})`) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v) => v.nodes.map((n) => `${v.id} [${v.impact}]: ${n}`));
}

// WCAG contrast of two CSS colours "rgb(r, g, b)" / "#rrggbb".
export function contrast(a, b) {
  const rgb = (c) => (c.startsWith('#') ? [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)) : c.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number));
  const lum = (c) => {
    const [r, g, bl] = rgb(c).map((v) => {
      const x = v / 255;
      return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}
