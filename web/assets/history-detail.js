// A history row's detail view: everything the server knows about one backup,
// in a row under it that its "Details" button opens and closes (a button, so
// a keyboard reaches it; nothing here is only in a hover tooltip). The run
// (size before compression, times, attempts, file name) comes from the item's
// "run"; the manifest ("tables") and the verification are shown when the
// server sends them. No event listeners here: app.js wires the clicks.

import { h } from './dom.js';
import { failureLead, failureReason } from './failures.js';
import { duration, humanBytes, preciseDate } from './format.js';

// How long a run took: "2.4 s" under a minute, "1:15" above.
export function runTime(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return null;
  return seconds < 60 ? `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s` : duration(seconds);
}

const STARTED_BY = {
  manual: 'Manual: someone pressed "Export" on this page or called the API',
  scheduled: 'The schedule in Settings',
};

function fileNameOf(b) {
  if (b.run && b.run.file_name) return b.run.file_name;
  const local = (b.locations || []).find((loc) => loc.type === 'local' && loc.path);
  return local ? String(local.path).split('/').pop() : null;
}

// "1.4 MB before compression, 212 KB stored (15 %)", or what is not known.
function sizeText(b) {
  const stored = humanBytes(b.size_bytes);
  const before = b.run && Number.isFinite(b.run.dump_bytes) ? b.run.dump_bytes : null;
  if (b.status === 'failed') return before === null ? 'Nothing was stored' : `${humanBytes(before)} dumped before it failed; nothing was stored`;
  if (before === null) return `${stored} stored (the size before compression was not recorded for this backup)`;
  if (!b.compression || b.compression === 'none') return `${stored} stored, not compressed (${humanBytes(before)} dumped)`;
  const share = before > 0 ? ` (${Math.max(1, Math.round((100 * b.size_bytes) / before))} % of the dump)` : '';
  return `${humanBytes(before)} before compression, ${stored} stored with ${b.compression}${share}`;
}

function locationItem(loc) {
  if (loc.type === 'local') return h('li', {}, h('strong', {}, 'Local storage: '), h('code', { class: 'wrap' }, loc.path || '(no path)'));
  if (loc.type === 'telegram') {
    const parts = Array.isArray(loc.parts) ? loc.parts.length : 0;
    return h('li', {}, h('strong', {}, 'Telegram: '), `chat ${loc.chat_id || '?'}, ${parts} ${parts === 1 ? 'message' : 'messages'}`,
      loc.deleted ? ' (deleted)' : '');
  }
  if (loc.type === 's3') {
    const state = loc.remote_remains ? ' (delete pending)' : loc.deleted ? ' (deleted)' : '';
    return h('li', {}, h('strong', {}, 'S3: '), h('code', { class: 'wrap' }, `s3://${loc.bucket || ''}/${loc.key || ''}`), state);
  }
  return h('li', {}, h('strong', {}, `${loc.type}`));
}

function item(term, ...value) {
  return [h('dt', {}, term), h('dd', {}, ...value)];
}

// The copy button of a value (the SHA-256): the clipboard API where the page
// may use it, else the text is selected so the user can copy it by hand.
export async function copyValue(button) {
  const code = document.getElementById(button.dataset.copyFrom);
  if (!code) return;
  const text = code.textContent;
  let copied = false;
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      copied = true;
    }
  } catch {
    copied = false;
  }
  if (!copied) {
    const range = document.createRange();
    range.selectNodeContents(code);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }
  const status = button.nextElementSibling;
  if (status) status.textContent = copied ? 'Copied.' : 'Selected: press Ctrl+C to copy.';
}

function verificationBadge(v) {
  const status = String(v.status || 'unknown');
  const tone = status === 'passed' ? 'completed' : status === 'failed' ? 'failed' : 'neutral';
  return [h('span', { class: `badge badge-${tone}` }, status),
    v.at ? [' ', h('time', { datetime: v.at }, preciseDate(v.at))] : null,
    v.detail ? h('span', { class: 'detail-note' }, String(v.detail)) : null];
}

function tablesTable(tables, which) {
  return h('table', { class: 'manifest' },
    h('caption', { class: 'sr-only' }, `Tables in the backup of ${which}`),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Table'), h('th', { scope: 'col', class: 'num' }, 'Rows'))),
    h('tbody', {}, tables.map((t) => h('tr', {},
      h('td', {}, String(t.name)),
      h('td', { class: 'num' }, Number.isFinite(t.rows) ? t.rows.toLocaleString('en') : '—')))));
}

// The detail row of backup b (its id: detail-<backup id>), spanning `columns`.
export function detailRow(b, columns, which) {
  const run = b.run || {};
  const hashId = `sha-${b.id}`;
  const took = runTime(run.seconds);
  const list = h('dl', { class: 'detail-list' },
    item('Backup id', h('code', { class: 'wrap' }, b.id)),
    item('Job id', b.job_id ? h('code', { class: 'wrap' }, b.job_id) : 'none (not made by a job)',
      b.job_id ? h('span', { class: 'detail-note' }, 'Activity lists the export under this id.') : null),
    item('Started by', STARTED_BY[b.kind] || String(b.kind)),
    item('Made', run.started_at ? [h('time', { datetime: run.started_at }, preciseDate(run.started_at)), ' to ',
      h('time', { datetime: run.completed_at || '' }, preciseDate(run.completed_at))] : preciseDate(b.created_at)),
    item('Took', took || 'not recorded', run.attempts > 1 ? ` (${run.attempts} attempts)` : ''),
    item('Size', sizeText(b)),
    b.status === 'failed' ? item('Why it failed', h('strong', {}, failureLead(b.error_code)), ' ', failureReason(b.error)) : null,
    fileNameOf(b) ? item('File name', h('code', { class: 'wrap' }, fileNameOf(b))) : null,
    b.sha256 ? item('SHA-256',
      h('code', { class: 'wrap', id: hashId }, b.sha256), ' ',
      h('button', { type: 'button', class: 'btn btn-small', dataset: { action: 'copy', copyFrom: hashId },
        'aria-label': `Copy the SHA-256 of the backup of ${which}` }, 'Copy'),
      h('span', { class: 'detail-note', role: 'status' })) : null,
    item('Locations', (b.locations || []).length
      ? h('ul', { class: 'detail-locations' }, b.locations.map(locationItem))
      : b.status === 'failed' ? 'none: the run stored nothing' : 'none'),
    b.verification && typeof b.verification === 'object' ? item('Verification', verificationBadge(b.verification)) : null,
    Array.isArray(b.tables) && b.tables.length ? item('Tables', tablesTable(b.tables, which)) : null,
  );
  return h('tr', { class: 'row-detail', id: `detail-${b.id}`, dataset: { detailFor: b.id } },
    h('td', { colspan: String(columns) },
      h('h3', { class: 'sr-only' }, `Details of the backup of ${which}`), list));
}
