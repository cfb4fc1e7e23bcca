// The Tenant Backup page: sign-in, project picker, export with live job
// progress, backup history with actions, settings, activity.
//
// Plain ES module, no framework, no build step; the server's CSP is
// "default-src 'self'", so everything is built with DOM calls (textContent, never
// innerHTML with data) and styled from app.css. What a token may do is decided by
// the server: the page offers exactly the projects GET /api/projects returns.

import { api, ApiError, getToken, setToken, clearToken, setUnauthorizedHandler } from './api.js';
import { humanBytes, relativeTime, shortDate, duration } from './format.js';
import { JobType, jobType, jobTitle } from './job-types.js';

const $ = (id) => document.getElementById(id);

const PAGE_SIZE = 10;
const POLL_MS = 1000;
const PROJECT_KEY = 'tb.project';
const jobsKey = (projectId) => `tb.jobs.${projectId}`;

const state = {
  projects: [],
  project: null,
  history: { cursors: [null], index: 0, next: null, loaded: false, items: [] },
  jobs: new Map(), // id → { job, label, el, timer, ticker }
  settingsLoaded: false,
  generation: 0, // bumped on sign-out / project switch: late answers for an old view are dropped
};

// ---------- DOM helpers ----------

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function show(el, visible) {
  el.hidden = !visible;
}

function notice(el, message) {
  el.textContent = message || '';
  show(el, Boolean(message));
}

let toastTimer = null;
function toast(message) {
  const t = $('toast');
  t.textContent = message;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 4000);
}

// The server names the schema; tenant_{slug} is the platform's rule otherwise.
function schemaOf(project) {
  return project.schema || `tenant_${project.slug}`;
}

// ---------- views ----------

function showView(name) {
  show($('boot'), false);
  show($('signin-view'), name === 'signin');
  show($('noproject-view'), name === 'noproject');
  show($('app-view'), name === 'app');
  show($('sign-out'), name !== 'signin');
  show($('project-bar'), name === 'app');
}

function showSignIn(message) {
  stopAllJobs();
  state.generation += 1;
  state.project = null;
  notice($('signin-notice'), message);
  $('token-input').value = '';
  setFieldError('token-error', $('token-input'), '');
  showView('signin');
  $('token-input').focus();
}

setUnauthorizedHandler(() => {
  clearToken();
  showSignIn('Your session expired, sign in again.');
});

// ---------- sign-in ----------

// A one-time link carries the token in the fragment (#token=...), which never
// reaches the server. Take it out of the address bar (and so out of the history
// and any bookmark) before anything else happens.
function takeTokenFromFragment() {
  const m = /^#token=([^&]+)/.exec(window.location.hash);
  if (!m) return null;
  history.replaceState(null, '', window.location.pathname + window.location.search);
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return m[1];
  }
}

async function signIn(token, { fresh }) {
  let projects;
  try {
    projects = await api('GET', '/api/projects', undefined, { token, quiet401: true });
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      clearToken();
      showSignIn(fresh
        ? 'This token was not accepted: it is invalid or has expired. Ask for a new one.'
        : 'Your session expired, sign in again.');
      return;
    }
    clearToken();
    showSignIn(e.message);
    return;
  }
  setToken(token);
  state.projects = Array.isArray(projects) ? projects : [];
  if (state.projects.length === 0) {
    showView('noproject');
    return;
  }
  const remembered = sessionStorage.getItem(PROJECT_KEY);
  const project = state.projects.find((p) => p.id === remembered) || state.projects[0];
  renderProjectPicker(project);
  showView('app');
  selectProject(project);
}

function renderProjectPicker(current) {
  const select = $('project-select');
  const single = $('project-name');
  select.replaceChildren(...state.projects.map((p) =>
    h('option', { value: p.id, selected: p.id === current.id }, p.name || p.id)));
  const several = state.projects.length > 1;
  show(select, several);
  show(document.querySelector('.project-label'), several);
  show(single, !several);
  single.textContent = current.name || current.id;
}

$('signin-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const input = $('token-input');
  const token = input.value.trim().replace(/^Bearer\s+/i, '');
  if (!token) {
    setFieldError('token-error', input, 'Paste your access token.');
    input.focus();
    return;
  }
  setFieldError('token-error', input, '');
  const button = $('signin-submit');
  button.disabled = true;
  button.textContent = 'Signing in…';
  try {
    await signIn(token, { fresh: true });
  } finally {
    button.disabled = false;
    button.textContent = 'Sign in';
  }
});

$('sign-out').addEventListener('click', () => {
  clearToken();
  sessionStorage.removeItem(PROJECT_KEY);
  showSignIn('You are signed out.');
});

$('project-select').addEventListener('change', (ev) => {
  const p = state.projects.find((x) => x.id === ev.target.value);
  if (p) selectProject(p);
});

// ---------- project ----------

function selectProject(project) {
  stopAllJobs();
  state.generation += 1;
  state.project = project;
  sessionStorage.setItem(PROJECT_KEY, project.id);
  $('project-title').textContent = project.name || project.id;
  $('project-schema').replaceChildren('Backups of the schema ', h('code', { text: schemaOf(project) }));
  document.title = `${project.name || project.id} · Tenant Backup`;
  $('jobs').replaceChildren();
  notice($('export-error'), '');
  state.history = { cursors: [null], index: 0, next: null, loaded: false, items: [] };
  $('history-body').replaceChildren();
  show($('history-wrap'), false);
  show($('history-empty'), false);
  show($('history-pager'), false);
  state.settingsLoaded = false;
  loadHistory();
  resumeJobs();
  const tab = currentTab();
  if (tab === 'settings') loadSettings();
  if (tab === 'activity') loadAudit();
}

// ---------- tabs ----------

const TABS = ['backups', 'settings', 'activity'];

function currentTab() {
  return TABS.find((t) => $(`tab-${t}`).getAttribute('aria-selected') === 'true') || 'backups';
}

function selectTab(name, focus = false) {
  for (const t of TABS) {
    const tab = $(`tab-${t}`);
    const on = t === name;
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
    show($(`panel-${t}`), on);
    if (on && focus) tab.focus();
  }
  if (name === 'settings' && !state.settingsLoaded) loadSettings();
  if (name === 'activity') loadAudit();
}

for (const t of TABS) {
  const tab = $(`tab-${t}`);
  tab.addEventListener('click', () => selectTab(t));
  // Arrow keys move between tabs (WAI-ARIA tabs pattern).
  tab.addEventListener('keydown', (ev) => {
    const i = TABS.indexOf(t);
    if (ev.key === 'ArrowRight') selectTab(TABS[(i + 1) % TABS.length], true);
    else if (ev.key === 'ArrowLeft') selectTab(TABS[(i + TABS.length - 1) % TABS.length], true);
    else if (ev.key === 'Home') selectTab(TABS[0], true);
    else if (ev.key === 'End') selectTab(TABS[TABS.length - 1], true);
    else return;
    ev.preventDefault();
  });
}

// ---------- export and jobs ----------

async function startExport(format) {
  const project = state.project;
  if (!project) return;
  const compression = $('export-compression').value;
  const body = { project_id: project.id, format, compress: compression !== 'none' };
  if (compression !== 'none') body.compression = compression;
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

$('export-sql').addEventListener('click', () => startExport('sql'));
$('export-tar').addEventListener('click', () => startExport('tar'));

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

function resumeJobs() {
  let saved = [];
  try {
    saved = JSON.parse(sessionStorage.getItem(jobsKey(state.project.id)) || '[]');
  } catch {
    saved = [];
  }
  // The saved type paints the card right before its first poll answers.
  for (const s of saved) trackJob(s.id, s.label, { id: s.id, type: s.type, status: 'pending', progress: {} });
}

function trackJob(id, label, initial, { onCompleted } = {}) {
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
    cancel: h('button', { type: 'button', class: 'btn btn-small btn-ghost', text: 'Cancel', onclick: () => cancelJob(entry) }),
    dismiss: h('button', { type: 'button', class: 'btn btn-small btn-ghost', 'aria-label': `Dismiss ${entry.label}`, text: 'Dismiss', onclick: () => dismissJob(entry) }),
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
  entry.el.dataset.status = status;
  p.badge.className = `badge badge-${status}`;
  p.badge.textContent = STATUS_TEXT[status] || status;
  const active = ACTIVE.has(status);
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
  if (entry.job.status === 'completed') {
    loadHistory({ quiet: true });
    if (announce) toast(`${entry.label}: completed`);
    if (announce && entry.onCompleted) entry.onCompleted(entry.job);
  } else if (announce && entry.job.status === 'failed') {
    toast(`${entry.label}: failed`);
  }
}

async function cancelJob(entry) {
  entry.parts.cancel.disabled = true;
  try {
    const job = await api('POST', `/api/jobs/${encodeURIComponent(entry.job.id)}/cancel`);
    if (job && job.status) {
      entry.job = { ...entry.job, ...job };
      renderJob(entry);
    }
  } catch (e) {
    if (e.status !== 401) toast(`Could not cancel: ${e.message}`);
  } finally {
    entry.parts.cancel.disabled = false;
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

function stopAllJobs() {
  for (const entry of state.jobs.values()) stopJob(entry);
  state.jobs.clear();
}

// ---------- history ----------

async function loadHistory({ quiet = false } = {}) {
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
    notice($('history-error'), '');
    renderHistory();
  } catch (e) {
    if (generation !== state.generation || e.status === 401) return;
    notice($('history-error'), `The history could not be loaded: ${e.message}`);
  } finally {
    if (generation === state.generation) show($('history-loading'), false);
  }
}

function renderHistory() {
  const hist = state.history;
  const items = hist.items;
  const empty = items.length === 0 && hist.index === 0;
  show($('history-empty'), empty);
  show($('history-wrap'), !empty);
  $('history-body').replaceChildren(...items.map(historyRow));
  const paged = hist.index > 0 || hist.next;
  show($('history-pager'), Boolean(paged));
  $('history-newer').disabled = hist.index === 0;
  $('history-older').disabled = !hist.next;
  $('history-page').textContent = `Page ${hist.index + 1}`;
}

const FORMAT_TEXT = { sql: 'SQL', tar: 'tar' };

function destinationChips(locations) {
  const chips = [];
  for (const loc of locations || []) {
    if (loc.type === 'local') chips.push(h('span', { class: 'chip', title: loc.path || '' }, 'Local'));
    else if (loc.type === 'telegram') {
      const n = Array.isArray(loc.parts) ? loc.parts.length : 0;
      chips.push(h('span', { class: 'chip chip-telegram' }, `Telegram · ${n} ${n === 1 ? 'part' : 'parts'}`));
    } else chips.push(h('span', { class: 'chip' }, String(loc.type)));
  }
  return chips.length ? chips : [h('span', { class: 'muted' }, '—')];
}

function historyRow(b) {
  const usable = b.status === 'completed';
  const format = `${FORMAT_TEXT[b.format] || b.format}${b.compression && b.compression !== 'none' ? ` · ${b.compression}` : ''}`;
  const when = shortDate(b.created_at);
  const cell = (label, ...content) => h('td', { 'data-label': label }, ...content);
  const action = (text, onclick, opts = {}) =>
    h('button', { type: 'button', class: `btn btn-small ${opts.danger ? 'btn-danger-ghost' : ''}`, onclick,
      disabled: opts.disabled, 'aria-label': opts.label || `${text} backup from ${when}`, title: opts.label }, text);
  return h('tr', { dataset: { backupId: b.id } },
    cell('Created', h('time', { datetime: b.created_at, title: b.created_at }, when)),
    cell('Kind', h('span', { class: `kind kind-${b.kind}` }, b.kind === 'scheduled' ? 'Scheduled' : 'Manual')),
    cell('Format', format),
    h('td', { 'data-label': 'Size', class: 'num' }, humanBytes(b.size_bytes)),
    cell('Expires', b.expires_at ? h('time', { datetime: b.expires_at, title: shortDate(b.expires_at), dataset: { relative: '' } }, relativeTime(b.expires_at)) : 'never'),
    cell('Destinations', h('span', { class: 'chips' }, destinationChips(b.locations))),
    cell('Status', h('span', { class: `badge badge-${b.status}` }, b.status)),
    h('td', { class: 'row-actions' }, h('div', { class: 'actions' }, b.status === 'deleted' ? h('span', { class: 'muted' }, 'Deleted') : [
      action('Download', (ev) => downloadBackup(b, ev.currentTarget), { disabled: !usable }),
      action('Telegram', (ev) => sendToTelegram(b, ev.currentTarget), { disabled: !usable, label: `Send backup from ${when} to Telegram` }),
      action('Restore', () => confirmRestore(b), { disabled: !usable }),
      action('Delete', () => confirmDelete(b), { danger: true })])),
  );
}

$('history-refresh').addEventListener('click', () => loadHistory());
$('history-older').addEventListener('click', () => {
  const hist = state.history;
  if (!hist.next) return;
  hist.cursors = hist.cursors.slice(0, hist.index + 1).concat(hist.next);
  hist.index += 1;
  loadHistory();
});
$('history-newer').addEventListener('click', () => {
  const hist = state.history;
  if (hist.index === 0) return;
  hist.index -= 1;
  loadHistory();
});

const inTelegram = (b) => (b.locations || []).some((loc) => loc.type === 'telegram');

async function downloadBackup(b, button) {
  button.disabled = true;
  notice($('history-error'), '');
  try {
    // A plain navigation cannot carry the bearer header: ask for a signed,
    // short-lived link and follow it.
    const link = await api('POST', `/api/backups/${encodeURIComponent(b.id)}/download-link`);
    const a = h('a', { href: link.url, download: '', class: 'sr-only' });
    document.body.append(a);
    a.click();
    a.remove();
  } catch (e) {
    // The local copy is gone but Telegram has the backup: a job fetches it
    // (this can take minutes), and the download starts when it is done.
    if (e.status === 409 && inTelegram(b)) await fetchThenDownload(b, button);
    else if (e.status !== 401) notice($('history-error'), `The download could not start: ${e.message}`);
  } finally {
    button.disabled = false;
  }
}

async function fetchThenDownload(b, button) {
  try {
    const accepted = await api('POST', `/api/backups/${encodeURIComponent(b.id)}/fetch`);
    trackJob(accepted.job_id, jobTitle(JobType.TELEGRAM_FETCH, shortDate(b.created_at)),
      { id: accepted.job_id, type: JobType.TELEGRAM_FETCH, status: accepted.status || 'pending', created_at: accepted.created_at, progress: {} },
      { onCompleted: () => downloadBackup(b, button) });
    toast('The local copy is gone: fetching the backup from Telegram. The download starts when it is ready.');
  } catch (e) {
    if (e.status !== 401) notice($('history-error'), `The backup could not be fetched from Telegram: ${e.message}`);
  }
}

async function sendToTelegram(b, button) {
  button.disabled = true;
  notice($('history-error'), '');
  try {
    const accepted = await api('POST', `/api/backups/${encodeURIComponent(b.id)}/telegram`);
    trackJob(accepted.job_id, jobTitle(JobType.TELEGRAM_SEND, shortDate(b.created_at)),
      { id: accepted.job_id, type: JobType.TELEGRAM_SEND, status: accepted.status || 'pending', created_at: accepted.created_at, progress: {} });
    selectTab('backups');
  } catch (e) {
    if (e.status !== 401) notice($('history-error'), `Could not send to Telegram: ${e.message}`);
  } finally {
    button.disabled = false;
  }
}

// ---------- confirmations ----------

function confirmDialog({ title, body, ok }) {
  const dialog = $('confirm-dialog');
  $('confirm-title').textContent = title;
  $('confirm-body').replaceChildren(...body);
  $('confirm-ok').textContent = ok;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
    $('confirm-cancel').focus();
  });
}

async function confirmRestore(b) {
  const schema = schemaOf(state.project);
  const ok = await confirmDialog({
    title: 'Restore this backup?',
    body: [
      h('p', {}, 'This replaces the schema ', h('code', { text: schema }), ` with the backup from ${shortDate(b.created_at)} (${humanBytes(b.size_bytes)}).`),
      h('p', {}, 'Changes made since that backup will no longer be in the live schema. The current schema is kept aside as ',
        h('code', { text: `${schema}__pre_restore_<time>` }), ' for 7 days.'),
    ],
    ok: `Replace ${schema}`,
  });
  if (!ok) return;
  notice($('history-error'), '');
  try {
    const accepted = await api('POST', '/api/backup/restore', { backup_id: b.id });
    trackJob(accepted.job_id, jobTitle(JobType.RESTORE, `backup of ${shortDate(b.created_at)}`),
      { id: accepted.job_id, type: JobType.RESTORE, status: accepted.status || 'pending', created_at: accepted.created_at, progress: {} });
    $('jobs').scrollIntoView({ block: 'nearest' });
  } catch (e) {
    if (e.status === 409) notice($('history-error'), `A restore of ${schema} is already running. Wait for it to finish.`);
    else if (e.status !== 401) notice($('history-error'), `The restore could not be started: ${e.message}`);
  }
}

async function confirmDelete(b) {
  const ok = await confirmDialog({
    title: 'Delete this backup?',
    body: [h('p', {}, `The backup from ${shortDate(b.created_at)} (${humanBytes(b.size_bytes)}) is deleted from every destination where possible. This cannot be undone.`)],
    ok: 'Delete backup',
  });
  if (!ok) return;
  try {
    const deleted = await api('DELETE', `/api/backups/${encodeURIComponent(b.id)}`);
    toast('Backup deleted');
    if (deleted && deleted.telegram_delete_job_id) {
      trackJob(deleted.telegram_delete_job_id, jobTitle(JobType.TELEGRAM_DELETE, shortDate(b.created_at)),
        { id: deleted.telegram_delete_job_id, type: JobType.TELEGRAM_DELETE, status: 'pending', progress: {} });
    }
    await loadHistory({ quiet: true });
  } catch (e) {
    if (e.status !== 401) notice($('history-error'), `The backup could not be deleted: ${e.message}`);
  }
}

// ---------- settings ----------

const FIELD_ERROR_IDS = {
  schedule: 'err-schedule',
  'schedule.kind': 'err-schedule',
  'schedule.time': 'err-schedule-time',
  'schedule.day': 'err-schedule-day',
  'schedule.expr': 'err-schedule-expr',
  retention_days: 'err-retention_days',
  destinations: 'err-destinations',
  telegram_chat_id: 'err-telegram_chat_id',
  notify_email: 'err-notify_email',
  format: 'err-format',
  compression: 'err-compression',
};
const FIELD_INPUTS = {
  'err-schedule': 's-schedule-kind',
  'err-schedule-time': 's-schedule-time',
  'err-schedule-day': 's-schedule-day',
  'err-schedule-expr': 's-schedule-expr',
  'err-retention_days': 's-retention',
  'err-destinations': 's-dest-local',
  'err-telegram_chat_id': 's-chat',
  'err-notify_email': 's-email',
  'err-format': 's-format',
  'err-compression': 's-compression',
};

function setFieldError(errorId, input, message) {
  const el = $(errorId);
  el.textContent = message || '';
  show(el, Boolean(message));
  if (input) {
    if (message) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }
}

function clearSettingsErrors() {
  for (const [errId, inputId] of Object.entries(FIELD_INPUTS)) setFieldError(errId, $(inputId), '');
  notice($('settings-error'), '');
}

function syncScheduleFields() {
  const kind = $('s-schedule-kind').value;
  show($('s-day-field'), kind === 'weekly');
  show($('s-time-field'), kind === 'daily' || kind === 'weekly');
  show($('s-cron-field'), kind === 'cron');
  show($('s-chat-field'), $('s-dest-telegram').checked);
}

$('s-schedule-kind').addEventListener('change', syncScheduleFields);
$('s-dest-telegram').addEventListener('change', syncScheduleFields);

function fillSettings(s) {
  const schedule = s.schedule || { kind: 'off' };
  $('s-schedule-kind').value = schedule.kind || 'off';
  $('s-schedule-time').value = schedule.time || '03:00';
  $('s-schedule-day').value = schedule.day || 'sun';
  $('s-schedule-expr').value = schedule.expr || '';
  $('s-retention').value = s.retention_days ?? 30;
  const dest = new Set(s.destinations || ['local']);
  $('s-dest-local').checked = dest.has('local');
  $('s-dest-telegram').checked = dest.has('telegram');
  $('s-chat').value = s.telegram_chat_id || '';
  $('s-email').value = s.notify_email || '';
  $('s-format').value = s.format || 'sql';
  $('s-compression').value = s.compression || 'zstd';
  syncScheduleFields();
}

async function loadSettings() {
  const project = state.project;
  if (!project) return;
  const generation = state.generation;
  clearSettingsErrors();
  $('settings-status').textContent = '';
  show($('settings-loading'), true);
  $('settings-save').disabled = true;
  try {
    const s = await api('GET', `/api/projects/${encodeURIComponent(project.id)}/backup-settings`);
    if (generation !== state.generation) return;
    fillSettings(s || {});
    state.settingsLoaded = true;
    if (s && s.updated_at) $('settings-status').textContent = `Last saved ${relativeTime(s.updated_at)}`;
  } catch (e) {
    if (generation === state.generation && e.status !== 401) notice($('settings-error'), `The settings could not be loaded: ${e.message}`);
  } finally {
    if (generation === state.generation) {
      show($('settings-loading'), false);
      $('settings-save').disabled = false;
    }
  }
}

// Validation in the page mirrors the API's (which stays the authority): the
// messages say what a good value looks like.
function readSettingsForm() {
  const errors = {};
  const kind = $('s-schedule-kind').value;
  let schedule = { kind };
  if (kind === 'daily' || kind === 'weekly') {
    const time = $('s-schedule-time').value;
    if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(time)) errors['err-schedule-time'] = 'Enter a time as HH:MM (24-hour, UTC).';
    schedule = kind === 'weekly' ? { kind, day: $('s-schedule-day').value, time } : { kind, time };
  } else if (kind === 'cron') {
    const expr = $('s-schedule-expr').value.trim().replace(/\s+/g, ' ');
    if (expr.split(' ').length !== 5) errors['err-schedule-expr'] = 'A cron expression has five fields: minute hour day-of-month month day-of-week.';
    schedule = { kind, expr };
  }
  const retentionText = $('s-retention').value.trim();
  const retention = Number(retentionText);
  if (!/^\d+$/.test(retentionText) || retention < 1 || retention > 3650) {
    errors['err-retention_days'] = 'Enter a whole number of days from 1 to 3650.';
  }
  const destinations = [];
  if ($('s-dest-local').checked) destinations.push('local');
  if ($('s-dest-telegram').checked) destinations.push('telegram');
  if (destinations.length === 0) errors['err-destinations'] = 'Choose at least one destination.';
  const chat = $('s-chat').value.trim();
  if (destinations.includes('telegram')) {
    if (!chat) errors['err-telegram_chat_id'] = 'Enter the Telegram chat id to send backups to.';
    else if (!/^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31})$/.test(chat)) errors['err-telegram_chat_id'] = 'A chat id is a number such as -1001234567890, or @channelname.';
  }
  const email = $('s-email').value.trim();
  if (email && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) errors['err-notify_email'] = 'Enter an e-mail address such as owner@example.com, or leave it empty.';
  const body = {
    schedule,
    retention_days: retention,
    destinations,
    telegram_chat_id: destinations.includes('telegram') && chat ? chat : null,
    notify_email: email || null,
    format: $('s-format').value,
    compression: $('s-compression').value,
  };
  return { body, errors };
}

$('settings-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const project = state.project;
  if (!project) return;
  clearSettingsErrors();
  $('settings-status').textContent = '';
  const { body, errors } = readSettingsForm();
  const entries = Object.entries(errors);
  if (entries.length) {
    for (const [errId, message] of entries) setFieldError(errId, $(FIELD_INPUTS[errId]), message);
    $(FIELD_INPUTS[entries[0][0]]).focus();
    $('settings-status').textContent = 'Fix the highlighted fields.';
    return;
  }
  const button = $('settings-save');
  button.disabled = true;
  $('settings-status').textContent = 'Saving…';
  try {
    const saved = await api('PUT', `/api/projects/${encodeURIComponent(project.id)}/backup-settings`, body);
    if (saved) fillSettings(saved);
    $('settings-status').textContent = 'Saved.';
  } catch (e) {
    $('settings-status').textContent = '';
    if (e.status === 401) return;
    const errId = e.field && (FIELD_ERROR_IDS[e.field] || FIELD_ERROR_IDS[e.field.split('.')[0]]);
    if (e.status === 400 && errId) {
      setFieldError(errId, $(FIELD_INPUTS[errId]), e.message);
      $(FIELD_INPUTS[errId]).focus();
      $('settings-status').textContent = 'Fix the highlighted field.';
    } else {
      notice($('settings-error'), `The settings were not saved: ${e.message}`);
    }
  } finally {
    button.disabled = false;
  }
});

// ---------- activity ----------

async function loadAudit() {
  const project = state.project;
  if (!project) return;
  const generation = state.generation;
  show($('audit-loading'), $('audit-body').children.length === 0);
  notice($('audit-error'), '');
  try {
    const page = await api('GET', `/api/projects/${encodeURIComponent(project.id)}/audit?format=json`);
    if (generation !== state.generation) return;
    const items = (page && page.items) || [];
    show($('audit-empty'), items.length === 0);
    show($('audit-wrap'), items.length > 0);
    $('audit-body').replaceChildren(...items.map((a) => h('tr', {},
      h('td', { 'data-label': 'When' }, h('time', { datetime: a.at, title: a.at }, shortDate(a.at))),
      h('td', { 'data-label': 'Who' }, a.actor || '—'),
      h('td', { 'data-label': 'Action' }, a.action || '—'),
      h('td', { 'data-label': 'Target', class: 'mono' }, a.target || '—'),
      h('td', { 'data-label': 'From' }, a.ip || '—'),
      h('td', { 'data-label': 'Outcome' }, h('span', { class: `badge badge-${a.outcome === 'ok' || a.outcome === 'success' ? 'completed' : 'failed'}` }, a.outcome || '—')),
    )));
  } catch (e) {
    if (generation === state.generation && e.status !== 401) notice($('audit-error'), `The activity could not be loaded: ${e.message}`);
  } finally {
    if (generation === state.generation) show($('audit-loading'), false);
  }
}

$('audit-refresh').addEventListener('click', () => loadAudit());

// ---------- start ----------

function boot() {
  const fromLink = takeTokenFromFragment();
  if (fromLink) {
    setToken(fromLink);
    signIn(fromLink, { fresh: true });
    return;
  }
  const token = getToken();
  if (token) signIn(token, { fresh: false });
  else showSignIn('');
}

// A sign-in link opened in a tab that already shows the page changes only the
// fragment: no reload happens, so take the token here too.
window.addEventListener('hashchange', () => {
  const token = takeTokenFromFragment();
  if (token) {
    setToken(token);
    signIn(token, { fresh: true });
  }
});

// Expiry dates are relative ("in 29 days"): refresh them now and then.
// Only the words change, so focus and scroll stay where they are.
setInterval(() => {
  if (document.hidden) return;
  for (const t of document.querySelectorAll('time[data-relative]')) t.textContent = relativeTime(t.getAttribute('datetime'));
}, 60_000);

boot();
