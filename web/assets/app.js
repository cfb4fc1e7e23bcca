// The Tenant Backup page: sign-in, project picker, export with live job
// progress, backup history with actions, settings, activity.
//
// Plain ES modules, no framework, no build step. This file wires every event
// of the page to the module that handles it, and starts the page:
//   session.js   views, sign-in and sign-out, the project picker
//   jobs.js      export and the job cards (job-types.js: each type in words)
//   history.js   the backup history and each row's actions (history-detail.js: a row's detail view)
//   settings.js  the Settings tab;  activity.js  the Activity tab
//   tabs.js      switching tabs;    dom.js, state.js, api.js, format.js  shared

import { clearToken, getToken, setToken, setUnauthorizedHandler } from './api.js';
import { loadAudit } from './activity.js';
import { onCapabilitiesLoaded, warnUnservedDestinations } from './capabilities.js';
import { $ } from './dom.js';
import { relativeTime } from './format.js';
import { historyAction, loadHistory, repaintHistory, showNewerPage, showOlderPage } from './history.js';
import { clearFinishedJobs, jobCardAction, onJobEnded, startExport, toggleOlderJobs } from './jobs.js';
import { onSettingsSaved, saveSettings, syncRetentionHint, syncScheduleFields } from './settings.js';
import { showSignIn, signIn, signOut, submitSignIn, switchProject, takeTokenFromFragment } from './session.js';
import { state } from './state.js';
import { TABS, selectTab, tabKey } from './tabs.js';

// ---------- session ----------

setUnauthorizedHandler(() => {
  clearToken();
  showSignIn('Your session expired, sign in again.');
});

$('signin-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  submitSignIn();
});
$('sign-out').addEventListener('click', signOut);
$('project-select').addEventListener('change', (ev) => switchProject(ev.target.value));

// ---------- tabs ----------

for (const t of TABS) {
  const tab = $(`tab-${t}`);
  tab.addEventListener('click', () => selectTab(t));
  tab.addEventListener('keydown', (ev) => {
    if (tabKey(t, ev.key)) ev.preventDefault();
  });
}

// ---------- export and jobs ----------

$('export-sql').addEventListener('click', () => startExport('sql'));
$('export-tar').addEventListener('click', () => startExport('tar'));
// Cards come and go: one listener on the list serves every card's buttons.
$('jobs').addEventListener('click', (ev) => {
  const button = ev.target.closest('button[data-action]');
  if (button) jobCardAction(button);
});
$('jobs-older').addEventListener('click', toggleOlderJobs);
$('jobs-clear').addEventListener('click', clearFinishedJobs);
// A job that ended may have added, sent or fetched a backup, or failed a run.
onJobEnded(() => loadHistory({ quiet: true }));

// ---------- history ----------

// Whether a row's Telegram button works depends on what the server can do.
onCapabilitiesLoaded(repaintHistory);
$('history-refresh').addEventListener('click', () => loadHistory());
// Scheduled backups (and jobs started elsewhere) land without this page's
// doing: the first page is asked again now and then while the page is seen.
// Rows are repainted only when the answer changed.
const HISTORY_POLL_MS = 10_000;
setInterval(() => {
  if (!document.hidden && state.project && state.history.loaded && state.history.index === 0) loadHistory({ quiet: true });
}, HISTORY_POLL_MS);
$('history-older').addEventListener('click', showOlderPage);
$('history-newer').addEventListener('click', showNewerPage);
// Rows are re-rendered on every load: one listener on the body serves them all.
$('history-body').addEventListener('click', (ev) => {
  const button = ev.target.closest('button[data-action]');
  if (button) historyAction(button);
});

// ---------- settings, activity ----------

$('s-schedule-kind').addEventListener('change', syncScheduleFields);
$('s-dest-telegram').addEventListener('change', syncScheduleFields);
for (const id of ['s-dest-telegram', 's-dest-s3']) $(id).addEventListener('change', warnUnservedDestinations);
$('s-retention').addEventListener('input', syncRetentionHint);
$('s-retention-existing').addEventListener('change', syncRetentionHint);
// Saved retention may have moved the history's expiry dates.
onSettingsSaved(() => loadHistory({ quiet: true }));
$('settings-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  saveSettings();
});
$('audit-refresh').addEventListener('click', () => loadAudit());

// ---------- start ----------

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

boot();
