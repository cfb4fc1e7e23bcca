// The tabs of the app (WAI-ARIA tabs pattern). A tab's panel loads its data
// when it is shown: the settings once per project, the activity every time.

import { $, show } from './dom.js';
import { loadAudit } from './activity.js';
import { loadSettings } from './settings.js';
import { state } from './state.js';

export const TABS = ['backups', 'settings', 'activity'];

export function currentTab() {
  return TABS.find((t) => $(`tab-${t}`).getAttribute('aria-selected') === 'true') || 'backups';
}

export function selectTab(name, focus = false) {
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

// Arrow keys, Home and End move between the tabs. Returns whether the key was one of them.
export function tabKey(current, key) {
  const i = TABS.indexOf(current);
  if (key === 'ArrowRight') selectTab(TABS[(i + 1) % TABS.length], true);
  else if (key === 'ArrowLeft') selectTab(TABS[(i + TABS.length - 1) % TABS.length], true);
  else if (key === 'Home') selectTab(TABS[0], true);
  else if (key === 'End') selectTab(TABS[TABS.length - 1], true);
  else return false;
  return true;
}
