// Browser tests of failures the page must never hide: Telegram on a server
// without a bot, failed runs (manual and scheduled) in the history with their
// reason, when the last backup succeeded, activity coloured by the real
// outcome, a row action's error where the user clicked (375 px), and a
// cancel that says so at once. They run last (run.sh) and use the backups
// ui.test.mjs made; "broken" is a project whose schema is missing.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  TOKEN_DEMO,
  assertNoProblems,
  env,
  firstRow,
  lockTable,
  openPage,
  openSettings,
  psql,
  shot,
  signInWithLink,
  waitForJobEnd,
} from './support.mjs';

const URL_NO_TELEGRAM = env('TB_URL_NO_TELEGRAM'); // the same service, without a Telegram bot
const TOKEN_BROKEN = env('TB_TOKEN_BROKEN');
const SCHEDULE_TIMEOUT = 150_000; // a minute's slot, a busy machine, retries

test('Telegram on a server without a bot: not offered, refused on save in words for an owner, row button disabled', async () => {
  const saved = psql("SELECT coalesce((SELECT destinations::text FROM control_plane.backup_settings WHERE project_id = 'demo'), '[\"local\"]')");
  const page = await openPage();
  const system = page.waitForResponse((r) => r.url().endsWith('/api/system'));
  await page.goto(`${URL_NO_TELEGRAM}/#token=${TOKEN_DEMO}`);
  await page.locator('#app-view').waitFor({ state: 'visible' });
  assert.deepEqual((await (await system).json()).data.destinations, ['local', 's3']);
  await page.waitForFunction(() => document.querySelectorAll('#history-body tr[data-backup-id]').length > 0);

  // The row's Telegram button cannot be used, and says why.
  const send = firstRow(page).locator('button[data-action="telegram"]');
  assert.equal(await send.isDisabled(), true, 'the per-row Telegram button is disabled');
  assert.match(await send.getAttribute('aria-label'), /cannot send to Telegram/);

  // Settings do not offer it.
  await openSettings(page);
  assert.equal(await page.getByLabel('Telegram', { exact: true }).isVisible(), false, 'Telegram is not offered');
  assert.equal(await page.getByLabel('Local storage').isVisible(), true);

  // The API refuses it all the same (an old page, a script): 400 naming the field.
  const refused = await page.evaluate(async () => {
    const r = await fetch(`/api/projects/demo/backup-settings`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${sessionStorage.getItem('tb.token')}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ destinations: ['local', 'telegram'], telegram_chat_id: '-1001234567890' }),
    });
    return { status: r.status, body: await r.json() };
  });
  assert.equal(refused.status, 400);
  assert.equal(refused.body.error.code, 'VALIDATION_ERROR');
  assert.equal(refused.body.error.field, 'destinations');
  assert.match(refused.body.error.message, /this server cannot send to Telegram/);
  assert.doesNotMatch(refused.body.error.message, /TELEGRAM_BOT_TOKEN/);

  // Settings saved while the server still had a bot: shown checked with a
  // warning, so it can be unchecked; saving it as it is shows the refusal.
  psql(`INSERT INTO control_plane.backup_settings (project_id, destinations, telegram_chat_id)
        VALUES ('demo', '["local", "telegram"]', '-1001234567890')
        ON CONFLICT (project_id) DO UPDATE SET destinations = EXCLUDED.destinations, telegram_chat_id = EXCLUDED.telegram_chat_id`);
  try {
    await page.reload();
    await page.locator('#app-view').waitFor({ state: 'visible' });
    await openSettings(page);
    const box = page.getByLabel('Telegram', { exact: true });
    await box.waitFor({ state: 'visible' });
    assert.equal(await box.isChecked(), true);
    await page.locator('#warn-destinations').filter({ hasText: 'cannot send to Telegram' }).waitFor();
    await page.getByRole('button', { name: 'Save settings' }).click();
    const error = page.locator('#err-destinations');
    await error.waitFor({ state: 'visible' });
    assert.match(await error.textContent(), /this server cannot send to Telegram/);
    assert.doesNotMatch(await error.textContent(), /TELEGRAM_BOT_TOKEN/);
    await shot(page, 'settings-no-telegram-1440');
    await box.uncheck();
    assert.equal(await page.locator('#warn-destinations').isVisible(), false);
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.locator('#settings-status').filter({ hasText: 'Saved.' }).waitFor();
    assert.doesNotMatch(psql("SELECT destinations::text FROM control_plane.backup_settings WHERE project_id = 'demo'"), /telegram/);
  } finally {
    psql(`UPDATE control_plane.backup_settings SET destinations = '${saved}' WHERE project_id = 'demo'`);
  }
  assertNoProblems(page);
});

test('failed runs, manual and scheduled, are in the history with their reason; the last success and activity say so', async () => {
  const page = await openPage();
  await signInWithLink(page, TOKEN_BROKEN);
  // A schedule every minute, as a project owner sets it.
  await openSettings(page);
  await page.getByLabel('Run a backup').selectOption('cron');
  await page.getByLabel('Cron expression (UTC)').fill('* * * * *');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.locator('#settings-status').filter({ hasText: 'Saved.' }).waitFor();

  try {
    // A manual export fails (the schema is missing): card, history row, reason.
    await page.getByRole('tab', { name: 'Backups' }).click();
    await page.getByRole('button', { name: 'Export SQL now' }).click();
    const job = page.locator('#jobs li').first();
    await job.waitFor({ state: 'visible' });
    assert.equal(await waitForJobEnd(page, job), 'failed', await job.textContent());
    const manual = page.locator('#history-body tr[data-backup-id]').filter({ hasText: 'Manual' }).first();
    await manual.waitFor();
    const status = await manual.locator('td[data-label="Status"]').textContent();
    assert.match(status, /failed/i);
    assert.match(status, /tenant_broken/, 'the server\'s reason is shown');
    assert.match(status, /could not be made|settings|did not answer|missing|refused/, 'a lead sentence for an owner');
    // Nothing to download, send or restore: no such buttons on a failed run.
    for (const action of ['download', 'telegram', 'restore']) {
      assert.equal(await manual.locator(`button[data-action="${action}"]`).count(), 0, `${action} on a failed run`);
    }
    assert.equal(await manual.locator('td[data-label="Expires"]').textContent(), '—');
    await page.locator('#history-last').filter({ hasText: 'No backup of this project has succeeded yet.' }).waitFor();

    // The scheduled run of the next minute fails too and appears after a Refresh.
    const scheduled = page.locator('#history-body tr[data-backup-id]').filter({ hasText: 'Scheduled' }).first();
    for (const deadline = Date.now() + SCHEDULE_TIMEOUT; !(await scheduled.count());) {
      assert.ok(Date.now() < deadline, 'no scheduled run was listed');
      await page.waitForTimeout(2000);
      await page.getByRole('button', { name: 'Refresh' }).first().click();
    }
    assert.match(await scheduled.locator('td[data-label="Status"]').textContent(), /tenant_broken/);
    await shot(page, 'history-failed-1440');

    // Once a backup succeeds, the page says how long ago.
    psql("UPDATE control_plane.backup_settings SET schedule = 'off' WHERE project_id = 'broken'");
    psql(`INSERT INTO control_plane.backups (id, project_id, format, compression, status, sha256, created_at, expires_at)
          VALUES (gen_random_uuid(), 'broken', 'sql', 'zstd', 'completed', repeat('a', 64), now() - interval '3 hours', now() + interval '27 days')`);
    await page.getByRole('button', { name: 'Refresh' }).first().click();
    await page.locator('#history-last').filter({ hasText: 'Last successful backup: 3 hours ago' }).waitFor();
    assert.match(await page.locator('#history-last').textContent(), /newest run failed/);

    // Activity: the failures red, nothing else.
    await page.getByRole('tab', { name: 'Activity' }).click();
    await page.locator('#audit-wrap').waitFor({ state: 'visible' });
    const outcomes = await page.locator('#audit-body td[data-label="Outcome"] .badge').evaluateAll((els) =>
      els.map((el) => ({ text: el.textContent, red: el.classList.contains('badge-failed') })));
    assert.ok(outcomes.some((o) => /^failed: /.test(o.text) && o.red), JSON.stringify(outcomes));
    for (const o of outcomes) assert.equal(o.red, /^(failed|refused)/.test(o.text), `${o.text} coloured ${o.red ? 'red' : 'not red'}`);
  } finally {
    psql("UPDATE control_plane.backup_settings SET schedule = 'off' WHERE project_id = 'broken'");
  }
  assertNoProblems(page);
});

test('activity: accepted, completed and requested are not painted as errors', async () => {
  const page = await openPage();
  await signInWithLink(page, TOKEN_DEMO);
  await page.getByRole('tab', { name: 'Activity' }).click();
  await page.locator('#audit-wrap').waitFor({ state: 'visible' });
  const outcomes = await page.locator('#audit-body td[data-label="Outcome"] .badge').evaluateAll((els) =>
    els.map((el) => ({ text: el.textContent, red: el.classList.contains('badge-failed') })));
  const texts = outcomes.map((o) => o.text);
  for (const expected of ['accepted', 'completed']) assert.ok(texts.includes(expected), `${expected} in ${texts}`);
  for (const o of outcomes) {
    if (/^(accepted|completed|requested|ok)/.test(o.text)) assert.equal(o.red, false, `"${o.text}" is painted red`);
  }
  assertNoProblems(page);
});

test('375 px: a row action\'s error appears at the row, in view', async () => {
  const page = await openPage({ width: 375, height: 812 });
  await signInWithLink(page, TOKEN_DEMO);
  await page.waitForFunction(() => document.querySelectorAll('#history-body tr[data-backup-id]').length > 0);
  // A completed backup whose file went missing: Download must say so.
  const row = page.locator('#history-body tr[data-backup-id]').filter({ has: page.locator('button[data-action="download"]:not([disabled])') }).last();
  const id = await row.getAttribute('data-backup-id');
  const path = psql(`SELECT locations->0->>'path' FROM control_plane.backups WHERE id = '${id}'`);
  const saved = psql(`SELECT locations::text FROM control_plane.backups WHERE id = '${id}'`);
  psql(`UPDATE control_plane.backups SET locations = '[{"type": "local", "path": "${path}.missing"}]' WHERE id = '${id}'`);
  try {
    const button = row.locator('button[data-action="download"]');
    await button.scrollIntoViewIfNeeded();
    await button.click();
    const error = page.locator(`#history-body tr[data-error-for="${id}"]`);
    await error.waitFor({ state: 'visible' });
    assert.match(await error.textContent(), /download could not start/);
    assert.equal(await error.locator('[role="alert"]').count(), 1, 'announced');
    // In the viewport, right under the row's buttons.
    const box = await error.boundingBox();
    const viewport = page.viewportSize();
    assert.ok(box.y >= 0 && box.y + box.height <= viewport.height, `the error is at y=${box.y}, outside the viewport`);
    const buttonBox = await button.boundingBox();
    assert.ok(box.y >= buttonBox.y && box.y - (buttonBox.y + buttonBox.height) < 100, 'the error is right under the row');
    assert.equal(await page.locator('#history-error').isVisible(), false, 'not at the top of the card');
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no sideways scrolling');
    await shot(page, 'row-error-375');
  } finally {
    psql(`UPDATE control_plane.backups SET locations = '${saved}' WHERE id = '${id}'`);
  }
  assertNoProblems(page);
});

test('cancel: the card says "Cancelling…" at once and its button is disabled', async () => {
  const page = await openPage();
  await signInWithLink(page, TOKEN_DEMO);
  // A session holds a table lock, so the dump waits and the job is running
  // when Cancel is pressed.
  const unlock = await lockTable('tenant_demo.customers');
  try {
    await page.getByRole('button', { name: 'Export SQL now' }).click();
    const job = page.locator('#jobs li').first();
    await page.waitForFunction((el) => el.dataset.status === 'running', await job.elementHandle(), { timeout: 60_000 });
    const cancel = job.getByRole('button', { name: 'Cancel' });
    // The server is slowed down for this click: the card must not wait for it.
    await page.route('**/api/jobs/*/cancel', async (route) => {
      await new Promise((r) => setTimeout(r, 1500));
      await route.continue();
    });
    const answered = page.waitForResponse((r) => r.url().endsWith('/cancel'));
    await cancel.click();
    assert.equal(await job.locator('.badge').textContent(), 'Cancelling…', 'said at once, before the server answered');
    assert.equal(await cancel.isDisabled(), true);
    assert.equal(await job.getAttribute('data-cancelling'), 'true');
    assert.ok((await answered).ok(), 'the cancel was accepted');
    // Still so while the worker stops the dump (the server says cancel_requested).
    await page.waitForTimeout(1500);
    assert.equal(await job.locator('.badge').textContent(), 'Cancelling…');
    assert.equal(await cancel.isDisabled(), true);
    // The dump is stopped while it still waits for the table.
    assert.equal(await waitForJobEnd(page, job), 'cancelled', await job.textContent());
    assert.match(await job.textContent(), /Cancelled/);
  } finally {
    unlock();
  }
  assertNoProblems(page);
});
