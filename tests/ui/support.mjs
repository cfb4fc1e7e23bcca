// What every browser test file shares: the environment run.sh passes (server
// address, tokens, folders), one Chromium per file with a fresh profile, and
// page helpers. Importing this module registers the browser's before/after
// hooks in the importing test file.

import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
export async function openPage({ width = 1440, height = 900 } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, acceptDownloads: true });
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

export const firstRow = (page) => page.locator('#history-body tr').first();

export async function waitForJobEnd(page, li) {
  await page.waitForFunction(
    (el) => ['completed', 'failed', 'cancelled'].includes(el.dataset.status),
    await li.elementHandle(), { timeout: JOB_TIMEOUT });
  return li.getAttribute('data-status');
}

