// Small, pure formatting helpers (no DOM): sizes, dates, durations.

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

// 1536 → "1.5 KB" (binary multiples, as file managers show them).
export function humanBytes(n) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return '—';
  let v = Number(n);
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i += 1;
  }
  const digits = i === 0 || v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${v.toFixed(digits)} ${UNITS[i]}`;
}

const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

// "in 29 days", "3 hours ago", "in 5 minutes".
export function relativeTime(iso, now = Date.now()) {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '—';
  const s = Math.round((t - now) / 1000);
  const abs = Math.abs(s);
  if (abs < 45) return s >= 0 ? 'in a few seconds' : 'just now';
  if (abs < 45 * 60) return rtf.format(Math.round(s / 60), 'minute');
  if (abs < 22 * 3600) return rtf.format(Math.round(s / 3600), 'hour');
  if (abs < 45 * 86400) return rtf.format(Math.round(s / 86400), 'day');
  if (abs < 320 * 86400) return rtf.format(Math.round(s / (30 * 86400)), 'month');
  return rtf.format(Math.round(s / (365 * 86400)), 'year');
}

const dateFmt = new Intl.DateTimeFormat('en', {
  year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
});
const sameYearFmt = new Intl.DateTimeFormat('en', {
  month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
});

// "Mar 3, 14:05" this year, "Mar 3, 2024, 14:05" before, in the browser's time zone.
export function shortDate(iso) {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '—';
  const d = new Date(t);
  return (d.getFullYear() === new Date().getFullYear() ? sameYearFmt : dateFmt).format(d);
}

const preciseFmt = new Intl.DateTimeFormat('en', {
  year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
});
const preciseSameYearFmt = new Intl.DateTimeFormat('en', {
  month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
});

// "Mar 3, 14:05:09": to the second, so backups made within one minute differ.
export function preciseDate(iso) {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '—';
  const d = new Date(t);
  return (d.getFullYear() === new Date().getFullYear() ? preciseSameYearFmt : preciseFmt).format(d);
}

const clockFmt = new Intl.DateTimeFormat('en', { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });

// "14:05:09": the time of day, for names of things started today.
export function clockTime(iso) {
  const t = Date.parse(iso || '');
  return Number.isNaN(t) ? '' : clockFmt.format(new Date(t));
}

const utcFmt = new Intl.DateTimeFormat('en', {
  weekday: 'short', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: 'UTC',
});

// "Wed, Mar 4, 03:00 UTC": schedules are set in UTC, so their times are shown in UTC.
export function utcDate(iso) {
  const t = Date.parse(iso || '');
  return Number.isNaN(t) ? '—' : `${utcFmt.format(new Date(t))} UTC`;
}

// The first 8 characters of an id: enough to tell backups apart on a page.
export const shortId = (id) => String(id || '').slice(0, 8);

// 75 → "1:15", 3725 → "1:02:05" (elapsed time of a running job).
export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${r}` : `${m}:${r}`;
}
