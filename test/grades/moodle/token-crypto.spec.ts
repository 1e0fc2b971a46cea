import { expect } from 'chai';
import { decryptSecret, encryptSecret } from '../../../src/grades/moodle/token-crypto';

describe('Moodle token encryption (AES-256-GCM, key derived from LTI_KEY)', () => {
  const key = 'k'.repeat(40);
  const token = '0123456789abcdef0123456789abcdef';

  it('round-trips, and never stores the token or LTI_KEY in clear', () => {
    const sealed = encryptSecret(key, token, 'https://moodle.example');
    expect(JSON.stringify(sealed)).not.to.contain(token).and.not.contain(key);
    expect(decryptSecret(key, sealed, 'https://moodle.example')).to.equal(token);
  });

  it('uses a fresh IV each time', () => {
    const a = encryptSecret(key, token, 'i');
    const b = encryptSecret(key, token, 'i');
    expect(a.iv).to.not.equal(b.iv);
    expect(a.data).to.not.equal(b.data);
  });

  it('refuses another LTI_KEY, another issuer, and a tampered ciphertext', () => {
    const sealed = encryptSecret(key, token, 'https://moodle.example');
    expect(() => decryptSecret('x'.repeat(40), sealed, 'https://moodle.example')).to.throw();
    expect(() => decryptSecret(key, sealed, 'https://other.example')).to.throw();
    const data = Buffer.from(sealed.data, 'base64');
    data[0] ^= 1;
    expect(() => decryptSecret(key, { ...sealed, data: data.toString('base64') }, 'https://moodle.example')).to.throw();
  });
});
