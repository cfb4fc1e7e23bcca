// Export and the job cards: a job is tracked from the moment the server
// accepts it, polled until it ends, and kept across reloads (session storage)
// while it is active. What a type is called and says comes from job-types.js.
// The list is not a live region (its elapsed times tick every second): state
// changes are announced through #jobs-status and the toast. Only the newest
// finished cards stay open; older ones fold away behind "Show older", and
// "Clear finished" removes them all.

import { api } from './api.js';
import { $, h, show, notice, toast } from './dom.js';
import { clockTime, duration, shortId } from './format.js';
import { JobType, jobType, jobTitle } from './job-types.js';
import { state } from './state.js';

const POLL_MS = 1000;
// Finished cards shown before the older ones fold away.
const KEEP_FINISHED = 3;
let showOlder = false;
let exporting = false;
const jobsKey = (projectId) => `tb.jobs.${projectId}`;

// Called with the job when a tracked job completes or fails (app.js refreshes
// the history: a backup was added, sent or fetched, or a failed run is listed).
let onAnyEnded = () => {};
export function onJobEnded(fn) {
  onAnyEnded = fn;
}

export async function startExport(format) {
  const project = state.project;
  if (!project) return;
  const compression = $('export-compression').value;
  const body = { project_id: project.id, format, compress: compression !== 'none' };
  if (compression !== 'none') body.compression = compression;
  // "Also store in S3": the project's destinations, and S3 for this export.
  if ($('export-s3').checked) {
    try {
      const s = await api('GET', `/api/projects/${encodeURIComponent(project.id)}/backup-settings`);
      body.destinations = [...new Set([...((s && s.destinations) || ['local']), 's3'])];
    } catch (e) {
      if (e.status !== 401) notice($('export-error'), `The backup could not be started: ${e.message}`);
      return;
    }
  }
  // Marked busy, not disabled: a disabled button would drop a keyboard
  // user's focus to the page's body.
  if (exporting) return;
  exporting = true;
  const buttons = [$('export-sql'), $('export-tar')];
  buttons.forEach((b) => b.setAttribute('aria-disabled', 'true'));
  notice($('export-error'), '');
  try {
    const accepted = await api('POST', '/api/backup/export', body);
    const label = jobTitle(JobType.EXPORT, `${format === 'sql' ? 'SQL' : 'tar'} export${compression === 'none' ? '' : ` · ${compression}`}`);
    trackJob(accepted.job_id, label, {
      id: accepted.job_id, type: JobType.EXPORT, status: accepted.status || 'pending',
      project_id: accepted.project_id, created_at: accepted.created_at, progress: {},
    });
  } catch (e) {
    if (e.status !== 401) notice($('export-error'), `The backup could not be started: ${e.message}`);
  } finally {
    exporting = false;
    buttons.forEach((b) => b.removeAttribute('aria-disabled'));
  }
}

const ACTIVE = new Set(['pending', 'running']);
const STATUS_TEXT = {
  pending: 'Waiting for a worker…',
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

function saveActiveJobs() {
  if (!state.project) return;
  const active = [...state.jobs.values()]
    .filter((j) => ACTIVE.has(j.job.status))
    .map((j) => ({ id: j.job.id, type: j.job.type, label: j.label }));
  sessionStorage.setItem(jobsKey(state.project.id), JSON.stringify(active));
}

export function resumeJobs() {
  let saved = [];
  try {
    saved = JSON.parse(sessionStorage.getItem(jobsKey(state.project.id)) || '[]');
  } catch {
    saved = [];
  }
  // The saved type paints the card right before its first poll answers.
  for (const s of saved) trackJob(s.id, s.label, { id: s.id, type: s.type, status: 'pending', progress: {} }, { quiet: true });
}

// One sentence for screen readers, once per change of a job's state.
function announce(text) {
  const el = $('jobs-status');
  if (el.textContent !== text) el.textContent = text;
}

export function trackJob(id, label, initial, { onCompleted, quiet = false } = {}) {
  if (state.jobs.has(id)) return;
  const entry = { job: initial, label, el: null, timer: null, ticker: null, generation: state.generation, onCompleted };
  entry.el = buildJobCard(entry);
  state.jobs.set(id, entry);
  $('jobs').prepend(entry.el);
  renderJob(entry);
  saveActiveJobs();
  tidyJobs();
  if (!quiet) announce(`${label}: started.`);
  pollJob(entry);
  // The elapsed time ticks every second between polls.
  entry.ticker = setInterval(() => renderElapsed(entry), 1000);
}

function buildJobCard(entry) {
  const li = h('li', { class: 'job', dataset: { jobId: entry.job.id } });
  entry.parts = {
    badge: h('span', { class: 'badge' }),
    title: h('span', { class: 'job-title', text: entry.label }),
    bytes: h('span', { class: 'job-bytes' }),
    elapsed: h('span', { class: 'job-elapsed' }),
    message: h('p', { class: 'job-message' }),
    bar: h('div', { class: 'progress', role: 'progressbar', 'aria-label': `${entry.label} progress` }, h('div', { class: 'progress-fill' })),
    cancel: h('button', { type: 'button', class: 'btn btn-small btn-ghost', text: 'Cancel', dataset: { action: 'cancel' } }),
    dismiss: h('button', { type: 'button', class: 'btn btn-small btn-ghost', text: 'Dismiss', dataset: { action: 'dismiss' } }),
  };
  const p = entry.parts;
  li.append(
    h('div', { class: 'job-head' }, p.badge, p.title, h('span', { class: 'job-actions' }, p.cancel, p.dismiss)),
    p.bar,
    h('div', { class: 'job-meta' }, p.bytes, p.elapsed),
    p.message,
  );
  return li;
}

function renderJob(entry) {
  const { job, parts: p } = entry;
  const status = job.status || 'pending';
  const active = ACTIVE.has(status);
  // From the click on (or once the server says so) until the job ends: the
  // worker stops the dump within seconds, and the card says so meanwhile.
  const cancelling = active && (entry.cancelling || job.cancel_requested === true);
  entry.el.dataset.status = status;
  entry.el.dataset.cancelling = cancelling ? 'true' : 'false';
  p.badge.className = `badge badge-${status}`;
  p.badge.textContent = cancelling ? 'Cancelling…' : STATUS_TEXT[status] || status;
  p.cancel.disabled = cancelling;
  // Each card's buttons name its job: the project and the time it started.
  const which = `${entry.label} of ${(state.project && (state.project.name || state.project.id)) || 'this project'}`
    + `${job.created_at ? `, started ${clockTime(job.created_at)}` : ''} (job ${shortId(job.id)})`;
  p.cancel.setAttribute('aria-label', `Cancel ${which}`);
  p.dismiss.setAttribute('aria-label', `Dismiss ${which}`);
  renderProgress(p.bar, status);
  p.bar.classList.toggle('progress-indeterminate', active);
  p.bar.classList.toggle('progress-done', status === 'completed');
  p.bar.classList.toggle('progress-failed', status === 'failed' || status === 'cancelled');
  show(p.cancel, active);
  show(p.dismiss, !active);

  const kind = jobType(job.type);
  p.bytes.textContent = kind.meta(job, active);
  renderElapsed(entry);

  let message = '';
  p.message.className = 'job-message';
  if (status === 'completed') {
    message = kind.done(job.result || {});
  } else if (status === 'failed') {
    message = `Failed: ${plainError(job.last_error)}`;
    p.message.className = 'job-message job-error';
  } else if (status === 'cancelled') {
    message = 'Cancelled. Nothing partial was kept.';
  } else if (status === 'pending' && job.attempts > 0) {
    message = `Retrying (attempt ${job.attempts + 1} of ${job.max_attempts || '?'})${job.last_error ? `: ${plainError(job.last_error)}` : ''}`;
  } else if (entry.stale) {
    message = 'Reconnecting…';
  }
  p.message.textContent = message;
}

// The bar's value for assistive technology: unknown (indeterminate: no
// aria-valuenow) while the job runs, 100 when done, 0 when it stopped.
function renderProgress(bar, status) {
  bar.setAttribute('aria-valuemin', '0');
  bar.setAttribute('aria-valuemax', '100');
  const ended = { completed: ['100', 'Done'], failed: ['0', 'Failed'], cancelled: ['0', 'Cancelled'] }[status];
  if (ended) {
    bar.setAttribute('aria-valuenow', ended[0]);
    bar.setAttribute('aria-valuetext', ended[1]);
  } else {
    bar.removeAttribute('aria-valuenow');
    bar.setAttribute('aria-valuetext', 'In progress, how far is not known');
  }
  bar.dataset.indeterminate = ended ? 'false' : 'true';
}

// The server keeps every attempt's reason in last_error; show the last one,
// in the words the server wrote, without internal prefixes.
function plainError(text) {
  if (!text) return 'the job failed without a reason (see the server log).';
  const lines = String(text).trim().split('\n').filter(Boolean);
  return lines[lines.length - 1].replace(/^attempt \d+:\s*/i, '');
}

function renderElapsed(entry) {
  const { job, parts: p } = entry;
  const start = Date.parse(job.started_at || (job.progress && job.progress.started_at) || job.created_at || '');
  if (Number.isNaN(start)) {
    p.elapsed.textContent = '';
    return;
  }
  const end = job.completed_at ? Date.parse(job.completed_at) : Date.now();
  p.elapsed.textContent = `${ACTIVE.has(job.status) ? 'Elapsed' : 'Took'} ${duration((end - start) / 1000)}`;
}

async function pollJob(entry) {
  entry.timer = null;
  if (entry.generation !== state.generation) return;
  try {
    const job = await api('GET', `/api/jobs/${encodeURIComponent(entry.job.id)}`);
    if (entry.generation !== state.generation) return;
    const wasActive = ACTIVE.has(entry.job.status);
    entry.job = job;
    entry.stale = false;
    renderJob(entry);
    if (ACTIVE.has(job.status)) {
      entry.timer = setTimeout(() => pollJob(entry), POLL_MS);
    } else {
      finishJob(entry, wasActive);
    }
  } catch (e) {
    if (e.status === 401) return;
    if (e.status === 404 || e.status === 403) {
      entry.job = { ...entry.job, status: 'failed', last_error: e.message };
      renderJob(entry);
      finishJob(entry, false);
      return;
    }
    entry.stale = true;
    renderJob(entry);
    entry.timer = setTimeout(() => pollJob(entry), POLL_MS * 3);
  }
}

// The toast announces a completion or a failure; a cancel is announced here.
function finishJob(entry, wasActive) {
  clearInterval(entry.ticker);
  entry.ticker = null;
  renderElapsed(entry);
  saveActiveJobs();
  tidyJobs();
  if (entry.job.status === 'completed' || entry.job.status === 'failed') onAnyEnded(entry.job);
  if (entry.job.status === 'completed') {
    if (wasActive) toast(`${entry.label}: completed`);
    if (wasActive && entry.onCompleted) entry.onCompleted(entry.job);
  } else if (wasActive && entry.job.status === 'failed') {
    toast(`${entry.label}: failed`);
  } else if (wasActive && entry.job.status === 'cancelled') {
    announce(`${entry.label}: cancelled.`);
  }
}

// Cards newest first: every active one and the newest KEEP_FINISHED finished
// ones are shown; older finished ones fold away until "Show older".
export function tidyJobs() {
  const finished = [...$('jobs').children].filter((li) => !ACTIVE.has(li.dataset.status));
  const older = finished.slice(KEEP_FINISHED);
  for (const li of finished) show(li, showOlder || !older.includes(li));
  if (older.length === 0) showOlder = false;
  const toggle = $('jobs-older');
  toggle.textContent = showOlder ? 'Hide older finished jobs' : `Show ${older.length} older finished ${older.length === 1 ? 'job' : 'jobs'}`;
  toggle.setAttribute('aria-expanded', String(showOlder));
  show(toggle, older.length > 0);
  show($('jobs-tools'), finished.length > 0);
}

export function toggleOlderJobs() {
  showOlder = !showOlder;
  tidyJobs();
}

// Removes every finished card; focus goes to the export button (the control it was on is gone).
export function clearFinishedJobs() {
  for (const entry of [...state.jobs.values()]) if (!ACTIVE.has(entry.job.status)) removeCard(entry);
  showOlder = false;
  tidyJobs();
  $('export-sql').focus();
  announce('Finished jobs cleared.');
}

// A click on a card's Cancel or Dismiss (wired in app.js on the list).
export function jobCardAction(button) {
  const li = button.closest('li[data-job-id]');
  const entry = li && state.jobs.get(li.dataset.jobId);
  if (!entry) return;
  if (button.dataset.action === 'cancel') cancelJob(entry);
  else if (button.dataset.action === 'dismiss') dismissJob(entry);
}

async function cancelJob(entry) {
  entry.cancelling = true;
  renderJob(entry);
  announce(`${entry.label}: cancelling.`);
  // The disabled Cancel would drop focus to the page: keep it on the card.
  if (document.activeElement === entry.parts.cancel || document.activeElement === document.body) {
    entry.el.tabIndex = -1;
    entry.el.focus();
  }
  try {
    const job = await api('POST', `/api/jobs/${encodeURIComponent(entry.job.id)}/cancel`);
    if (job && job.status) {
      entry.job = { ...entry.job, ...job };
      renderJob(entry);
    }
  } catch (e) {
    // Not cancelled: the card goes back to what the job is doing.
    entry.cancelling = false;
    renderJob(entry);
    if (e.status !== 401) toast(`Could not cancel: ${e.message}`);
  }
}

// Focus moves to the next card's button (or the export button): the
// dismissed one is gone.
function dismissJob(entry) {
  const cards = [...$('jobs').children].filter((li) => !li.hidden);
  const i = cards.indexOf(entry.el);
  const next = cards[i + 1] || cards[i - 1];
  removeCard(entry);
  tidyJobs();
  const target = next && [...next.querySelectorAll('button')].find((b) => !b.hidden && !b.disabled);
  (target || $('export-sql')).focus();
}

function removeCard(entry) {
  stopJob(entry);
  state.jobs.delete(entry.job.id);
  entry.el.remove();
  saveActiveJobs();
}

function stopJob(entry) {
  clearTimeout(entry.timer);
  clearInterval(entry.ticker);
  entry.timer = null;
  entry.ticker = null;
}

export function stopAllJobs() {
  for (const entry of state.jobs.values()) stopJob(entry);
  state.jobs.clear();
  $('jobs').replaceChildren();
  showOlder = false;
  tidyJobs();
}
