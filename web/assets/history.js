// The backup history: pages of GET /api/backup/history and each row's actions
// (details, download, send to Telegram, restore, delete). The rows' buttons
// carry data-action; app.js wires their clicks to historyAction(). The page
// polls the first page (app.js), so a scheduled backup shows up on its own;
// rows are repainted only when the answer changed, and focus stays on the
// control it was on (or the nearest one left) when they are.

import { api } from './api.js';
import { canSendTo, capabilities } from './capabilities.js';
import { $, h, show, notice, toast, confirmDialog } from './dom.js';
import { failureLead, failureReason } from './failures.js';
import { humanBytes, preciseDate, relativeTime, shortDate, shortId } from './format.js';
import { copyValue, detailRow } from './history-detail.js';
import { JobType, jobTitle } from './job-types.js';
import { trackJob } from './jobs.js';
import { state, schemaOf } from './state.js';
import { selectTab } from './tabs.js';

const PAGE_SIZE = 10;
const COLUMNS = 8;

// A row action's error, shown under its row (where the user clicked) until the
// next action on that row: backup id → message.
const rowErrors = new Map();
// Rows whose detail view is open (backup ids), kept across repaints.
const expanded = new Set();
// Row actions waiting for the server ("<id>:<action>"): their buttons are
// aria-disabled, not disabled, so a keyboard user's focus stays on them.
const busy = new Set();

// A new project's history starts on its first page, empty until loaded.
export function resetHistory() {
  state.history = { cursors: [null], index: 0, next: null, loaded: false, items: [], total: null };
  rowErrors.clear();
  expanded.clear();
  lastAnswer = '';
  $('history-body').replaceChildren();
  show($('history-last'), false);
  show($('history-wrap'), false);
  show($('history-empty'), false);
  show($('history-pager'), false);
}

export async function loadHistory({ quiet = false } = {}) {
  const project = state.project;
  if (!project) return;
  const generation = state.generation;
  const hist = state.history;
  const cursor = hist.cursors[hist.index];
  // Only the very first load shows a loading state; refreshes keep the table in
  // place until the new rows arrive, so nothing jumps while jobs are polled.
  if (!hist.loaded && !quiet) show($('history-loading'), true);
  const params = new URLSearchParams({ project_id: project.id, limit: String(PAGE_SIZE) });
  if (cursor) params.set('cursor', cursor);
  try {
    const page = await api('GET', `/api/backup/history?${params}`);
    if (generation !== state.generation) return;
    hist.loaded = true;
    hist.next = page.next_cursor || null;
    hist.items = page.items || [];
    hist.total = Number.isInteger(page.total) ? page.total : null;
    notice($('history-error'), '');
    // The same answer as last time (a poll): nothing to repaint.
    const answer = `${hist.index}|${JSON.stringify(page)}`;
    if (answer === lastAnswer) return;
    lastAnswer = answer;
    renderLastSuccess(page.last_successful_backup_at, hist.index === 0 ? hist.items[0] : null);
    renderHistory();
  } catch (e) {
    if (generation !== state.generation || e.status === 401) return;
    notice($('history-error'), `The history could not be loaded: ${e.message}`);
  } finally {
    if (generation === state.generation) show($('history-loading'), false);
  }
}

// The rows again, from what was loaded (e.g. when the server's capabilities arrive).
export function repaintHistory() {
  if (state.history.loaded) renderHistory();
}

let lastAnswer = '';

// Where focus was inside the table: the row's backup id, the button's action
// and the row's position, to find the same control (or its neighbour) after
// the rows were rebuilt.
function focusInTable() {
  const el = document.activeElement;
  const body = $('history-body');
  if (!el || !body.contains(el)) return null;
  const tr = el.closest('tr');
  const id = tr && (tr.dataset.backupId || tr.dataset.detailFor || tr.dataset.errorFor);
  const rows = [...body.querySelectorAll('tr[data-backup-id]')];
  return { id, action: el.dataset.action, index: rows.findIndex((r) => r.dataset.backupId === id) };
}

function restoreFocus(where) {
  if (!where) return;
  const body = $('history-body');
  const usable = (el) => el && !el.disabled && el.getClientRects().length > 0;
  const inRow = (id, action) => {
    if (!id) return null;
    const sel = `button[data-action="${action}"]`;
    const scope = action === 'copy'
      ? body.querySelector(`tr[data-detail-for="${CSS.escape(id)}"]`)
      : body.querySelector(`tr[data-backup-id="${CSS.escape(id)}"]`);
    return scope && scope.querySelector(sel);
  };
  const rows = [...body.querySelectorAll('tr[data-backup-id]')];
  const near = rows[Math.min(Math.max(where.index, 0), rows.length - 1)];
  const candidates = [
    inRow(where.id, where.action),
    inRow(where.id, 'details'),
    near && near.querySelector('button[data-action="details"]'),
  ];
  const target = candidates.find(usable) || $('history-title');
  target.focus({ preventScroll: true });
}

function renderHistory() {
  const hist = state.history;
  const items = hist.items;
  const empty = items.length === 0 && hist.index === 0;
  show($('history-empty'), empty);
  show($('history-wrap'), !empty);
  const focus = focusInTable();
  $('history-body').replaceChildren(...items.flatMap((b) => [historyRow(b), expanded.has(b.id) ? detailRow(b, COLUMNS, which(b)) : null, errorRow(b)].filter(Boolean)));
  restoreFocus(focus);
  const paged = hist.index > 0 || hist.next;
  show($('history-pager'), Boolean(paged));
  $('history-newer').disabled = hist.index === 0;
  $('history-older').disabled = !hist.next;
  const pages = hist.total === null ? null : Math.max(1, Math.ceil(hist.total / PAGE_SIZE), hist.index + 1);
  $('history-page').textContent = pages ? `Page ${hist.index + 1} of ${pages}` : `Page ${hist.index + 1}`;
}

// "Last successful backup: 3 hours ago", so that a schedule that stopped
// working is noticed; a warning when the newest run failed or none succeeded.
function renderLastSuccess(at, newest) {
  const el = $('history-last');
  const failing = Boolean(newest && newest.status === 'failed');
  el.className = `history-last ${failing || (!at && newest) ? 'history-last-warn' : 'muted'}`;
  if (at) {
    el.replaceChildren('Last successful backup: ',
      h('time', { datetime: at, title: shortDate(at), dataset: { relative: '' } }, relativeTime(at)),
      failing ? '. The newest run failed (see below).' : '');
  } else {
    el.replaceChildren(newest ? 'No backup of this project has succeeded yet.' : '');
  }
  show(el, Boolean(at || newest));
}

function errorRow(b) {
  const message = rowErrors.get(b.id);
  if (!message) return null;
  return h('tr', { class: 'row-error', dataset: { errorFor: b.id } },
    h('td', { colspan: String(COLUMNS), role: 'alert' }, message));
}

// Shows the error under the row (re-rendered rows keep it), or clears it.
function setRowError(b, message) {
  if (message) rowErrors.set(b.id, message);
  else rowErrors.delete(b.id);
  const body = $('history-body');
  const old = body.querySelector(`tr[data-error-for="${CSS.escape(b.id)}"]`);
  if (old) old.remove();
  const row = body.querySelector(`tr[data-backup-id="${CSS.escape(b.id)}"]`);
  const detail = body.querySelector(`tr[data-detail-for="${CSS.escape(b.id)}"]`);
  const fresh = errorRow(b);
  if (row && fresh) {
    (detail || row).after(fresh);
    fresh.scrollIntoView({ block: 'nearest' });
  }
}

const FORMAT_TEXT = { sql: 'SQL', tar: 'tar' };

function destinationChips(locations) {
  const chips = [];
  for (const loc of locations || []) {
    if (loc.type === 'local') chips.push(h('span', { class: 'chip', title: loc.path || '' }, 'Local'));
    else if (loc.type === 'telegram') {
      const n = Array.isArray(loc.parts) ? loc.parts.length : 0;
      chips.push(h('span', { class: 'chip chip-telegram' }, `Telegram · ${n} ${n === 1 ? 'part' : 'parts'}`));
    } else if (loc.type === 's3') {
      const where = `s3://${loc.bucket || ''}/${loc.key || ''}`;
      const text = loc.remote_remains ? 'S3 · delete pending' : loc.deleted ? 'S3 · deleted' : 'S3';
      chips.push(h('span', { class: 'chip chip-s3', title: where }, text));
    } else chips.push(h('span', { class: 'chip' }, String(loc.type)));
  }
  return chips.length ? chips : [h('span', { class: 'muted' }, '—')];
}

// A failed run: its reason in the status cell; nothing to download, send or
// restore, so the only action is removing it from the history.
function failedStatus(b) {
  return [h('span', { class: 'badge badge-failed' }, 'failed'),
    h('span', { class: 'run-reason' }, h('strong', {}, failureLead(b.error_code)), ' ', failureReason(b.error))];
}

// To the second, and the id's start: ten backups of one minute are ten
// different rows, and each button's name says which backup it acts on.
const which = (b) => `${preciseDate(b.created_at)} (${shortId(b.id)})`;

function historyRow(b) {
  const usable = b.status === 'completed';
  const failed = b.status === 'failed';
  const telegram = canSendTo('telegram');
  const format = `${FORMAT_TEXT[b.format] || b.format}${b.compression && b.compression !== 'none' ? ` · ${b.compression}` : ''}`;
  const when = preciseDate(b.created_at);
  const cell = (label, ...content) => h('td', { 'data-label': label }, ...content);
  const action = (text, name, opts = {}) =>
    h('button', { type: 'button', class: `btn btn-small ${opts.danger ? 'btn-danger-ghost' : ''}`, dataset: { action: name },
      disabled: opts.disabled, 'aria-disabled': busy.has(`${b.id}:${name}`) ? 'true' : null,
      'aria-label': opts.label || `${text} backup of ${which(b)}`, title: opts.label }, text);
  // The time opens the row's detail view (a disclosure button): its name is
  // what it shows, "Details of the backup of Mar 3, 14:05:09 1a2b3c4d".
  const details = h('button', { type: 'button', class: 'row-toggle', dataset: { action: 'details' },
    'aria-expanded': String(expanded.has(b.id)), 'aria-controls': `detail-${b.id}` },
  h('span', { class: 'sr-only' }, `Details of the ${failed ? 'failed run' : 'backup'} of `),
  h('time', { datetime: b.created_at }, when), ' ', h('span', { class: 'short-id' }, shortId(b.id)));
  return h('tr', { dataset: { backupId: b.id } },
    cell('Created', details),
    cell('Kind', h('span', { class: `kind kind-${b.kind}` }, b.kind === 'scheduled' ? 'Scheduled' : 'Manual'),
      b.fleet_run ? [' ', h('span', { class: 'badge badge-neutral', title: `Backed up with every other project in fleet run ${b.fleet_run}` }, 'fleet run')] : null),
    cell('Format', format, b.encrypted ? [' ', h('span', { class: 'badge badge-encrypted', title: 'age-encrypted: a download opens with age -d -i your-key' }, 'encrypted')] : null),
    h('td', { 'data-label': 'Size', class: 'num' }, failed ? '—' : humanBytes(b.size_bytes)),
    cell('Expires', failed ? '—' : b.expires_at ? h('time', { datetime: b.expires_at, title: shortDate(b.expires_at), dataset: { relative: '' } }, relativeTime(b.expires_at)) : 'never'),
    cell('Destinations', h('span', { class: 'chips' }, destinationChips(b.locations))),
    cell('Status', failed ? failedStatus(b) : h('span', { class: `badge badge-${b.status}` }, b.status),
      b.verification && b.verification.status === 'failed'
        ? [' ', h('span', { class: 'badge badge-failed', title: String(b.verification.detail || '') }, 'verification failed')] : null),
    h('td', { class: 'row-actions' }, h('div', { class: 'actions' }, b.status === 'deleted' ? h('span', { class: 'muted' }, 'Deleted')
      : failed ? action('Remove', 'delete', { danger: true, label: `Remove failed run of ${which(b)} from the history` }) : [
        action('Download', 'download', { disabled: !usable }),
        action('Telegram', 'telegram', {
          disabled: !usable || !telegram,
          label: telegram ? `Send backup of ${which(b)} to Telegram` : `This server cannot send to Telegram (backup of ${which(b)})`,
        }),
        action('Restore', 'restore', { disabled: !usable }),
        action('Delete', 'delete', { danger: true })])),
  );
}

// A click on a row's button (wired in app.js on the table body).
export function historyAction(button) {
  const tr = button.closest('tr[data-backup-id], tr[data-detail-for]');
  const id = tr && (tr.dataset.backupId || tr.dataset.detailFor);
  const b = id && state.history.items.find((x) => x.id === id);
  if (!b) return;
  if (button.dataset.action === 'copy') {
    copyValue(button);
    return;
  }
  if (button.dataset.action === 'details') {
    toggleDetails(b, button);
    return;
  }
  // Still waiting for the server on this button (it is aria-disabled, not disabled).
  if (button.getAttribute('aria-disabled') === 'true') return;
  setRowError(b, '');
  const actions = {
    download: () => downloadBackup(b, button),
    telegram: () => sendToTelegram(b, button),
    restore: () => confirmRestore(b),
    delete: () => confirmDelete(b),
  };
  if (Object.hasOwn(actions, button.dataset.action)) actions[button.dataset.action]();
}

// Opens or closes the detail row under the row, in place (no repaint).
function toggleDetails(b, button) {
  const body = $('history-body');
  const old = body.querySelector(`tr[data-detail-for="${CSS.escape(b.id)}"]`);
  if (old) {
    old.remove();
    expanded.delete(b.id);
  } else {
    expanded.add(b.id);
    button.closest('tr').after(detailRow(b, COLUMNS, which(b)));
  }
  button.setAttribute('aria-expanded', String(!old));
}

// A row action's button while its request runs: marked busy (aria-disabled),
// never disabled, so focus stays on it.
function markBusy(b, button, on) {
  const key = `${b.id}:${button.dataset.action}`;
  if (on) busy.add(key);
  else busy.delete(key);
  const current = $('history-body').querySelector(`tr[data-backup-id="${CSS.escape(b.id)}"] button[data-action="${button.dataset.action}"]`);
  for (const el of new Set([button, current])) {
    if (!el) continue;
    if (on) el.setAttribute('aria-disabled', 'true');
    else el.removeAttribute('aria-disabled');
  }
}

export function showOlderPage() {
  const hist = state.history;
  if (!hist.next) return;
  hist.cursors = hist.cursors.slice(0, hist.index + 1).concat(hist.next);
  hist.index += 1;
  loadHistory();
}

export function showNewerPage() {
  const hist = state.history;
  if (hist.index === 0) return;
  hist.index -= 1;
  loadHistory();
}

const inTelegram = (b) => (b.locations || []).some((loc) => loc.type === 'telegram');
const inS3 = (b) => (b.locations || []).some((loc) => loc.type === 's3' && !loc.deleted);

async function downloadBackup(b, button) {
  markBusy(b, button, true);
  try {
    // A plain navigation cannot carry the bearer header: ask for a signed,
    // short-lived link and follow it.
    const link = await api('POST', `/api/backups/${encodeURIComponent(b.id)}/download-link`);
    const a = h('a', { href: link.url, download: '', class: 'sr-only' });
    document.body.append(a);
    a.click();
    a.remove();
  } catch (e) {
    // No local copy but S3 or Telegram has the backup: a job fetches it
    // (this can take minutes), and the download starts when it is done.
    if (e.status === 409 && (inS3(b) || inTelegram(b))) await fetchThenDownload(b, button);
    else if (e.status !== 401) setRowError(b, `The download could not start: ${e.message}`);
  } finally {
    markBusy(b, button, false);
  }
}

async function fetchThenDownload(b, button) {
  try {
    const accepted = await api('POST', `/api/backups/${encodeURIComponent(b.id)}/fetch`);
    trackJob(accepted.job_id, jobTitle(JobType.TELEGRAM_FETCH, preciseDate(b.created_at)),
      { id: accepted.job_id, type: JobType.TELEGRAM_FETCH, status: accepted.status || 'pending', created_at: accepted.created_at, progress: {} },
      { onCompleted: () => downloadBackup(b, button) });
    const from = inS3(b) ? 'S3' : 'Telegram';
    toast(`No local copy: fetching the backup from ${from}. The download starts when it is ready.`);
  } catch (e) {
    if (e.status !== 401) setRowError(b, `The backup could not be fetched: ${e.message}`);
  }
}

async function sendToTelegram(b, button) {
  markBusy(b, button, true);
  try {
    const accepted = await api('POST', `/api/backups/${encodeURIComponent(b.id)}/telegram`);
    trackJob(accepted.job_id, jobTitle(JobType.TELEGRAM_SEND, preciseDate(b.created_at)),
      { id: accepted.job_id, type: JobType.TELEGRAM_SEND, status: accepted.status || 'pending', created_at: accepted.created_at, progress: {} });
    selectTab('backups');
  } catch (e) {
    if (e.status !== 401) setRowError(b, `Could not send to Telegram: ${e.message}`);
  } finally {
    markBusy(b, button, false);
  }
}

async function confirmRestore(b) {
  const schema = schemaOf(state.project);
  const keepDays = capabilities.restoreKeepDays;
  const ok = await confirmDialog({
    title: 'Restore this backup?',
    body: [
      h('p', {}, 'This replaces the schema ', h('code', { text: schema }), ` with the backup from ${shortDate(b.created_at)} (${humanBytes(b.size_bytes)}).`),
      h('p', {}, 'Changes made since that backup will no longer be in the live schema. The current schema is not deleted: it is set aside',
        keepDays ? ` and kept for ${keepDays} ${keepDays === 1 ? 'day' : 'days'}` : '',
        '. When the restore is done, its card names the set-aside schema and says how to get it back.'),
    ],
    ok: `Replace ${schema}`,
  });
  if (!ok) return;
  try {
    const accepted = await api('POST', '/api/backup/restore', { backup_id: b.id });
    trackJob(accepted.job_id, jobTitle(JobType.RESTORE, `backup of ${preciseDate(b.created_at)}`),
      { id: accepted.job_id, type: JobType.RESTORE, status: accepted.status || 'pending', created_at: accepted.created_at, progress: {} });
    $('jobs').scrollIntoView({ block: 'nearest' });
  } catch (e) {
    if (e.status !== 401) setRowError(b, `The restore could not be started: ${e.message}`);
  }
}

async function confirmDelete(b) {
  const failed = b.status === 'failed';
  const ok = await confirmDialog(failed ? {
    title: 'Remove this failed run?',
    body: [h('p', {}, `The failed run of ${shortDate(b.created_at)} is removed from the history. It stored no backup.`)],
    ok: 'Remove from history',
  } : {
    title: 'Delete this backup?',
    body: [h('p', {}, `The backup from ${shortDate(b.created_at)} (${humanBytes(b.size_bytes)}) is deleted from every destination where possible. This cannot be undone.`)],
    ok: 'Delete backup',
  });
  if (!ok) return;
  try {
    const deleted = await api('DELETE', `/api/backups/${encodeURIComponent(b.id)}`);
    toast(failed ? 'Failed run removed' : 'Backup deleted');
    if (deleted && deleted.telegram_delete_job_id) {
      trackJob(deleted.telegram_delete_job_id, jobTitle(JobType.TELEGRAM_DELETE, preciseDate(b.created_at)),
        { id: deleted.telegram_delete_job_id, type: JobType.TELEGRAM_DELETE, status: 'pending', progress: {} });
    }
    await loadHistory({ quiet: true });
  } catch (e) {
    if (e.status !== 401) setRowError(b, `The backup could not be deleted: ${e.message}`);
  }
}
