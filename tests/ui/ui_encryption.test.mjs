// Browser tests of encryption at rest: the Settings' Encryption section
// (shown only when the server holds an age key), its checks of the pasted
// public keys, and the "encrypted" badge in the history. Runs last: it turns
// encryption on for project demo and off again.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

import {
  TOKEN_DEMO,
  assertNoProblems,
  firstRow,
  openPage,
  openSettings,
  psql,
  shot,
  signInWithLink,
  waitForJobEnd,
} from './support.mjs';

// A tenant's public key, made as a tenant makes one.
function tenantRecipient() {
  const dir = spawnSync('mktemp', ['-d'], { encoding: 'utf8' }).stdout.trim();
  spawnSync('age-keygen', ['-o', `${dir}/k`], { encoding: 'utf8' });
  const r = spawnSync('age-keygen', ['-y', `${dir}/k`], { encoding: 'utf8' }).stdout.trim();
  spawnSync('rm', ['-rf', dir]);
  return r;
}

async function save(page) {
  await page.getByRole('button', { name: 'Save settings' }).click();
}

test('Encryption: keys are checked, saved, and a new backup shows the encrypted badge', async () => {
  const page = await openPage();
  await signInWithLink(page, TOKEN_DEMO);
  await openSettings(page);
  const section = page.locator('#s-encryption');
  await section.waitFor({ state: 'visible' });
  assert.match(await section.textContent(), /age -d -i your-key/);

  const recipient = tenantRecipient();
  await page.getByLabel('Encrypt new backups (age)').check();
  // A secret key pasted by mistake is caught by the page, and not sent.
  await page.locator('#s-enc-recipients').fill('AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ');
  await save(page);
  await page.locator('#err-encryption').filter({ hasText: 'secret key' }).waitFor();
  // A key with a wrong checksum passes the page's shape check: the server
  // names it, and the page shows its message beside the field.
  const typo = recipient.slice(0, 20) + (recipient[20] === 'q' ? 'p' : 'q') + recipient.slice(21);
  await page.locator('#s-enc-recipients').fill(`${recipient}\n${typo}`);
  await save(page);
  await page.locator('#err-encryption').filter({ hasText: 'not an age recipient' }).waitFor();
  assert.equal(await page.locator('#s-enc-recipients').getAttribute('aria-invalid'), 'true');
  assert.equal(psql("SELECT coalesce(bool_or(encryption_enabled), false) FROM control_plane.backup_settings WHERE project_id = 'demo'"), 'f');

  await page.locator('#s-enc-recipients').fill(recipient);
  await save(page);
  await page.locator('#settings-status').filter({ hasText: 'Saved.' }).waitFor();
  assert.equal(psql("SELECT encryption_enabled::text || ' ' || encryption_recipients::text FROM control_plane.backup_settings WHERE project_id = 'demo'"),
    `true ["${recipient}"]`);
  await shot(page, 'settings-encryption-1440');

  // A new backup is encrypted: the history says so.
  await page.getByRole('tab', { name: 'Backups' }).click();
  await page.getByRole('button', { name: 'Export SQL now' }).click();
  const job = page.locator('#jobs li').first();
  assert.equal(await waitForJobEnd(page, job), 'completed', await job.textContent());
  await page.locator('#history-body tr .badge-encrypted').first().waitFor();
  assert.match(await firstRow(page).locator('td').nth(2).textContent(), /encrypted/);
  await shot(page, 'history-encrypted-1440');

  // Off again (the keys stay for next time).
  await openSettings(page);
  assert.equal(await page.locator('#s-enc-recipients').inputValue(), recipient);
  await page.getByLabel('Encrypt new backups (age)').uncheck();
  await save(page);
  await page.locator('#settings-status').filter({ hasText: 'Saved.' }).waitFor();
  assert.equal(psql("SELECT encryption_enabled::text FROM control_plane.backup_settings WHERE project_id = 'demo'"), 'false');
  assertNoProblems(page);

  // A server without a key (its GET /api/system says so): no section.
  const plain = await openPage();
  await plain.route('**/api/system', (route) =>
    route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ data: { destinations: ['local'], encryption: false } }) }));
  const answered = plain.waitForResponse((r) => r.url().endsWith('/api/system'));
  await signInWithLink(plain, TOKEN_DEMO);
  await answered;
  await openSettings(plain);
  assert.equal(await plain.locator('#s-encryption').isVisible(), false);
  assertNoProblems(plain);
});
