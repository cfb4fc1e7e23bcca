// DOM helpers shared by the app page and the docs page. The server's CSP is
// "default-src 'self'": everything is built with DOM calls (textContent, never
// innerHTML with data). Event listeners are not added here: the app wires its
// events in app.js.

export const $ = (id) => document.getElementById(id);

// h('li', { class: 'job', dataset: { jobId } }, child, 'text', [more]) → element.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function show(el, visible) {
  el.hidden = !visible;
}

// A notice box with the message, hidden when there is none.
export function notice(el, message) {
  el.textContent = message || '';
  show(el, Boolean(message));
}

// A field's error text beside it, and aria-invalid on its input.
export function setFieldError(errorId, input, message) {
  const el = $(errorId);
  el.textContent = message || '';
  show(el, Boolean(message));
  if (input) {
    if (message) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }
}

let toastTimer = null;
export function toast(message) {
  const t = $('toast');
  t.textContent = message;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 4000);
}

// The page's one confirmation dialog; resolves true when the user confirms.
export function confirmDialog({ title, body, ok }) {
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
