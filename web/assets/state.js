// What the page shows now, shared by its modules. `generation` is bumped on
// sign-out and on a project switch: an answer that arrives for an older
// generation belongs to a view that is gone and is dropped.

export const PROJECT_KEY = 'tb.project';

export const state = {
  projects: [],
  project: null,
  history: { cursors: [null], index: 0, next: null, loaded: false, items: [] },
  jobs: new Map(), // id → { job, label, el, parts, timer, ticker, generation, onCompleted }
  settingsLoaded: false,
  generation: 0,
};

// The server names the schema; tenant_{slug} is the platform's rule otherwise.
export function schemaOf(project) {
  return project.schema || `tenant_${project.slug}`;
}
