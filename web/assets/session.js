// Who is signed in and which project is shown: the views (sign-in, no
// project, the app), sign-in by link or pasted token, sign-out, and the
// project picker. What a token may do is decided by the server: the page
// offers exactly the projects GET /api/projects returns.

import { api, ApiError, clearToken, setToken } from './api.js';
import { $, h, show, notice, setFieldError } from './dom.js';
import { loadAudit } from './activity.js';
import { loadCapabilities } from './capabilities.js';
import { loadHistory, resetHistory } from './history.js';
import { resumeJobs, stopAllJobs } from './jobs.js';
import { loadDefaults, loadSettings } from './settings.js';
import { PROJECT_KEY, state, schemaOf } from './state.js';
import { currentTab } from './tabs.js';

function showView(name) {
  show($('boot'), false);
  show($('signin-view'), name === 'signin');
  show($('noproject-view'), name === 'noproject');
  show($('app-view'), name === 'app');
  show($('sign-out'), name !== 'signin');
  show($('project-bar'), name === 'app');
}

export function showSignIn(message) {
  stopAllJobs();
  state.generation += 1;
  state.project = null;
  notice($('signin-notice'), message);
  $('token-input').value = '';
  setFieldError('token-error', $('token-input'), '');
  showView('signin');
  $('token-input').focus();
}

// A one-time link carries the token in the fragment (#token=...), which never
// reaches the server. Take it out of the address bar (and so out of the history
// and any bookmark) before anything else happens.
export function takeTokenFromFragment() {
  const m = /^#token=([^&]+)/.exec(window.location.hash);
  if (!m) return null;
  history.replaceState(null, '', window.location.pathname + window.location.search);
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return m[1];
  }
}

export async function signIn(token, { fresh }) {
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
  loadCapabilities();
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

// The sign-in form's submit: a pasted token, with or without "Bearer ".
export async function submitSignIn() {
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
}

export function signOut() {
  clearToken();
  sessionStorage.removeItem(PROJECT_KEY);
  showSignIn('You are signed out.');
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

// The picker's choice, by project id.
export function switchProject(id) {
  const p = state.projects.find((x) => x.id === id);
  if (p) selectProject(p);
}

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
  resetHistory();
  state.settingsLoaded = false;
  show($('next-run'), false);
  loadDefaults();
  loadHistory();
  resumeJobs();
  const tab = currentTab();
  if (tab === 'settings') loadSettings();
  if (tab === 'activity') loadAudit();
}
