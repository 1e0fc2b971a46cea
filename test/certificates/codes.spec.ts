import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { generateCode, normalizeCode } from '../../src/certificates/codes';

const FORMAT = /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/;

describe('verification codes', () => {
  describe('generateCode', () => {
    it('prints 16 Crockford base32 characters in four groups', () => {
      expect(generateCode(randomBytes)).to.match(FORMAT);
    });

    it('encodes all 80 random bits (all-zero and all-one bytes give the extreme codes)', () => {
      expect(generateCode(() => new Uint8Array(10))).to.equal('0000-0000-0000-0000');
      expect(generateCode(() => new Uint8Array(10).fill(255))).to.equal('ZZZZ-ZZZZ-ZZZZ-ZZZZ');
      // one bit set in the last byte changes only the last character
      const last = new Uint8Array(10);
      last[9] = 1;
      expect(generateCode(() => last)).to.equal('0000-0000-0000-0001');
      const first = new Uint8Array(10);
      first[0] = 0x80;
      expect(generateCode(() => first)).to.equal('G000-0000-0000-0000');
    });

    it('asks for at least 80 bits of randomness and refuses fewer', () => {
      let asked = 0;
      generateCode((n) => {
        asked = n;
        return new Uint8Array(n);
      });
      expect(asked * 8).to.be.at.least(80);
      expect(() => generateCode(() => new Uint8Array(4))).to.throw(/10 needed/);
    });

    it('gives different codes for 10,000 draws', () => {
      const seen = new Set<string>();
      for (let i = 0; i < 10_000; i++) seen.add(generateCode(randomBytes));
      expect(seen.size).to.equal(10_000);
    });
  });

  describe('normalizeCode', () => {
    it('returns the printed form unchanged', () => {
      expect(normalizeCode('7KQ2-M9XD-4HNC-PW3T')).to.equal('7KQ2-M9XD-4HNC-PW3T');
    });

    it('ignores case, spaces and hyphens', () => {
      expect(normalizeCode(' 7kq2 m9xd-4hnc pw3t ')).to.equal('7KQ2-M9XD-4HNC-PW3T');
      expect(normalizeCode('7kq2m9xd4hncpw3t')).to.equal('7KQ2-M9XD-4HNC-PW3T');
    });

    it('reads I and L as 1 and O as 0', () => {
      expect(normalizeCode('IL00-oOiI-llLL-0000')).to.equal('1100-0011-1111-0000');
    });

    it('refuses U, punctuation, and wrong lengths', () => {
      expect(normalizeCode('7KQ2-M9XD-4HNC-PW3U')).to.equal(null);
      expect(normalizeCode('7KQ2-M9XD-4HNC-PW3!')).to.equal(null);
      expect(normalizeCode('7KQ2-M9XD-4HNC')).to.equal(null);
      expect(normalizeCode('7KQ2-M9XD-4HNC-PW3TX')).to.equal(null);
      expect(normalizeCode('')).to.equal(null);
      expect(normalizeCode('x'.repeat(10_000))).to.equal(null);
    });

    it('round-trips every generated code', () => {
      for (let i = 0; i < 200; i++) {
        const code = generateCode(randomBytes);
        expect(normalizeCode(code.toLowerCase().replace(/-/g, ' '))).to.equal(code);
      }
    });
  });
});
