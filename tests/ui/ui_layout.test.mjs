// Browser tests of the UI's layout and reach: keyboard use, the 375 px layout
// with job cards and the longest names, the docs page, the S3 options and the
// sign-in page. They run after ui.test.mjs (run.sh passes the files in order)
// and use the backups its export tests made.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  LONG_PROJECT,
  TOKEN_DEMO,
  TOKEN_LONG,
  URL,
  assertNoProblems,
  jobCardOverflow,
  openPage,
  psql,
  shot,
  signInWithLink,
  waitForJobEnd,
} from './support.mjs';

test('keyboard: tabs move with the arrow keys and every control has a name', async () => {
  const page = await openPage();
  await signInWithLink(page, TOKEN_DEMO);
  await page.getByRole('tab', { name: 'Backups' }).focus();
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.locator('#panel-settings').isVisible(), true);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'tab-settings');
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.locator('#panel-activity').isVisible(), true);
  await page.locator('#audit-wrap').waitFor({ state: 'visible' });
  assert.match(await page.locator('#audit-body').textContent(), /backup\.export/);
  await shot(page, 'activity-1440');
  await page.keyboard.press('Home');
  assert.equal(await page.locator('#panel-backups').isVisible(), true);
  // Every visible input, select and button has an accessible name.
  const unnamed = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea, button')]
    .filter((el) => el.offsetParent !== null)
    .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.textContent.trim())
    .map((el) => el.id || el.outerHTML.slice(0, 60)));
  assert.deepEqual(unnamed, []);
  assertNoProblems(page);
});

test('375 px wide: no sideways scrolling, the history becomes cards', async () => {
  const page = await openPage({ width: 375, height: 812 });
  await signInWithLink(page, TOKEN_DEMO);
  await page.waitForFunction(() => document.querySelectorAll('#history-body tr').length > 0);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
  assert.equal(await page.locator('#history-table thead').isVisible(), false);
  await shot(page, 'backups-375');
  await page.getByRole('tab', { name: 'Settings' }).click();
  await page.locator('#settings-loading').waitFor({ state: 'hidden' });
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth));
  await shot(page, 'settings-375');
  await page.goto(`${URL}/docs`);
  await page.locator('#api-reference .op').first().waitFor();
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'the docs fit 375 px');
  await shot(page, 'docs-375');
  await page.evaluate(() => sessionStorage.clear());
  await page.goto(`${URL}/`);
  await page.locator('#signin-view').waitFor({ state: 'visible' });
  await shot(page, 'signin-375');
  assertNoProblems(page);
});

test('375 px wide with a job card and the longest names: nothing sticks out, no sideways scrolling', async () => {
  const page = await openPage({ width: 375, height: 812 });
  await signInWithLink(page, TOKEN_LONG);
  await page.getByLabel('Project', { exact: true }).selectOption(LONG_PROJECT);
  await page.locator('#project-schema').filter({ hasText: 'nrw_archive_x' }).waitFor();
  await page.locator('#history-empty').waitFor({ state: 'visible' });
  await page.locator('#export-compression').selectOption('zstd');
  await page.getByRole('button', { name: 'Export SQL now' }).click();
  const job = page.locator('#jobs li').first();
  await job.waitFor({ state: 'visible' });
  // While it waits or runs (the longest badge, with Cancel), then once done (with Dismiss).
  const early = await jobCardOverflow(page);
  assert.equal(await waitForJobEnd(page, job), 'completed', await job.textContent());
  await page.locator('#history-body tr').first().waitFor();
  const done = await jobCardOverflow(page);
  await shot(page, 'job-card-375');
  for (const [when, r] of [['while running', early], ['when completed', done]]) {
    assert.deepEqual(r.items, [], `${when}: parts of the job card stick out`);
    assert.ok(r.scroll <= 0, `${when}: the page scrolls sideways by ${r.scroll}px`);
  }
  assert.match(await job.textContent(), /SQL export · zstd/);
  await job.getByRole('button', { name: 'Dismiss SQL export · zstd' }).click();
  await page.locator('#jobs li').waitFor({ state: 'detached' });
  assertNoProblems(page);
});

test('docs: explains backups to a project owner and renders every operation of /api/openapi.json', async () => {
  const page = await openPage();
  await page.goto(`${URL}/docs`);
  await page.locator('#api-reference .op').first().waitFor();
  const spec = await page.evaluate(async () => (await fetch('/api/openapi.json')).json());
  const expected = [];
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const m of ['get', 'post', 'put', 'patch', 'delete']) if (item[m]) expected.push(`${m.toUpperCase()} ${path}`);
  }
  const shown = await page.locator('#api-reference .op').evaluateAll((ops) => ops.map((o) => `${o.dataset.method} ${o.dataset.path}`));
  assert.deepEqual(shown.sort(), expected.sort());
  assert.ok(expected.includes('POST /api/backup/export') && expected.includes('GET /api/backup/history'));
  const text = await page.locator('article').textContent();
  for (const needle of ['tenant_{slug}', 'zstd -d', 'gunzip -c', 'pg_restore', 'part001of005', 'cat ', '30 days', 'curl']) {
    assert.ok(text.includes(needle), `the docs mention ${needle}`);
  }
  // The export operation itself (its path is a prefix of /api/backup/export-all).
  const exportPath = page.locator('.op-path').filter({ hasText: /^\/api\/backup\/export$/ });
  await page.locator('#api-reference .op').filter({ has: exportPath }).locator('summary').click();
  await shot(page, 'docs-1440');
  assertNoProblems(page);
});

test('S3: offered only when the server has it; chosen in the settings it persists', async () => {
  const page = await openPage();
  await signInWithLink(page, TOKEN_DEMO);
  // This server has S3: the export card and the settings offer it.
  await page.locator('#export-s3-label').waitFor({ state: 'visible' });
  await page.getByRole('tab', { name: 'Settings' }).click();
  await page.locator('#settings-loading').waitFor({ state: 'hidden' });
  const s3 = page.getByLabel('S3', { exact: true });
  await s3.waitFor({ state: 'visible' });
  await s3.check();
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.locator('#settings-status').filter({ hasText: 'Saved.' }).waitFor();
  assert.match(psql("SELECT destinations::text FROM control_plane.backup_settings WHERE project_id = 'demo'"), /"s3"/);
  await page.reload();
  await page.locator('#app-view').waitFor({ state: 'visible' });
  await page.getByRole('tab', { name: 'Settings' }).click();
  await page.locator('#settings-loading').waitFor({ state: 'hidden' });
  assert.equal(await page.getByLabel('S3', { exact: true }).isChecked(), true);
  await shot(page, 'settings-s3-1440');
  await page.getByLabel('S3', { exact: true }).uncheck();
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.locator('#settings-status').filter({ hasText: 'Saved.' }).waitFor();
  assert.doesNotMatch(psql("SELECT destinations::text FROM control_plane.backup_settings WHERE project_id = 'demo'"), /"s3"/);
  assertNoProblems(page);

  // A server without S3 (its GET /api/system says so): neither is shown.
  const plain = await openPage();
  await plain.route('**/api/system', (route) =>
    route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ data: { destinations: ['local', 'telegram'] } }) }));
  const answered = plain.waitForResponse((r) => r.url().endsWith('/api/system'));
  await signInWithLink(plain, TOKEN_DEMO);
  await answered;
  await plain.getByRole('tab', { name: 'Settings' }).click();
  await plain.locator('#settings-loading').waitFor({ state: 'hidden' });
  assert.equal(await plain.locator('#s-dest-s3-label').isVisible(), false);
  assert.equal(await plain.locator('#export-s3-label').isVisible(), false);
  assertNoProblems(plain);
});

test('sign-in page at 1440 px', async () => {
  const page = await openPage();
  await page.goto(`${URL}/`);
  await page.locator('#signin-view').waitFor({ state: 'visible' });
  await shot(page, 'signin-1440');
  assertNoProblems(page);
});
