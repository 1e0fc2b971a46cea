/**
 * The Moodle web-service token is a password to the whole course gradebook of the site, so it is
 * stored encrypted: AES-256-GCM with a key derived from LTI_KEY by HKDF-SHA256 (a key of its own,
 * never LTI_KEY itself, so the two uses cannot be confused), a random 96-bit IV per encryption, and
 * the issuer as additional authenticated data, so that a ciphertext copied onto another platform's
 * record does not decrypt. Changing LTI_KEY makes stored tokens unreadable: the administrator then
 * enters the token again (the page says so).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

export interface EncryptedSecret {
  /** Format version, for a future change of algorithm. */
  v: 1;
  iv: string;
  tag: string;
  data: string;
}

const INFO = 'lti-certificates moodle web-service token v1';

/**
 * `info` names the use (HKDF's context string): each kind of secret gets a key of its own, e.g.
 * the credential signing keys of src/credentials pass their own.
 */
function keyFrom(ltiKey: string, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(ltiKey, 'utf8'), Buffer.from('lti-certificates', 'utf8'), Buffer.from(info, 'utf8'), 32));
}

export function encryptSecret(ltiKey: string, plaintext: string, aad: string, random: (n: number) => Buffer = randomBytes, info: string = INFO): EncryptedSecret {
  const iv = random(12);
  const cipher = createCipheriv('aes-256-gcm', keyFrom(ltiKey, info), iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return { v: 1, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
}

/** Throws when the key changed, the record was tampered with, or it belongs to another issuer. */
export function decryptSecret(ltiKey: string, secret: EncryptedSecret, aad: string, info: string = INFO): string {
  const decipher = createDecipheriv('aes-256-gcm', keyFrom(ltiKey, info), Buffer.from(secret.iv, 'base64'));
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(Buffer.from(secret.tag, 'base64'));
  return Buffer.concat([decipher.update(Buffer.from(secret.data, 'base64')), decipher.final()]).toString('utf8');
}
