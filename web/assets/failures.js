// A failed run in words a project owner understands: what went wrong, chosen
// by the error's stable code (GET /api/backup/history: error_code), and what to
// do about it, followed by the server's own reason. No DOM here, only text.

const LEADS = {
  UNAVAILABLE: 'Something the backup needs (the database, the storage or a destination) did not answer, and the retries ran out. If it keeps happening, tell your administrator.',
  FORBIDDEN: 'A destination refused the backup. Check its access rights, or tell your administrator.',
  NOT_FOUND: 'Something the backup needs is missing.',
  CONFLICT: 'The project\'s settings ask for something this server cannot do. Change them under Settings.',
  VALIDATION_ERROR: 'The backup\'s settings are not valid. Change them under Settings.',
  PROJECT_BUSY: 'The project was busy (a restore ran) for too long.',
  INTERNAL: 'The backup could not be made. If it keeps happening, tell your administrator.',
};

export const failureLead = (code) => LEADS[code] || LEADS.INTERNAL;

// The server's reason: its last line, without "attempt N:" (kept as written:
// it may start with a program's name, e.g. pg_dump).
export function failureReason(message) {
  const lines = String(message || '').trim().split('\n').filter(Boolean);
  const last = (lines[lines.length - 1] || 'no reason was recorded').replace(/^attempt \d+:\s*/i, '');
  return `Reason: ${last}`;
}
