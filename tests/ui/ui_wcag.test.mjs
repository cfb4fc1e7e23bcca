// Browser tests of the page for keyboard and screen-reader users and on every
// width: a keyboard-only path through export, download, Telegram, restore and
// delete that never drops focus; a focus ring that can be seen; live regions
// that announce state changes only; job buttons named after their job;
// progress bars with a value or marked indeterminate; axe-core with no serious
// or critical violation; 375, 768 and 1440 px with job and restore cards, a
// history of 30+ backups and an open detail view. They run last (run.sh).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  LONG_PROJECT,
  TOKEN_DEMO,
  TOKEN_LONG,
  assertNoProblems,
  axeViolations,
  contrast,
  focused,
  jobCardOverflow,
  lockTable,
  openPage,
  psql,
  shot,
  shotParts,
  sidewaysScroll,
  signInWithLink,
  tabTo,
  waitForJobEnd,
} from './support.mjs';

// 32 more history rows for both projects (copies of a real backup's row, a
// day old and older), removed again at the end: a history of 30+ backups.
let copies = [];
before(() => {
  for (const project of ['demo', LONG_PROJECT]) {
    const ids = psql(`INSERT INTO control_plane.backups (id, project_id, kind, format, compression, status, size_bytes, sha256, locations, created_at, expires_at)
      SELECT gen_random_uuid(), b.project_id, CASE WHEN k % 2 = 0 THEN 'scheduled' ELSE 'manual' END, b.format, b.compression, 'completed',
             b.size_bytes, b.sha256, b.locations, now() - interval '1 day' - k * interval '37 minutes', now() + interval '29 days' - k * interval '37 minutes'
      FROM (SELECT * FROM control_plane.backups WHERE project_id = '${project}' AND status = 'completed' ORDER BY created_at DESC LIMIT 1) b,
           generate_series(1, 32) k
      RETURNING id`);
    copies.push(...ids.split('\n').filter(Boolean));
  }
});
after(() => {
  if (copies.length) psql(`DELETE FROM control_plane.backups WHERE id IN (${copies.map((id) => `'${id}'`).join(',')})`);
  copies = [];
});

const notBody = async (page, when) => {
  const f = await focused(page);
  assert.notEqual(f, 'body', `${when}: focus dropped to <body>`);
  return f;
};

test('keyboard only: export, download, Telegram, restore and delete keep focus on a control', async () => {
  // The API sends only to a chat set in the project's settings.
  psql(`INSERT INTO control_plane.backup_settings (project_id, telegram_chat_id) VALUES ('demo', '-1001234567890')
        ON CONFLICT (project_id) DO UPDATE SET telegram_chat_id = EXCLUDED.telegram_chat_id`);
  const page = await openPage();
  await signInWithLink(page, TOKEN_DEMO);
  await page.waitForFunction(() => !document.getElementById('history-wrap').hidden || !document.getElementById('history-empty').hidden);

  // Export: Enter keeps focus on the button, also once the job ended and the history was repainted.
  await tabTo(page, '#export-sql');
  await page.keyboard.press('Enter');
  const job = page.locator('#jobs li').first();
  await job.waitFor();
  assert.equal(await notBody(page, 'export started'), 'button#export-sql "Export SQL now"');
  assert.equal(await waitForJobEnd(page, job), 'completed', await job.textContent());
  const id = psql(`SELECT result->>'backup_id' FROM control_plane.jobs WHERE project_id = 'demo' AND type = 'export'
                   AND status = 'completed' ORDER BY completed_at DESC LIMIT 1`);
  const button = (action) => `#history-body tr[data-backup-id="${id}"] button[data-action="${action}"]`;
  await page.locator(button('download')).waitFor();
  assert.equal(await notBody(page, 'export completed'), 'button#export-sql "Export SQL now"');

  // Download.
  await tabTo(page, button('download'), 150);
  const [download] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
  assert.match(download.suggestedFilename(), /\.sql/);
  assert.match(await notBody(page, 'download'), /^button "Download backup of/);

  // Telegram (the next stop): the send runs as a job; focus stays on the button through the repaint.
  await page.keyboard.press('Tab');
  assert.match(await focused(page), /^button "Send backup of .* to Telegram"/);
  await page.keyboard.press('Enter');
  const send = page.locator('#jobs li').first();
  await send.filter({ hasText: 'Send to Telegram' }).waitFor().catch(async (e) => {
    throw new Error(`no send card (${e.message}); the row says: ${await page.locator('#history-body tr.row-error').allTextContents()}`);
  });
  assert.match(await notBody(page, 'telegram started'), /to Telegram"/);
  assert.equal(await waitForJobEnd(page, send), 'completed', await send.textContent());
  await page.locator(`#history-body tr[data-backup-id="${id}"]`).filter({ hasText: 'Telegram ·' }).waitFor();
  assert.match(await notBody(page, 'telegram completed'), /to Telegram"/);

  // Restore: the dialog by keyboard; focus comes back to Restore and stays after the repaint.
  await page.keyboard.press('Tab');
  assert.match(await focused(page), /^button "Restore backup of/);
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  await page.keyboard.press('Tab');
  assert.match(await focused(page), /Replace tenant_demo/);
  await page.keyboard.press('Enter');
  await dialog.waitFor({ state: 'hidden' });
  const restore = page.locator('#jobs li').first();
  await restore.filter({ hasText: 'Restore' }).waitFor();
  assert.match(await notBody(page, 'restore started'), /^button "Restore backup of/);
  assert.equal(await waitForJobEnd(page, restore), 'completed', await restore.textContent());
  await page.waitForTimeout(500); // the history's repaint after the job's end
  assert.match(await notBody(page, 'restore completed'), /^button "Restore backup of/);

  // Delete, confirmed: the row is gone or says Deleted; focus is on a control of the history.
  await page.keyboard.press('Tab');
  assert.match(await focused(page), /^button "Delete backup of/);
  await page.keyboard.press('Enter');
  await dialog.waitFor();
  await page.keyboard.press('Tab');
  assert.match(await focused(page), /Delete backup/);
  await page.keyboard.press('Enter');
  await page.waitForFunction((bid) => {
    const tr = document.querySelector(`#history-body tr[data-backup-id="${bid}"]`);
    return !tr || !tr.querySelector('button[data-action="delete"]');
  }, id);
  const after = await notBody(page, 'delete confirmed');
  assert.match(after, /^button "Details of the backup|h2#history-title/);
  assert.equal(await page.evaluate(() => document.getElementById('history-wrap').contains(document.activeElement)
    || document.activeElement.id === 'history-title'), true);
  assertNoProblems(page);
});

test('focus ring: at least 3:1 against white and the page background, 2 px or wider', async () => {
  const page = await openPage();
  await signInWithLink(page, TOKEN_DEMO);
  await page.waitForFunction(() => document.querySelectorAll('#history-body tr[data-backup-id]').length > 0);
  for (const selector of ['#export-sql', '#history-body button[data-action="details"]', '#tab-backups']) {
    await tabTo(page, selector, 150);
    const ring = await page.evaluate(() => {
      const s = getComputedStyle(document.activeElement);
      return { color: s.outlineColor, style: s.outlineStyle, width: parseFloat(s.outlineWidth) };
    });
    assert.notEqual(ring.style, 'none', `${selector} shows a focus ring`);
    assert.ok(ring.width >= 2, `${selector}: ring ${ring.width}px`);
    for (const bg of ['#ffffff', '#f5f7fa']) {
      const ratio = contrast(ring.color, bg);
      assert.ok(ratio >= 3, `${selector}: ring ${ring.color} on ${bg} is ${ratio.toFixed(2)}:1`);
    }
    await page.keyboard.press('Shift+Tab'); // back, so the next selector is reached by Tab again
  }
  assertNoProblems(page);
});

test('screen readers: live regions announce state changes, not the ticking timer; Cancel names its job; progress bars are indeterminate', async () => {
  const page = await openPage();
  await signInWithLink(page, TOKEN_DEMO);
  await page.waitForFunction(() => document.querySelectorAll('#history-body tr[data-backup-id]').length > 0);
  const unlock = await lockTable('tenant_demo.customers');
  try {
    await page.getByRole('button', { name: 'Export SQL now' }).click();
    await page.waitForTimeout(1100); // a second export starts a second later: names differ by time too
    await page.getByRole('button', { name: 'Export SQL now' }).click();
    await page.waitForFunction(() => document.querySelectorAll('#jobs li').length === 2
      && [...document.querySelectorAll('#jobs li')].every((li) => li.dataset.status === 'running' || li.dataset.status === 'pending'));
    await page.locator('#jobs li[data-status="running"]').first().waitFor({ timeout: 60_000 });
    // Five seconds of two jobs with ticking timers: count the DOM changes inside live regions.
    const changes = await page.evaluate(() => new Promise((resolve) => {
      const live = '[aria-live]:not([aria-live="off"]), [role="status"], [role="alert"], [role="log"], [role="timer"], [role="marquee"]';
      const seen = [];
      const observer = new MutationObserver((records) => {
        for (const r of records) {
          const node = r.target.nodeType === 1 ? r.target : r.target.parentElement;
          if (node && node.closest(live)) seen.push(`${node.closest(live).id || node.closest(live).className}: ${node.textContent.slice(0, 60)}`);
        }
      });
      observer.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
      setTimeout(() => { observer.disconnect(); resolve(seen); }, 5000);
    }));
    assert.ok(changes.length <= 2, `${changes.length} changes in live regions in 5 s: ${changes.join(' | ')}`);
    assert.equal(await page.evaluate(() => document.getElementById('jobs').closest('[aria-live]')), null, 'the job list is not a live region');

    // Each Cancel names its job: what, which project, when, which job.
    const cancels = await page.locator('#jobs button[data-action="cancel"]').evaluateAll((bs) => bs.map((b) => b.getAttribute('aria-label')));
    assert.equal(cancels.length, 2);
    for (const name of cancels) assert.match(name, /^Cancel SQL export · \w+ of Demo project, started \d{2}:\d{2}:\d{2} \(job [0-9a-f]{8}\)$/);
    assert.notEqual(cancels[0], cancels[1]);
    // A running job's bar: no value (indeterminate), said in words.
    for (const bar of await page.locator('#jobs [role="progressbar"]').all()) {
      assert.equal(await bar.getAttribute('aria-valuenow'), null);
      assert.match(await bar.getAttribute('aria-valuetext'), /not known/);
    }
    // Cancel both: each change is announced once, in #jobs-status.
    for (const b of await page.locator('#jobs button[data-action="cancel"]').all()) await b.click();
    await page.locator('#jobs-status').filter({ hasText: 'cancelling' }).waitFor();
    for (const li of await page.locator('#jobs li').all()) assert.equal(await waitForJobEnd(page, li), 'cancelled');
    await page.locator('#jobs-status').filter({ hasText: 'cancelled' }).waitFor();
    for (const bar of await page.locator('#jobs [role="progressbar"]').all()) assert.equal(await bar.getAttribute('aria-valuenow'), '0');
  } finally {
    unlock();
  }
  assertNoProblems(page);
});

test('axe-core: no serious or critical violation with a job card, 30+ backups, an open detail view, the settings and a dialog', async () => {
  for (const width of [1440, 375]) {
    const page = await openPage({ width, height: 900 });
    await signInWithLink(page, TOKEN_DEMO);
    // A finished export card (a job this tab follows, resumed from session storage).
    const jobId = psql("SELECT id FROM control_plane.jobs WHERE project_id = 'demo' AND type = 'export' AND status = 'completed' ORDER BY created_at DESC LIMIT 1");
    await page.evaluate((id) => sessionStorage.setItem('tb.jobs.demo', JSON.stringify([{ id, type: 'export', label: 'SQL export · zstd' }])), jobId);
    await page.reload();
    await page.locator('#jobs li[data-status="completed"]').waitFor();
    await page.waitForFunction(() => document.querySelectorAll('#history-body tr[data-backup-id]').length === 10);
    assert.match(await page.locator('#history-page').textContent(), /^Page 1 of ([4-9]|\d{2,})$/, '30+ backups');
    await page.locator('#history-body button[data-action="details"]').first().click();
    await page.locator('#history-body tr.row-detail').waitFor();
    assert.deepEqual(await axeViolations(page), [], `backups tab at ${width} px`);

    assertNoProblems(page);
    if (width < 1440) continue; // the narrow layout: the backups tab; the rest at 1440 px
    await page.getByRole('tab', { name: 'Settings' }).click();
    await page.locator('#settings-loading').waitFor({ state: 'hidden' });
    assert.deepEqual(await axeViolations(page), [], `settings at ${width} px`);

    await page.getByRole('tab', { name: 'Backups' }).click();
    await page.locator('#history-body button[data-action="delete"]').first().click();
    await page.getByRole('dialog').waitFor();
    assert.deepEqual(await axeViolations(page), [], `dialog at ${width} px`);
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    assertNoProblems(page);
  }
});

test('375, 768 and 1440 px: a restore and an export card for the longest names, 30+ backups, a detail view: nothing sticks out, no sideways scroll', async () => {
  const page = await openPage({ width: 375, height: 812 });
  await signInWithLink(page, TOKEN_LONG);
  await page.getByLabel('Project', { exact: true }).selectOption(LONG_PROJECT);
  await page.locator('#project-schema').filter({ hasText: 'nrw_archive_x' }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll('#history-body tr[data-backup-id]').length === 10);
  const checkCards = async (when) => {
    for (const id of await page.locator('#jobs li').evaluateAll((lis) => lis.map((li) => li.dataset.jobId))) {
      const r = await jobCardOverflow(page, `#jobs li[data-job-id="${id}"]`);
      assert.deepEqual(r.items, [], `${when}: parts of a job card stick out`);
    }
    assert.ok((await sidewaysScroll(page)) <= 0, `${when}: the page scrolls sideways by ${await sidewaysScroll(page)}px`);
  };

  // The newest real backup of the project (not one of the copies), restored.
  const real = psql(`SELECT id FROM control_plane.backups WHERE project_id = '${LONG_PROJECT}' AND status = 'completed' AND job_id IS NOT NULL
                     ORDER BY created_at DESC LIMIT 1`);
  const realRow = page.locator(`#history-body tr[data-backup-id="${real}"]`);
  await realRow.locator('button[data-action="restore"]').click();
  await page.getByRole('dialog').getByRole('button', { name: /^Replace / }).click();
  const restore = page.locator('#jobs li').first();
  await restore.waitFor();
  await checkCards('375 px, restore waiting or running');
  await waitForJobEnd(page, restore);
  await page.getByRole('button', { name: 'Export SQL now' }).click();
  const exportCard = page.locator('#jobs li').first();
  await exportCard.filter({ hasText: 'SQL export' }).waitFor();
  await checkCards('375 px, export running');
  await waitForJobEnd(page, exportCard);
  await page.locator('#history-body button[data-action="details"]').first().click();
  await page.locator('#history-body tr.row-detail').waitFor();

  for (const [width, height] of [[375, 812], [768, 1024], [1440, 900]]) {
    await page.setViewportSize({ width, height });
    await checkCards(`${width} px, both cards ended, detail open`);
    // Every history button in view inside the table's box (none scrolled out of it).
    const clipped = await page.evaluate(() => {
      const wrap = document.getElementById('history-wrap').getBoundingClientRect();
      return [...document.querySelectorAll('#history-body button')].filter((b) => {
        const r = b.getBoundingClientRect();
        return r.width > 0 && (r.left < wrap.left - 0.5 || r.right > wrap.right + 0.5);
      }).map((b) => b.getAttribute('aria-label') || b.textContent);
    });
    assert.deepEqual(clipped, [], `${width} px: history buttons outside the table's box`);
    const detail = await page.locator('#history-body tr.row-detail').boundingBox();
    assert.ok(detail.x >= 0 && detail.x + detail.width <= width + 0.5, `${width} px: the detail view spans ${detail.x}..${detail.x + detail.width}`);
    await shot(page, `widths-${width}`);
    await shotParts(page, `widths-${width}`);
  }
  assertNoProblems(page);
});
