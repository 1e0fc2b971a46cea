/**
 * Turning an uploaded file into text, or refusing it before any parsing: gradebook exports come
 * as UTF-8 (with or without BOM), UTF-16LE (Excel's "Unicode text"), or Windows-1252 (Excel's
 * "CSV" on Western Windows). Binary files (NUL bytes), workbooks and UTF-32 are refused with a
 * message that says what to do instead.
 */
import iconv from 'iconv-lite';
import { GradebookFileError, type GradebookFileReason } from './import.errors';

export type TextEncoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252';
export type Delimiter = ',' | ';' | '\t';

const refuse = (message: string, reason: GradebookFileReason) => new GradebookFileError(message, { reason, row: 1 });

/** Share of zero bytes at even and odd offsets in the first KiB (UTF-16 without BOM shows one side). */
function zeroShares(buf: Buffer): { even: number; odd: number } {
  const n = Math.min(buf.length, 1024);
  let even = 0;
  let odd = 0;
  for (let i = 0; i < n; i++) if (buf[i] === 0) (i % 2 === 0 ? even++ : odd++);
  const half = Math.max(1, n / 2);
  return { even: even / half, odd: odd / half };
}

/** Detects the encoding and decodes; throws GradebookFileError for binary files and workbooks. */
export function decodeText(buf: Buffer): { text: string; encoding: TextEncoding } {
  if (buf.length === 0) throw refuse('The file is empty.', 'empty');
  if (buf.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))) {
    throw refuse('This is an Excel workbook (.xlsx) or another ZIP file, not a CSV file: export the gradebook as CSV (or save the sheet as "CSV UTF-8") and upload that.', 'workbook');
  }
  if (buf.subarray(0, 8).equals(Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]))) {
    throw refuse('This is an old Excel workbook (.xls), not a CSV file: export the gradebook as CSV and upload that.', 'workbook');
  }
  if (buf.subarray(0, 4).equals(Buffer.from([0xff, 0xfe, 0, 0])) || buf.subarray(0, 4).equals(Buffer.from([0, 0, 0xfe, 0xff]))) {
    throw refuse('The file is in UTF-32, which is not supported: save it as "CSV UTF-8" and upload it again.', 'encoding');
  }
  let text: string;
  let encoding: TextEncoding;
  if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
    text = buf.subarray(3).toString('utf8');
    encoding = 'utf-8';
  } else if (buf[0] === 0xff && buf[1] === 0xfe) {
    text = buf.subarray(2).toString('utf16le');
    encoding = 'utf-16le';
  } else if (buf[0] === 0xfe && buf[1] === 0xff) {
    text = iconv.decode(buf.subarray(2), 'utf-16be');
    encoding = 'utf-16be';
  } else {
    const zeros = zeroShares(buf);
    if (zeros.odd > 0.3 && zeros.even < 0.05) {
      text = buf.toString('utf16le');
      encoding = 'utf-16le';
    } else if (zeros.even > 0.3 && zeros.odd < 0.05) {
      text = iconv.decode(buf, 'utf-16be');
      encoding = 'utf-16be';
    } else if (buf.includes(0)) {
      throw refuse('This is not a text file (it contains NUL bytes): upload the gradebook exported as CSV.', 'binary');
    } else {
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
        encoding = 'utf-8';
      } catch {
        // Not valid UTF-8: Excel on Western Windows writes CSV in Windows-1252.
        text = iconv.decode(buf, 'windows-1252');
        encoding = 'windows-1252';
      }
    }
  }
  checkPrintable(text);
  return { text, encoding };
}

/** Control characters other than tab and line breaks mean binary data or a wrong encoding. */
function checkPrintable(text: string): void {
  const sample = text.slice(0, 64 * 1024);
  let controls = 0;
  let firstLine = 0;
  let line = 1;
  for (let i = 0; i < sample.length; i++) {
    const c = sample.charCodeAt(i);
    if (c === 10) line++;
    if ((c < 32 && c !== 9 && c !== 10 && c !== 13) || c === 0xfffd) {
      controls++;
      if (!firstLine) firstLine = line;
    }
  }
  if (controls > 0 && controls >= Math.max(1, sample.length / 1000)) {
    throw new GradebookFileError(
      `This does not look like a text file (unreadable characters from row ${firstLine}): it is binary or in an unsupported encoding. Upload the gradebook exported as CSV (UTF-8).`,
      { reason: 'binary', row: firstLine },
    );
  }
}

/** Picks the delimiter that splits the header line into the most cells (quotes respected). */
export function detectDelimiter(text: string): Delimiter {
  const counts: Record<Delimiter, number> = { ',': 0, ';': 0, '\t': 0 };
  let quoted = false;
  for (let i = 0; i < text.length && i < 64 * 1024; i++) {
    const c = text[i]!;
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === '\n' || c === '\r')) break;
    else if (!quoted && (c === ',' || c === ';' || c === '\t')) counts[c]++;
  }
  const best = (Object.entries(counts) as Array<[Delimiter, number]>).sort((a, b) => b[1] - a[1])[0]!;
  return best[1] > 0 ? best[0] : ',';
}
