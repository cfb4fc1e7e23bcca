// Browser tests of the history's detail view and of lists that look after
// themselves: a row opens (by keyboard too) everything known about its backup,
// finished job cards do not pile up, and the history picks up a backup the
// page did not make. They run after the other files (run.sh) and use the demo
// backups those made.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  TOKEN_DEMO,
  assertNoProblems,
  focused,
  openPage,
  psql,
  shot,
  signInWithLink,
  tabTo,
} from './support.mjs';

const row = (page, id) => page.locator(`#history-body tr[data-backup-id="${id}"]`);

test('history detail: a row opens, by keyboard, its full SHA-256 (copied by a button), file, locations, sizes, time, who started it, the job id', async () => {
  const id = psql(`SELECT id FROM control_plane.backups WHERE project_id = 'demo' AND status = 'completed' AND job_id IS NOT NULL
                   ORDER BY created_at DESC LIMIT 1`);
  const [sha, jobId, path, compression] = psql(`SELECT sha256, job_id, locations->0->>'path', compression
                                                FROM control_plane.backups WHERE id = '${id}'`).split('|');
  const [fileName, dumpBytes] = psql(`SELECT result->>'file_name', result->>'dump_bytes' FROM control_plane.jobs WHERE id = '${jobId}'`).split('|');
  assert.ok(fileName && Number(dumpBytes) > 0, 'the export job recorded its file and dump size');
  const page = await openPage({ permissions: ['clipboard-read', 'clipboard-write'] });
  await signInWithLink(page, TOKEN_DEMO);
  await row(page, id).waitFor();

  const details = row(page, id).locator('button[data-action="details"]');
  assert.equal(await details.getAttribute('aria-expanded'), 'false');
  await tabTo(page, `#history-body tr[data-backup-id="${id}"] button[data-action="details"]`, 120);
  await page.keyboard.press('Enter');
  const detail = page.locator(`#detail-${id}`);
  await detail.waitFor();
  assert.equal(await details.getAttribute('aria-expanded'), 'true');
  assert.equal(await details.getAttribute('aria-controls'), `detail-${id}`);
  const text = await detail.textContent();
  for (const [what, value] of [['SHA-256', sha], ['job id', jobId], ['backup id', id], ['local path', path], ['file name', fileName]]) {
    assert.ok(text.includes(value), `the detail view shows the ${what} ${value}: ${text}`);
  }
  assert.match(text, /Started by\s*Manual/);
  assert.match(text, /Took\s*\d+(\.\d)? s|Took\s*\d+:\d\d/);
  const stored = compression === 'none' ? /stored, not compressed/ : new RegExp(`\\d+(\\.\\d+)? (B|KB|MB) before compression, \\d+(\\.\\d+)? (B|KB|MB) stored with ${compression}`);
  assert.match(text, stored);
  await shot(page, 'history-detail-1440');

  // The copy button is the next stops of Tab after the row's actions; Enter copies the whole hash.
  await tabTo(page, `#detail-${id} button[data-action="copy"]`, 10);
  await page.keyboard.press('Enter');
  await detail.getByText('Copied.').waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), sha);
  assert.match(await focused(page), /Copy the SHA-256/);

  // Every row's Details button (its time) names its backup: time and short id.
  const names = await page.locator('#history-body button[data-action="details"]').evaluateAll((bs) => bs.map((b) => b.textContent));
  assert.equal(new Set(names).size, names.length, names.join(' | '));
  for (const n of names) assert.match(n, /^Details of the (backup|failed run) of .*\d{2}:\d{2}:\d{2} [0-9a-f]{8}$/);

  // Enter again closes it; focus stays on the button.
  await details.focus();
  await page.keyboard.press('Enter');
  await detail.waitFor({ state: 'detached' });
  assert.equal(await details.getAttribute('aria-expanded'), 'false');
  assert.match(await focused(page), /^button "Details of the backup/);
  assertNoProblems(page);
});

test('history detail: the manifest and the verification are shown when the server sends them (a failed one in red), hidden when absent', async () => {
  const page = await openPage();
  // The backup's manifest ("tables") and "verification" are the API's next
  // fields; the real answer is given them here so the page's rendering of
  // both, and of their absence, is checked now.
  let ids = [];
  await page.route('**/api/backup/history?*', async (route) => {
    const response = await route.fetch();
    const body = await response.json();
    const done = body.data.items.filter((b) => b.status === 'completed');
    const [withBoth, without] = done;
    withBoth.tables = [{ name: 'customers', rows: 50 }, { name: 'orders', rows: 1200 }];
    withBoth.verification = { status: 'failed', at: withBoth.created_at, detail: 'orders: 1199 rows restored, the manifest says 1200' };
    withBoth.fleet_run = '00000000-0000-4000-8000-000000000001';
    delete without.tables;
    delete without.verification;
    ids = [withBoth.id, without.id];
    await route.fulfill({ response, json: body });
  });
  await signInWithLink(page, TOKEN_DEMO);
  await page.waitForFunction(() => document.querySelectorAll('#history-body tr[data-backup-id]').length > 1);
  const [a, b] = ids;
  await row(page, a).locator('button[data-action="details"]').click();
  await row(page, b).locator('button[data-action="details"]').click();
  const withBoth = page.locator(`#detail-${a}`);
  const manifest = withBoth.locator('table.manifest');
  assert.deepEqual(await manifest.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.textContent)), ['customers50', 'orders1,200']);
  const badge = withBoth.locator('dd .badge');
  assert.equal(await badge.textContent(), 'failed');
  assert.equal(await badge.evaluate((el) => el.classList.contains('badge-failed')), true, 'a failed verification is red');
  assert.match(await withBoth.textContent(), /the manifest says 1200/);
  // The row itself says it: a red badge for the failed verification, and where the backup came from.
  const rowBadges = await row(page, a).locator('.badge').allTextContents();
  assert.ok(rowBadges.includes('verification failed'), `row badges: ${rowBadges}`);
  assert.ok(rowBadges.includes('fleet run'), `row badges: ${rowBadges}`);
  assert.ok(!(await row(page, b).locator('.badge').allTextContents()).includes('verification failed'));
  const without = await page.locator(`#detail-${b}`).textContent();
  assert.doesNotMatch(without, /Verification|Tables/);
  assertNoProblems(page);
});

test('finished job cards: the newest three stay, older ones fold away, "Clear finished" removes them', async () => {
  const ids = psql(`SELECT string_agg(id::text, ',' ORDER BY created_at) FROM (SELECT id, created_at FROM control_plane.jobs
                    WHERE project_id = 'demo' AND type = 'export' AND status = 'completed' ORDER BY created_at DESC LIMIT 5) j`).split(',');
  assert.equal(ids.length, 5);
  const page = await openPage();
  await signInWithLink(page, TOKEN_DEMO);
  // Five jobs this tab follows (as after five exports): the page resumes them
  // from its session storage and polls each to its end.
  await page.evaluate((list) => sessionStorage.setItem('tb.jobs.demo',
    JSON.stringify(list.map((id, i) => ({ id, type: 'export', label: `SQL export ${i + 1}` })))), ids);
  await page.reload();
  await page.locator('#app-view').waitFor({ state: 'visible' });
  await page.waitForFunction(() => [...document.querySelectorAll('#jobs li')].filter((li) => li.dataset.status === 'completed').length === 5);
  const visible = () => page.locator('#jobs li').evaluateAll((lis) => lis.filter((li) => !li.hidden).map((li) => li.querySelector('.job-title').textContent));
  assert.deepEqual(await visible(), ['SQL export 5', 'SQL export 4', 'SQL export 3'], 'the newest three finished cards');
  const older = page.locator('#jobs-older');
  assert.equal(await older.textContent(), 'Show 2 older finished jobs');
  assert.equal(await older.getAttribute('aria-expanded'), 'false');
  await older.click();
  assert.equal((await visible()).length, 5);
  assert.equal(await older.getAttribute('aria-expanded'), 'true');
  await shot(page, 'jobs-older-1440');
  await page.getByRole('button', { name: 'Clear finished' }).click();
  assert.equal(await page.locator('#jobs li').count(), 0);
  assert.equal(await page.locator('#jobs-tools').isVisible(), false);
  assert.equal(await focused(page), 'button#export-sql "Export SQL now"', 'focus moves to the export button');
  assertNoProblems(page);
});

test('the history refreshes itself: a scheduled backup that lands shows up without Refresh, focus stays where it was', async () => {
  const page = await openPage();
  await signInWithLink(page, TOKEN_DEMO);
  await page.waitForFunction(() => document.querySelectorAll('#history-body tr[data-backup-id]').length > 1);
  const second = page.locator('#history-body tr[data-backup-id]').filter({ has: page.locator('button[data-action="download"]:not([disabled])') }).nth(1);
  const secondId = await second.getAttribute('data-backup-id');
  await second.locator('button[data-action="download"]').focus();
  let refreshes = 0;
  page.on('request', (r) => { if (r.url().includes('/api/backup/history')) refreshes += 1; });
  // A scheduled run of the server (the scheduler writes the row; this page did nothing).
  const id = psql(`INSERT INTO control_plane.backups (id, project_id, kind, format, compression, status, size_bytes, sha256, locations, created_at, expires_at)
                   SELECT gen_random_uuid(), project_id, 'scheduled', format, compression, 'completed', size_bytes, sha256, locations,
                          now() + interval '5 minutes', now() + interval '30 days'
                   FROM control_plane.backups WHERE project_id = 'demo' AND status = 'completed' ORDER BY created_at DESC LIMIT 1
                   RETURNING id`).split('\n')[0];
  try {
    await row(page, id).waitFor({ timeout: 60_000 });
    assert.match(await row(page, id).textContent(), /Scheduled/);
    assert.ok(refreshes >= 1);
    // The rows were rebuilt; focus is on the same row's button, not on the page.
    assert.equal(await page.evaluate(() => document.activeElement.closest('tr')?.dataset.backupId), secondId);
    assert.equal(await page.evaluate(() => document.activeElement.dataset.action), 'download');
  } finally {
    psql(`DELETE FROM control_plane.backups WHERE id = '${id}'`);
  }
  assertNoProblems(page);
});
