// What this server offers (GET /api/system): the S3 choices appear only when
// the server has S3 configured, so nobody picks a destination that would be
// refused.

import { api } from './api.js';
import { $, show } from './dom.js';

export const capabilities = { destinations: ['local'] };

export const hasS3 = () => capabilities.destinations.includes('s3');

export async function loadCapabilities() {
  try {
    const system = await api('GET', '/api/system');
    capabilities.destinations = Array.isArray(system && system.destinations) ? system.destinations : ['local'];
  } catch (e) {
    capabilities.destinations = ['local'];
  }
  show($('s-dest-s3-label'), hasS3());
  show($('export-s3-label'), hasS3());
}
