/**
 * How the sandbox derives names and ids: deterministic generated names, Canvas-style hashed ids,
 * ASCII usernames and line item ids given as URLs.
 */
import { createHash } from 'node:crypto';

export const GIVEN_NAMES = ['Ada', 'Bram', 'Chloé', 'Daan', 'Emma', 'Finn', 'Grace', 'Hugo', 'Iris', 'Jonas', 'Kaja', 'Lars', 'Mila', 'Noah', 'Olga', 'Pim', 'Quinn', 'Ruth', 'Sem', 'Tess'];
export const FAMILY_NAMES = ['Jansen', 'de Vries', 'Smith', 'Müller', 'Okafor', 'Nakamura', 'Rossi', 'García', 'Kowalski', 'Berg', 'Dubois', 'Novak', 'Silva', 'Larsen', 'Hughes', 'Yilmaz', 'Khan', 'Olsen', 'Costa', 'Moreau'];

export function hashHex(algorithm: 'sha1' | 'sha256', text: string): string {
  return createHash(algorithm).update(text).digest('hex');
}

/**
 * Canvas-style ids derived from one hash of the user id, so they are stable across restarts:
 * a UUID-shaped `lti_id` and a 40-hex legacy id (one hash per user keeps 5,000-learner courses fast).
 */
export function canvasIds(userId: string): { ltiId: string; legacyId: string } {
  const h = hashHex('sha256', `sandbox-user-${userId}`);
  const ltiId = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  return { ltiId, legacyId: h.slice(24, 64) };
}

export function asciiSlug(text: string): string {
  return text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9]+/g, '.').replace(/^\.|\.$/g, '');
}


/** Accepts either a short id or a full line item URL. */
export function lastSegment(idOrUrl: string): string {
  const trimmed = idOrUrl.replace(/\/+$/, '');
  const slash = trimmed.lastIndexOf('/');
  return slash >= 0 ? trimmed.slice(slash + 1) : trimmed;
}
