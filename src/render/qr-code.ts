/**
 * The verification QR code printed on every certificate.
 *
 * The `qrcode` package encodes the URL; the choice of mask — the step that makes a code easy to
 * scan, trying the eight masks of ISO/IEC 18004 and keeping the one with the lowest penalty — is
 * done here instead: the eight masked symbols as the eight bits of one byte per module, so one
 * pass counts every rule for all of them. qrcode's own search took 0.2 ms of the 0.5 ms Node
 * spent per certificate in an export (bench/README.md, #13); this one about 0.035 ms. The
 * penalty rules are qrcode's, to the letter, so the code printed is exactly the one qrcode would
 * make (test/render/qr-code.spec.ts compares the two over a thousand URLs).
 */
import QRCode from 'qrcode';

/** A QR code's modules, row after row: 1 dark, 0 light. */
export interface QrMatrix {
  size: number;
  data: Uint8Array;
}

const EC_LEVEL = 'M';
/** Error correction level M's two format bits (ISO/IEC 18004 table 12). */
const EC_BITS_M = 0b00;

/** The 15 format bits for error correction level M and a mask: BCH(15,5), then XOR 101010000010010. */
function formatBits(mask: number): number {
  const data = (EC_BITS_M << 3) | mask;
  let d = data << 10;
  const G15 = 0b10100110111;
  for (let bit = 14; bit >= 10; bit--) if (d & (1 << bit)) d ^= G15 << (bit - 10);
  return ((data << 10) | d) ^ 0b101010000010010;
}

const FORMAT_BITS = Array.from({ length: 8 }, (_, mask) => formatBits(mask));

/** Where the 15 format bits go, each twice (the positions of qrcode's setupFormatInfo). */
function formatPositions(size: number): Int32Array {
  const at = new Int32Array(30);
  for (let i = 0; i < 15; i++) {
    const row = i < 6 ? i : i < 8 ? i + 1 : size - 15 + i;
    at[2 * i] = row * size + 8;
    const col = i < 8 ? size - i - 1 : i < 9 ? 15 - i : 15 - i - 1;
    at[2 * i + 1] = 8 * size + col;
  }
  return at;
}

function maskAt(mask: number, i: number, j: number): boolean {
  switch (mask) {
    case 0: return (i + j) % 2 === 0;
    case 1: return i % 2 === 0;
    case 2: return j % 3 === 0;
    case 3: return (i + j) % 3 === 0;
    case 4: return (Math.floor(i / 2) + Math.floor(j / 3)) % 2 === 0;
    case 5: return ((i * j) % 2) + ((i * j) % 3) === 0;
    case 6: return (((i * j) % 2) + ((i * j) % 3)) % 2 === 0;
    default: return (((i * j) % 3) + ((i + j) % 2)) % 2 === 0;
  }
}

/**
 * Per symbol layout (the reserved modules depend on the version only): for each of the eight
 * masks, what XOR turns the unmasked symbol, its format modules cleared, into the masked one —
 * the mask on the data modules, the mask's format bits and the dark module on theirs.
 */
const maskTables = new Map<number, Uint8Array[]>();

function masksFor(size: number, reserved: Uint8Array, version: number): Uint8Array[] {
  let tables = maskTables.get(version);
  if (!tables) {
    const at = formatPositions(size);
    tables = Array.from({ length: 8 }, (_, mask) => {
      const t = new Uint8Array(size * size);
      for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) if (!reserved[i * size + j] && maskAt(mask, i, j)) t[i * size + j] = 1;
      for (let i = 0; i < 15; i++) t[at[2 * i]!] = t[at[2 * i + 1]!] = (FORMAT_BITS[mask]! >> i) & 1;
      t[(size - 8) * size + 8] = 1; // the dark module
      return t;
    });
    maskTables.set(version, tables);
  }
  return tables;
}

/** N1's points for a run that has ended, by its length: 3 + (length − 5) from five on. */
const RUN_POINTS = Int32Array.from({ length: 178 }, (_, n) => (n >= 5 ? n - 2 : 0));
/** N3: the two 11-module windows that count. */
const FINDER_LIKE = Uint8Array.from({ length: 2048 }, (_, bits) => (bits === 0x5d0 || bits === 0x05d ? 1 : 0));
/** N2: a 2×2 block whose four modules add up to 0 or 4 is of one colour. */
const ONE_COLOUR = Uint8Array.of(1, 0, 0, 0, 1);

/**
 * qrcode's penalty (its getPenaltyN1..N4, same quirks, same sum) of `base` XOR `mask`, in one
 * pass over the rows: each column's run and last eleven modules are carried from row to row.
 * N1: a run of five or more modules of one colour, along a row or a column, costs 3 + (length − 5).
 * N2: each 2×2 block of one colour, 3. N3: each 11-module window reading 10111010000 or
 * 00001011101, 40. N4: 10 per 5 % the dark share is away from 50 %. One mask at a time: used
 * for symbols over 127 modules, where penaltiesOfAll's 8-bit lane counters could overflow in a row.
 */
function penalty(base: Uint8Array, mask: Uint8Array, size: number, cols: Int32Array): number {
  const colRun = cols.subarray(0, size);
  const colLast = cols.subarray(size, 2 * size);
  const colBits = cols.subarray(2 * size, 3 * size);
  let runs = 0;
  let finders = 0;
  let blocks = 0;
  let dark = 0;
  for (let c = 0; c < size; c++) {
    colRun[c] = 0;
    colLast[c] = (base[c]! ^ mask[c]!) ^ 1; // "different" from the first module: a run starts there
    colBits[c] = 0;
  }
  for (let r = 0; r < size; r++) {
    const row = r * size;
    let last = (base[row]! ^ mask[row]!) ^ 1;
    let run = 0;
    let bits = 0;
    let left = 0;
    let upLeft = 0;
    for (let c = 0; c < size; c++) {
      const i = row + c;
      const v = base[i]! ^ mask[i]!;
      dark += v;
      // along the row
      let same = (v ^ last ^ 1) & 1;
      runs += RUN_POINTS[run]! * (same ^ 1);
      run = run * same + 1;
      last = v;
      bits = ((bits << 1) & 0x7ff) | v;
      if (c >= 10) finders += FINDER_LIKE[bits]!;
      // down the column
      same = (v ^ colLast[c]! ^ 1) & 1;
      runs += RUN_POINTS[colRun[c]!]! * (same ^ 1);
      colRun[c] = colRun[c]! * same + 1;
      colLast[c] = v;
      const cb = ((colBits[c]! << 1) & 0x7ff) | v;
      colBits[c] = cb;
      if (r >= 10) finders += FINDER_LIKE[cb]!;
      // the 2×2 block whose bottom right module this is
      if (r > 0) {
        const up = base[i - size]! ^ mask[i - size]!;
        if (c > 0) blocks += ONE_COLOUR[v + left + up + upLeft]!;
        upLeft = up;
      }
      left = v;
    }
    runs += RUN_POINTS[run]!;
  }
  for (let c = 0; c < size; c++) runs += RUN_POINTS[colRun[c]!]!;
  const k = Math.abs(Math.ceil((dark * 100) / (size * size) / 5) - 10);
  return runs + finders * 40 + blocks * 3 + k * 10;
}

// ---------------------------------------------------------------------------------------------
// All eight masks at once: bit p of a byte is a module's colour under mask p, so one pass over
// the symbol counts every rule for the eight of them (the scalar `penalty` above is the same
// count for one mask, used where a row could overflow a lane, i.e. symbols over 127 modules).

/** A nibble's four bits spread over the four bytes of a 32-bit word: lane counters of 8 bits. */
const SPREAD = Int32Array.from({ length: 16 }, (_, n) => (n & 1) | ((n & 2) << 7) | ((n & 4) << 14) | ((n & 8) << 21));

/** Per version: byte i holds the eight masks' XOR at module i (bit p: mask p, see masksFor). */
const laneTables = new Map<number, Uint8Array>();

function laneMasksFor(size: number, masks: Uint8Array[], version: number): Uint8Array {
  let lanes = laneTables.get(version);
  if (!lanes) {
    lanes = new Uint8Array(size * size);
    for (let p = 0; p < 8; p++) for (let i = 0; i < lanes.length; i++) lanes[i]! |= masks[p]![i]! << p;
    laneTables.set(version, lanes);
  }
  return lanes;
}

/** Adds the eight lane counts held in a pair of words (lanes 0-3, 4-7) to `into` from `at`. */
function flushLanes(lo: number, hi: number, into: Int32Array, at: number): void {
  for (let b = 0; b < 4; b++) {
    into[at + b]! += (lo >>> (8 * b)) & 255;
    into[at + 4 + b]! += (hi >>> (8 * b)) & 255;
  }
}

/**
 * The eight masks' penalties, qrcode's rules as in `penalty`: N1 as 3 points where a run
 * reaches five modules and 1 for each module beyond (3 + (length − 5) in all), N2, N3 and N4 as
 * there. `m` gets the masked symbols, `sv`, `coreV` and `lightV` are scratch of the same size.
 */
function penaltiesOfAll(base: Uint8Array, lanes: Uint8Array, size: number, m: Uint8Array, sv: Uint8Array, coreV: Uint8Array, lightV: Uint8Array): number[] {
  const n = size;
  // counters: 0 dark, 8 runs reaching 5, 16 runs beyond 5, 24 blocks, 32 finder-like windows
  const counts = new Int32Array(40);
  const coreH = new Uint8Array(n);
  const lightH = new Uint8Array(n);
  for (let i = 0; i < n * n; i++) m[i] = (-base[i]! & 255) ^ lanes[i]!;
  for (let r = 0; r < n; r++) {
    const row = r * n;
    let dLo = 0, dHi = 0, e4Lo = 0, e4Hi = 0, e5Lo = 0, e5Hi = 0, bLo = 0, bHi = 0, fLo = 0, fHi = 0;
    let sh1 = 0, sh2 = 0, sh3 = 0, sh4 = 0;
    for (let c = 0; c < n; c++) {
      const i = row + c;
      const v = m[i]!;
      dLo += SPREAD[v & 15]!;
      dHi += SPREAD[v >> 4]!;
      // runs along the row: equal to the module before, four and five times in a row
      const sh = c > 0 ? ~(v ^ m[i - 1]!) & 255 : 0;
      const h4 = sh & sh1 & sh2 & sh3;
      const h5 = h4 & sh4;
      sh4 = sh3;
      sh3 = sh2;
      sh2 = sh1;
      sh1 = sh;
      // runs down the column
      const s = r > 0 ? ~(v ^ m[i - n]!) & 255 : 0;
      sv[i] = s;
      const v4 = r >= 4 ? s & sv[i - n]! & sv[i - 2 * n]! & sv[i - 3 * n]! : 0;
      const v5 = r >= 5 ? v4 & sv[i - 4 * n]! : 0;
      e4Lo += SPREAD[h4 & 15]! + SPREAD[v4 & 15]!;
      e4Hi += SPREAD[h4 >> 4]! + SPREAD[v4 >> 4]!;
      e5Lo += SPREAD[h5 & 15]! + SPREAD[v5 & 15]!;
      e5Hi += SPREAD[h5 >> 4]! + SPREAD[v5 >> 4]!;
      // the 2×2 block whose bottom right module this is
      if (r > 0 && c > 0) {
        const blk = ~(v ^ m[i - 1]!) & ~(v ^ m[i - n]!) & ~(v ^ m[i - n - 1]!) & 255;
        bLo += SPREAD[blk & 15]!;
        bHi += SPREAD[blk >> 4]!;
      }
      // 1:1:3:1:1 (dark light dark×3 light dark) and four light modules, along the row...
      const light = c >= 3 ? ~(v | m[i - 1]! | m[i - 2]! | m[i - 3]!) & 255 : 0;
      const core = c >= 6 ? m[i - 6]! & ~m[i - 5]! & m[i - 4]! & m[i - 3]! & m[i - 2]! & ~m[i - 1]! & v & 255 : 0;
      lightH[c] = light;
      coreH[c] = core;
      const f = c >= 10 ? (coreH[c - 4]! & light) | (lightH[c - 7]! & core) : 0;
      // ...and down the column
      const lv = r >= 3 ? ~(v | m[i - n]! | m[i - 2 * n]! | m[i - 3 * n]!) & 255 : 0;
      const cv =
        r >= 6 ? m[i - 6 * n]! & ~m[i - 5 * n]! & m[i - 4 * n]! & m[i - 3 * n]! & m[i - 2 * n]! & ~m[i - n]! & v & 255 : 0;
      lightV[i] = lv;
      coreV[i] = cv;
      const g = r >= 10 ? (coreV[i - 4 * n]! & lv) | (lightV[i - 7 * n]! & cv) : 0;
      fLo += SPREAD[f & 15]! + SPREAD[g & 15]!;
      fHi += SPREAD[f >> 4]! + SPREAD[g >> 4]!;
    }
    flushLanes(dLo, dHi, counts, 0);
    flushLanes(e4Lo, e4Hi, counts, 8);
    flushLanes(e5Lo, e5Hi, counts, 16);
    flushLanes(bLo, bHi, counts, 24);
    flushLanes(fLo, fHi, counts, 32);
  }
  const out: number[] = [];
  for (let p = 0; p < 8; p++) {
    const k = Math.abs(Math.ceil((counts[p]! * 100) / (n * n) / 5) - 10);
    out.push(3 * counts[8 + p]! - 2 * counts[16 + p]! + 3 * counts[24 + p]! + 40 * counts[32 + p]! + 10 * k);
  }
  return out;
}

/** Scratch space of penaltiesOfAll, kept between codes (one export makes thousands). */
let scratch = new Uint8Array(0);

/** The URL as a QR code (error correction M), with the mask of lowest penalty. */
export function qrMatrix(url: string): QrMatrix {
  // Encoded with mask 0, which is then taken off again, with the format modules: the data, unmasked.
  const { modules, version } = QRCode.create(url, { errorCorrectionLevel: EC_LEVEL, maskPattern: 0 });
  const size = modules.size;
  const masks = masksFor(size, modules.reservedBit, version);
  const base = modules.data;
  const zero = masks[0]!;
  for (let i = 0; i < base.length; i++) base[i]! ^= zero[i]!;
  let penalties: number[];
  if (size <= 127) {
    if (scratch.length < 4 * base.length) scratch = new Uint8Array(4 * base.length);
    const part = (k: number) => scratch.subarray(k * base.length, (k + 1) * base.length);
    penalties = penaltiesOfAll(base, laneMasksFor(size, masks, version), size, part(0), part(1), part(2), part(3));
  } else {
    const cols = new Int32Array(3 * size);
    penalties = masks.map((mask) => penalty(base, mask, size, cols));
  }
  let best = 0;
  let lowest = Infinity;
  for (let mask = 0; mask < 8; mask++) {
    const p = penalties[mask]!;
    if (p < lowest) {
      lowest = p;
      best = mask;
    }
  }
  const chosen = masks[best]!;
  for (let i = 0; i < base.length; i++) base[i]! ^= chosen[i]!;
  return { size, data: base };
}

/**
 * The QR code as an SVG of filled rectangles, one per run of dark modules in a row. (qrcode's
 * own SVG draws stroked lines, which Chromium prints about twice as slowly.) The white quiet
 * zone is the padding of the template's box.
 */
export function qrSvg(url: string): string {
  const { size, data } = qrMatrix(url);
  let d = '';
  for (let y = 0; y < size; y++) {
    const row = y * size;
    for (let x = 0; x < size; x++) {
      if (!data[row + x]) continue;
      let run = 1;
      while (x + run < size && data[row + x + run]) run++;
      d += `M${x} ${y}h${run}v1h-${run}z`;
      x += run - 1;
    }
  }
  return (
    `<svg class="qr-svg" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${size} ${size}" aria-hidden="true" focusable="false">` +
    `<path fill="#111827" d="${d}"/></svg>`
  );
}
