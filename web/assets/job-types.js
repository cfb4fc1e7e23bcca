// The job types the server runs (the "type" of GET /api/jobs/{id}), in words.
// This is the one place the page knows them: a job card's title, its meta line
// and its completion message all come from here, so a card never shows a raw
// type name or another type's message. No DOM here, only text.

import { humanBytes, relativeTime, shortDate } from './format.js';

// The type strings, exactly as the server writes them.
export const JobType = Object.freeze({
  EXPORT: 'export',
  RESTORE: 'restore',
  TELEGRAM_SEND: 'telegram_send',
  TELEGRAM_FETCH: 'telegram_fetch',
  TELEGRAM_DELETE: 'telegram_delete',
});

const count = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
const partsOf = (location) => (location && Array.isArray(location.parts) ? location.parts : []);

// Each type: title(detail) for the card head; meta(job, active) for the line
// under the progress bar; done(result) for the message once it completed.
const TYPES = {
  [JobType.EXPORT]: {
    title: (detail) => detail || 'Backup',
    meta: (job) => `Dumped ${humanBytes((job.progress && job.progress.dump_bytes) || 0)}`,
    done: (r) => `Stored ${humanBytes(r.size_bytes)}${r.sha256 ? ` · SHA-256 ${String(r.sha256).slice(0, 12)}…` : ''}`,
  },
  [JobType.RESTORE]: {
    title: (detail) => `Restore · ${detail}`,
    meta: (job, active) => {
      const read = job.progress && job.progress.file_bytes;
      if (active) return read ? `Restoring · ${humanBytes(read)} read` : 'Restoring';
      const r = job.result || {};
      if (job.status === 'completed') return r.file_bytes ? `Restored · ${humanBytes(r.file_bytes)} read` : 'Restored';
      if (job.status === 'failed') return 'Not restored: the schema is as it was';
      return 'Not restored';
    },
    done: restoredText,
  },
  [JobType.TELEGRAM_SEND]: {
    title: (detail) => `Send to Telegram · ${detail}`,
    meta: (job, active) => {
      if (active) {
        const t = job.progress && job.progress.telegram;
        if (!t || !t.part_count) return 'Sending to Telegram';
        const sent = partsOf(t).length;
        return `Sent ${sent} of ${count(t.part_count, 'part')} to Telegram`;
      }
      const sent = partsOf(job.result && job.result.telegram);
      return job.status === 'completed' && sent.length ? `Sent ${count(sent.length, 'part')}` : 'Send to Telegram';
    },
    done: (r) => {
      const size = r.telegram && r.telegram.size;
      return `Sent to Telegram${size ? ` (${humanBytes(size)})` : ''}.`;
    },
  },
  [JobType.TELEGRAM_FETCH]: {
    title: (detail) => `Fetch for download · ${detail}`,
    meta: (job, active) => {
      const p = job.progress || {};
      if (active && p.part_count) return `Fetching part ${p.part} of ${p.part_count} from Telegram`;
      return active ? 'Fetching from Telegram' : 'Fetch from Telegram';
    },
    done: () => 'Fetched from Telegram and verified: the download starts.',
  },
  [JobType.TELEGRAM_DELETE]: {
    title: (detail) => `Delete Telegram messages · ${detail}`,
    meta: (job, active) => (active ? 'Deleting Telegram messages' : 'Delete Telegram messages'),
    done: (r) => {
      const deleted = Number(r.deleted_parts) || 0;
      const left = Number(r.remaining_parts) || 0;
      if (!left) return `Telegram messages deleted (${count(deleted, 'part')}).`;
      return `${count(deleted, 'part')} deleted; ${left} left in the chat: Telegram did not allow deleting ${left === 1 ? 'it' : 'them'}.`;
    },
  },
};

// The finished restore in words: which schema was set aside (its real name,
// from the job's result), until when it is kept, and how to go back to it.
function restoredText(r) {
  const schema = r.schema || 'The schema';
  const aside = r.pre_restore_schema;
  if (!aside) return `${schema} was restored from the backup. There was no earlier schema to set aside.`;
  const until = r.pre_restore_expires_at
    ? ` until ${shortDate(r.pre_restore_expires_at)} (${relativeTime(r.pre_restore_expires_at)}), then it is dropped`
    : '';
  return `${schema} was restored from the backup. The schema as it was before the restore is kept as ${aside}${until}. `
    + `To go back to it, ask your database administrator to run: ALTER SCHEMA ${schema} RENAME TO ${schema}__discarded; `
    + `ALTER SCHEMA ${aside} RENAME TO ${schema};`;
}

// A type this page does not know yet (a newer server): plain words, never the raw name.
const UNKNOWN = {
  title: (detail) => detail || 'Job',
  meta: (job, active) => (active ? 'Working' : 'Job'),
  done: () => 'Done.',
};

export function jobType(type) {
  return Object.hasOwn(TYPES, type) ? TYPES[type] : UNKNOWN;
}

export const jobTitle = (type, detail) => jobType(type).title(detail);
