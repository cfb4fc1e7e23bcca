// The Activity tab: the project's audit log, newest first.

import { api } from './api.js';
import { $, h, show, notice } from './dom.js';
import { shortDate } from './format.js';
import { state } from './state.js';

// The colour of an outcome: red only for what really went wrong (a refusal, a
// failure); green for what is done; blue for what was accepted or requested
// and goes on as a job (its card and the history say how it ended).
export function outcomeTone(outcome) {
  const text = String(outcome || '').toLowerCase();
  if (/^(refused|failed|failure|error|denied|forbidden)\b/.test(text)) return 'failed';
  if (/^(ok|success|completed|done)\b/.test(text)) return 'completed';
  if (/^(accepted|requested|pending|queued)\b/.test(text)) return 'pending';
  return 'neutral';
}

export async function loadAudit() {
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
      h('td', { 'data-label': 'Outcome' }, h('span', { class: `badge badge-${outcomeTone(a.outcome)}` }, a.outcome || '—')),
    )));
  } catch (e) {
    if (generation === state.generation && e.status !== 401) notice($('audit-error'), `The activity could not be loaded: ${e.message}`);
  } finally {
    if (generation === state.generation) show($('audit-loading'), false);
  }
}
