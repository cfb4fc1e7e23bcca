// The JSON API client of the page: one place that adds the bearer token, reads
// {"data": ...} / {"error": {...}} bodies and turns a 401 into "signed out".
// The token lives in sessionStorage (this tab only) and is never decoded here:
// what the token may do is decided by the server (GET /api/projects).

const TOKEN_KEY = 'tb.token';

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field || null;
  }
}

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

let onUnauthorized = () => {};

// Called with the ApiError when any call answers 401 (expired or revoked token).
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

const FRIENDLY = {
  0: 'The server cannot be reached. Check your connection and try again.',
  429: 'Too many requests. Wait a minute and try again.',
  500: 'The server had a problem. Try again; if it keeps happening, tell your administrator.',
  503: 'The service is temporarily unavailable (database unreachable). Try again shortly.',
};

export async function api(method, path, body, { token = getToken(), quiet401 = false } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'NETWORK', FRIENDLY[0]);
  }
  let payload = null;
  const text = await response.text();
  if (text) {
    try {
      payload = JSON.parse(text);
    } catch {
      payload = null;
    }
  }
  if (response.ok) return payload ? payload.data : null;

  const e = payload && payload.error ? payload.error : {};
  let message = e.message || FRIENDLY[response.status] || `Request failed (HTTP ${response.status}).`;
  if (response.status === 429) {
    const retry = response.headers.get('Retry-After');
    message = retry ? `Too many requests. Try again in ${retry} s.` : FRIENDLY[429];
  }
  const error = new ApiError(response.status, e.code || `HTTP_${response.status}`, message, e.field);
  if (response.status === 401 && !quiet401) onUnauthorized(error);
  throw error;
}
