// What this server offers (GET /api/system): the S3 choices appear only when
// the server has S3 configured, so nobody picks a destination that would be
// refused; the Encryption settings only when the server holds an age key.

import { api } from './api.js';
import { $, show } from './dom.js';

export const capabilities = { destinations: ['local'], encryption: false };

export const hasS3 = () => capabilities.destinations.includes('s3');

export async function loadCapabilities() {
  try {
    const system = await api('GET', '/api/system');
    capabilities.destinations = Array.isArray(system && system.destinations) ? system.destinations : ['local'];
    capabilities.encryption = Boolean(system && system.encryption === true);
  } catch (e) {
    capabilities.destinations = ['local'];
    capabilities.encryption = false;
  }
  show($('s-encryption'), capabilities.encryption);
  show($('s-dest-s3-label'), hasS3());
  show($('export-s3-label'), hasS3());
}
