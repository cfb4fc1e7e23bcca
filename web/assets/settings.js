// The Settings tab: the project's schedule, retention, destinations and
// defaults. The page checks the form first, with messages that say what a good
// value looks like; the API stays the authority, and its field errors are
// shown beside the field they name.

import { api } from './api.js';
import { syncDestinationChoices } from './capabilities.js';
import { $, show, notice, setFieldError } from './dom.js';
import { ownerWords } from './field-words.js';
import { relativeTime, utcDate } from './format.js';
import { state } from './state.js';
import { capabilities } from './capabilities.js';

// Called with the saved settings (app.js refreshes the history: expiry dates
// may have changed).
let onSaved = () => {};
export function onSettingsSaved(fn) {
  onSaved = fn;
}

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
  encryption: 'err-encryption',
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
  'err-encryption': 's-enc-recipients',
};

function clearSettingsErrors() {
  for (const [errId, inputId] of Object.entries(FIELD_INPUTS)) setFieldError(errId, $(inputId), '');
  notice($('settings-error'), '');
}

export function syncScheduleFields() {
  const kind = $('s-schedule-kind').value;
  show($('s-day-field'), kind === 'weekly');
  show($('s-time-field'), kind === 'daily' || kind === 'weekly');
  show($('s-cron-field'), kind === 'cron');
  show($('s-chat-field'), $('s-dest-telegram').checked);
}

// What "Also apply to existing backups" will do, in either state, for the
// number of days in the field.
export function syncRetentionHint() {
  const days = $('s-retention').value.trim() || 'N';
  $('hint-retention-existing').textContent = $('s-retention-existing').checked
    ? `When you save, every existing backup gets a new expiry date too: ${days} days after it was made. `
      + `Backups older than ${days} days are then deleted at the next clean-up; the others are kept until their new date.`
    : 'Existing backups keep the expiry dates shown in the history; only new backups are kept for this many days.';
}

// When the schedule runs next (from the server, which evaluates it), in the
// Settings tab and above the export buttons.
function showNextRun(s) {
  const next = s && s.next_run_at;
  const text = next ? `Next scheduled backup: ${utcDate(next)} (${relativeTime(next)}).` : '';
  $('s-next-run').textContent = next ? text : 'Scheduled backups are off.';
  show($('s-next-run'), Boolean(s));
  $('next-run').textContent = text;
  show($('next-run'), Boolean(next));
}

// The project's defaults where they apply outside the form: "Back up now"
// starts with the compression chosen in Settings.
function applyDefaults(s) {
  if (s && ['zstd', 'gzip', 'none'].includes(s.compression)) $('export-compression').value = s.compression;
  showNextRun(s);
}

// On a project's first view: its defaults, without the form's loading state.
export async function loadDefaults() {
  const project = state.project;
  if (!project) return;
  const generation = state.generation;
  try {
    const s = await api('GET', `/api/projects/${encodeURIComponent(project.id)}/backup-settings`);
    if (generation === state.generation) applyDefaults(s || {});
  } catch {
    // The export keeps its own default; the Settings tab shows the error when opened.
  }
}

function fillSettings(s) {
  const schedule = s.schedule || { kind: 'off' };
  $('s-schedule-kind').value = schedule.kind || 'off';
  $('s-schedule-time').value = schedule.time || '03:00';
  $('s-schedule-day').value = schedule.day || 'sun';
  $('s-schedule-expr').value = schedule.expr || '';
  $('s-retention').value = s.retention_days ?? 30;
  $('s-retention').dataset.saved = String(s.retention_days ?? 30);
  $('s-retention-existing').checked = false;
  syncRetentionHint();
  const dest = new Set(s.destinations || ['local']);
  $('s-dest-local').checked = dest.has('local');
  $('s-dest-telegram').checked = dest.has('telegram');
  $('s-dest-s3').checked = dest.has('s3');
  $('s-chat').value = s.telegram_chat_id || '';
  $('s-email').value = s.notify_email || '';
  $('s-format').value = s.format || 'sql';
  $('s-compression').value = s.compression || 'zstd';
  const encryption = s.encryption || {};
  $('s-enc-enabled').checked = Boolean(encryption.enabled);
  $('s-enc-recipients').value = (encryption.recipients || []).join('\n');
  syncScheduleFields();
  syncDestinationChoices();
  applyDefaults(s);
}

export async function loadSettings() {
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

// The form as the API's body, and the page's errors by error element id.
function readSettingsForm() {
  const errors = {};
  const kind = $('s-schedule-kind').value;
  let schedule = { kind };
  if (kind === 'daily' || kind === 'weekly') {
    // "3:00" is read as 03:00; "3:00 PM" is refused (the field is 24-hour).
    let time = $('s-schedule-time').value.trim();
    if (/^\d:[0-5]\d$/.test(time)) time = `0${time}`;
    if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(time)) errors['err-schedule-time'] = 'Enter a time on the 24-hour clock as HH:MM, e.g. 03:00 or 15:30 (UTC).';
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
  if ($('s-dest-s3').checked) destinations.push('s3');
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
  if ($('s-retention-existing').checked) body.apply_to_existing = true;
  // Sent only where the server can encrypt (it refuses "enabled" otherwise).
  if (capabilities.encryption) {
    const recipients = $('s-enc-recipients').value.split(/\s+/).filter(Boolean);
    const bad = recipients.find((r) => !/^age1[02-9ac-hj-np-z]{58}$/.test(r));
    if (bad) errors['err-encryption'] = bad.toUpperCase().startsWith('AGE-SECRET-KEY-')
      ? 'That is a secret key: paste its public key (age1…, from age-keygen -y) and keep the secret.'
      : 'An age public key starts with age1 and has 62 characters.';
    body.encryption = { enabled: $('s-enc-enabled').checked, recipients };
  }
  return { body, errors };
}

// "Saved." and what it meant for the backups already made.
function savedText(saved, body, changedDays) {
  const days = saved ? saved.retention_days : body.retention_days;
  if (saved && Number.isInteger(saved.existing_backups_updated)) {
    const n = saved.existing_backups_updated;
    return `Saved. ${n} existing backup${n === 1 ? ' now expires' : 's now expire'} ${days} days after ${n === 1 ? 'it was' : 'they were'} made.`;
  }
  if (changedDays) return `Saved. New backups are kept ${days} days; existing backups keep their expiry dates.`;
  return 'Saved.';
}

export async function saveSettings() {
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
  const previousDays = Number($('s-retention').dataset.saved);
  const button = $('settings-save');
  button.disabled = true;
  $('settings-status').textContent = 'Saving…';
  try {
    const saved = await api('PUT', `/api/projects/${encodeURIComponent(project.id)}/backup-settings`, body);
    const changedDays = saved && saved.retention_days !== previousDays;
    if (saved) fillSettings(saved);
    $('settings-status').textContent = savedText(saved, body, changedDays);
    onSaved(saved);
  } catch (e) {
    $('settings-status').textContent = '';
    if (e.status === 401) return;
    const errId = e.field && (FIELD_ERROR_IDS[e.field] || FIELD_ERROR_IDS[e.field.split('.')[0]]);
    if (e.status === 400 && errId) {
      setFieldError(errId, $(FIELD_INPUTS[errId]), ownerWords(e.message));
      $(FIELD_INPUTS[errId]).focus();
      $('settings-status').textContent = 'Fix the highlighted field.';
    } else {
      notice($('settings-error'), `The settings were not saved: ${ownerWords(e.message)}`);
    }
  } finally {
    button.disabled = false;
  }
}
