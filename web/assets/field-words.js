// The API names fields as its JSON does ('schedule.expr', 'retention_days'):
// right for a script, internal for a project owner. These are the settings
// form's words for them, used when the page shows a server's field error
// beside the field. No DOM here, only text.

const NOUNS = {
  schedule: 'The schedule',
  'schedule.kind': 'The schedule',
  'schedule.time': 'The time',
  'schedule.day': 'The day',
  'schedule.expr': 'The cron expression',
  retention_days: 'The number of days to keep backups',
  destinations: 'The destinations',
  telegram_chat_id: 'The Telegram chat id',
  notify_email: 'The notify e-mail',
  format: 'The format',
  compression: 'The compression',
  encryption: 'Encryption',
  'encryption.enabled': 'Encryption',
  'encryption.recipients': 'The public keys',
};

function nounOf(field) {
  const key = /^encryption\.recipients\[(\d+)\]$/.exec(field);
  if (key) return `Public key ${Number(key[1]) + 1}`;
  return Object.hasOwn(NOUNS, field) ? NOUNS[field] : null;
}

// "'schedule.expr' is not a valid cron expression: …" → "This is not a valid
// cron expression: …"; "'retention_days' must be between 1 and 3650" → "The
// number of days to keep backups must be between 1 and 3650".
export function ownerWords(message) {
  let text = String(message || '').replace(/^'schedule\.expr' is not a valid cron expression/, 'This is not a valid cron expression');
  text = text.replace(/'([a-z_]+(?:\.[a-z_]+)?(?:\[\d+\])?)'/g, (quoted, field, at) => {
    const noun = nounOf(field);
    if (!noun) return quoted;
    return at === 0 ? noun : noun.charAt(0).toLowerCase() + noun.slice(1);
  });
  return text;
}
