/**
 * The badge image of an achievement: a 256 × 256 PNG disc in the certificate's accent colour with
 * a white ring, drawn here (no browser) so that it costs a millisecond and looks the same everywhere.
 */
import { PNG } from 'pngjs';

const SIZE = 256;
const cache = new Map<string, Buffer>();

function rgb(hex: string): [number, number, number] {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  return m ? [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)] : [0x1a, 0x5f, 0xb4];
}

export function badgePng(accentColor: string): Buffer {
  const hit = cache.get(accentColor);
  if (hit) return hit;
  const png = new PNG({ width: SIZE, height: SIZE });
  const [r, g, b] = rgb(accentColor);
  const c = (SIZE - 1) / 2;
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const d = Math.hypot(x - c, y - c);
      const i = (y * SIZE + x) * 4;
      const ring = d > 100 && d < 110;
      const inside = d <= 126;
      png.data[i] = ring ? 255 : r;
      png.data[i + 1] = ring ? 255 : g;
      png.data[i + 2] = ring ? 255 : b;
      png.data[i + 3] = inside ? 255 : 0;
    }
  }
  const out = PNG.sync.write(png);
  cache.set(accentColor, out);
  return out;
}
