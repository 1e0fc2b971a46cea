import { crc32, deflateSync } from 'node:zlib';
import { expect } from 'chai';
import { PNG } from 'pngjs';
import { bucketOf } from '../../src/documents/gridfs';
import { readImageDimensions } from '../../src/documents/image-dimensions';
import { startTestApp, type TestApp } from '../support/app';
import { launchAs, sandboxCourse, type Launched } from '../support/e2e';

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([len, body, crc]);
}

/** A well-formed PNG header declaring width × height (8-bit grey), with its first rows of zeros: small on disk, huge decoded. */
function declaredPng(width: number, height: number, rows = 2000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8);
  const idat = deflateSync(Buffer.alloc((width + 1) * rows), { level: 9 });
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

async function upload(l: Launched, data: Buffer): Promise<Response> {
  const form = new FormData();
  form.set('kind', 'logo');
  form.set('file', new Blob([new Uint8Array(data)], { type: 'image/png' }), 'logo.png');
  return fetch(`${l.app}/teacher/templates/images`, { method: 'POST', body: form, headers: { accept: 'application/json' } });
}

describe('Image bombs: an upload declaring more pixels than a certificate needs', function () {
  this.timeout(60_000);
  let t: TestApp;
  let teacher: Launched;

  before(async () => {
    t = await startTestApp();
    const c = sandboxCourse(t, { scores: [[10]], title: 'Bomb Disposal' });
    teacher = await launchAs(t, c.course.id, c.teacherIds[0]!);
  });

  const storedImages = () => bucketOf(t.db.connection, 'images').find({}).toArray();

  it('refuses a small PNG declaring 20000 × 20000 pixels with 422 naming the cap, storing nothing', async () => {
    const bomb = declaredPng(20000, 20000);
    expect(bomb.length).to.be.below(1024 * 1024);
    expect(readImageDimensions(bomb, 'image/png')).to.deep.equal({ width: 20000, height: 20000 });
    const before = (await storedImages()).length;
    const started = Date.now();
    const res = await upload(teacher, bomb);
    expect(Date.now() - started).to.be.below(5000);
    expect(res.status).to.equal(422);
    const body = (await res.json()) as { error: { code: string; message: string; details: Record<string, unknown> } };
    expect(body.error.code).to.equal('image_too_many_pixels');
    expect(body.error.message).to.equal(
      'The image is 20000 × 20000 pixels; the largest accepted is 4000 × 4000 pixels and 16 megapixels in all. Scale it down and upload it again.',
    );
    expect(body.error.details).to.include({ width: 20000, height: 20000 });
    expect((await storedImages()).length).to.equal(before);
  });

  it('refuses a long thin banner over the pixel budget (4000 × 4001), and one whose header cannot be read', async () => {
    expect((await upload(teacher, declaredPng(4000, 4001, 10))).status).to.equal(422);
    const truncated = declaredPng(100, 100).subarray(0, 20);
    const res = await upload(teacher, truncated);
    expect(res.status).to.equal(422);
    expect(((await res.json()) as { error: { message: string } }).error.message).to.match(/cannot be read/);
  });

  it('still takes an ordinary logo of 4000 × 4000 at most', async () => {
    const image = new PNG({ width: 1200, height: 400 });
    image.data.fill(200);
    expect((await upload(teacher, PNG.sync.write(image))).status).to.equal(201);
    expect((await upload(teacher, declaredPng(4000, 4000, 10))).status).to.equal(201);
  });

  it('reads JPEG and WebP sizes from their headers too', () => {
    // JPEG: SOI, APP0 (16 bytes), SOF0 with height 30000, width 20000
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, ...Buffer.alloc(14), 0xff, 0xc0, 0x00, 0x11, 0x08, 0x75, 0x30, 0x4e, 0x20, 0x03, ...Buffer.alloc(9)]);
    expect(readImageDimensions(jpeg, 'image/jpeg')).to.deep.equal({ width: 20000, height: 30000 });
    // WebP VP8X: canvas 16384 × 16384 (stored minus one, 24-bit little-endian)
    const webp = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WEBPVP8X'), Buffer.alloc(8), Buffer.from([0xff, 0x3f, 0x00, 0xff, 0x3f, 0x00])]);
    expect(readImageDimensions(webp, 'image/webp')).to.deep.equal({ width: 16384, height: 16384 });
  });
});
