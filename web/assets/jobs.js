// Export and the job cards: a job is tracked from the moment the server
// accepts it, polled until it ends, and kept across reloads (session storage)
// while it is active. What a type is called and says comes from job-types.js.

import { api } from './api.js';
import { $, h, show, notice, toast } from './dom.js';
import { duration } from './format.js';
import { JobType, jobType, jobTitle } from './job-types.js';
import { state } from './state.js';

const POLL_MS = 1000;
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
  const buttons = [$('export-sql'), $('export-tar')];
  buttons.forEach((b) => { b.disabled = true; });
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
    buttons.forEach((b) => { b.disabled = false; });
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
  for (const s of saved) trackJob(s.id, s.label, { id: s.id, type: s.type, status: 'pending', progress: {} });
}

export function trackJob(id, label, initial, { onCompleted } = {}) {
  if (state.jobs.has(id)) return;
  const entry = { job: initial, label, el: null, timer: null, ticker: null, generation: state.generation, onCompleted };
  entry.el = buildJobCard(entry);
  state.jobs.set(id, entry);
  $('jobs').prepend(entry.el);
  renderJob(entry);
  saveActiveJobs();
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
    dismiss: h('button', { type: 'button', class: 'btn btn-small btn-ghost', 'aria-label': `Dismiss ${entry.label}`, text: 'Dismiss', dataset: { action: 'dismiss' } }),
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

function finishJob(entry, announce) {
  clearInterval(entry.ticker);
  entry.ticker = null;
  renderElapsed(entry);
  saveActiveJobs();
  if (entry.job.status === 'completed' || entry.job.status === 'failed') onAnyEnded(entry.job);
  if (entry.job.status === 'completed') {
    if (announce) toast(`${entry.label}: completed`);
    if (announce && entry.onCompleted) entry.onCompleted(entry.job);
  } else if (announce && entry.job.status === 'failed') {
    toast(`${entry.label}: failed`);
  }
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

function dismissJob(entry) {
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
}
