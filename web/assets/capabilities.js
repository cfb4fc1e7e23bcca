// What this server offers (GET /api/system): Telegram and S3 are offered only
// when the server can send there, so nobody picks a destination that would
// make every backup fail. A destination the saved settings still name although
// the server cannot serve it stays shown (checked, with a warning), so that it
// can be unchecked.
// The Encryption settings appear only when the server holds an age key.

import { api } from './api.js';
import { $, show } from './dom.js';

// restore_keep_days: how long a restore keeps the schema it set aside.
export const capabilities = { destinations: ['local'], encryption: false, restoreKeepDays: null };

export const canSendTo = (destination) => capabilities.destinations.includes(destination);
export const hasS3 = () => canSendTo('s3');

const CHOICES = [
  { destination: 'telegram', name: 'Telegram', label: 's-dest-telegram-label', box: 's-dest-telegram' },
  { destination: 's3', name: 'S3', label: 's-dest-s3-label', box: 's-dest-s3' },
];

// The warning under the destinations while one the server cannot serve is checked.
export function warnUnservedDestinations() {
  const unserved = CHOICES.filter((c) => $(c.box).checked && !canSendTo(c.destination)).map((c) => c.name);
  const el = $('warn-destinations');
  el.textContent = unserved.length
    ? `This server cannot send to ${unserved.join(' or ')}: every backup of this project fails until you uncheck it and save.`
    : '';
  show(el, unserved.length > 0);
}

// After the capabilities or the saved settings arrive (not on each click: a
// box the user just unchecked stays in view until the next load).
export function syncDestinationChoices() {
  for (const c of CHOICES) show($(c.label), canSendTo(c.destination) || $(c.box).checked);
  show($('export-s3-label'), hasS3());
  warnUnservedDestinations();
}

// Called once the capabilities are known (app.js repaints the history rows,
// whose Telegram buttons depend on them).
let onLoaded = () => {};
export function onCapabilitiesLoaded(fn) {
  onLoaded = fn;
}

export async function loadCapabilities() {
  try {
    const system = await api('GET', '/api/system');
    capabilities.destinations = Array.isArray(system && system.destinations) ? system.destinations : ['local'];
    capabilities.encryption = Boolean(system && system.encryption === true);
    capabilities.restoreKeepDays = Number.isInteger(system && system.restore_keep_days) ? system.restore_keep_days : null;
  } catch (e) {
    capabilities.destinations = ['local'];
    capabilities.encryption = false;
  }
  show($('s-encryption'), capabilities.encryption);
  syncDestinationChoices();
  onLoaded();
}
