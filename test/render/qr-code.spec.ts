/**
 * Our mask choice (src/render/qr-code.ts) against the `qrcode` package's own: the very same
 * modules for every URL, whatever its length and its mix of upper case, digits and other
 * characters: QR versions 2 to 12 (version information from 7 on), and symbols over 127 modules,
 * whose masks are counted one at a time.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import jsQR from 'jsqr';
import QRCode from 'qrcode';
import { qrMatrix, qrSvg } from '../../src/render/qr-code';

const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789abcdefghijklmnopqrstuvwxyz-_./?=&%';

function url(i: number): string {
  const bytes = randomBytes(8 + (i % 180));
  const path = [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
  return i % 3 === 0 ? `https://certificates.school.example/verify/${path.toUpperCase()}` : `https://lms.example.org/mod/lti/${path}`;
}

describe('QR codes on certificates', () => {
  it('are exactly the modules qrcode itself makes, mask choice included, for 1,000 URLs', () => {
    const masks = new Set<number>();
    const versions = new Set<number>();
    for (let i = 0; i < 1_000; i++) {
      const u = url(i);
      const theirs = QRCode.create(u, { errorCorrectionLevel: 'M' });
      const ours = qrMatrix(u);
      masks.add(theirs.maskPattern!);
      versions.add(theirs.version);
      expect(ours.size, u).to.equal(theirs.modules.size);
      expect(Buffer.from(ours.data).equals(Buffer.from(theirs.modules.data)), `modules of ${u} (qrcode chose mask ${theirs.maskPattern})`).to.equal(true);
    }
    expect([...masks].sort(), 'every mask was the best one for some URL').to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(Math.max(...versions)).to.be.at.least(7);
  });

  it('are the same for symbols over 127 modules (counted one mask at a time there)', () => {
    for (let i = 0; i < 4; i++) {
      const u = `https://lms.example.org/${randomBytes(700).toString('hex')}`; // 1,424 bytes: version 32 and more
      const theirs = QRCode.create(u, { errorCorrectionLevel: 'M' });
      expect(theirs.modules.size).to.be.above(127);
      expect(Buffer.from(qrMatrix(u).data).equals(Buffer.from(theirs.modules.data)), `modules of a ${u.length}-byte URL`).to.equal(true);
    }
  });

  it('reads back as the URL (the SVG, drawn to pixels and scanned)', () => {
    const u = 'https://certificates.school.example/verify/K7Q2-9XZP';
    const svg = qrSvg(u);
    const size = Number(/viewBox="0 0 (\d+) \1"/.exec(svg)![1]);
    const scale = 4;
    const quiet = 4;
    const px = (size + 2 * quiet) * scale;
    const rgba = new Uint8ClampedArray(px * px * 4).fill(255);
    for (const [, x, y, w] of svg.matchAll(/M(\d+) (\d+)h(\d+)v1h-\d+z/g)) {
      for (let dy = 0; dy < scale; dy++) {
        for (let dx = 0; dx < Number(w) * scale; dx++) {
          const o = (((Number(y) + quiet) * scale + dy) * px + (Number(x) + quiet) * scale + dx) * 4;
          rgba[o] = rgba[o + 1] = rgba[o + 2] = 0;
        }
      }
    }
    expect(jsQR(rgba, px, px)?.data).to.equal(u);
  });
});
