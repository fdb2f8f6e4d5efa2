import { PNG } from 'pngjs';

/**
 * A 5-wide bitmap font, one glyph per entry, rows separated by spaces, `#` = ink. Rows 0–6 sit on
 * the baseline; glyphs with descenders (g, j, p, q, y, `,`, `;`) carry up to two more rows. Ours
 * because test images must render with no browser, canvas or system fonts on the machine.
 */
const FONT: Record<string, string> = {
  A: '.###. #...# #...# #...# ##### #...# #...#',
  B: '####. #...# #...# ####. #...# #...# ####.',
  C: '.###. #...# #.... #.... #.... #...# .###.',
  D: '###.. #..#. #...# #...# #...# #..#. ###..',
  E: '##### #.... #.... ####. #.... #.... #####',
  F: '##### #.... #.... ####. #.... #.... #....',
  G: '.###. #...# #.... #.### #...# #...# .####',
  H: '#...# #...# #...# ##### #...# #...# #...#',
  I: '.###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  J: '..### ...#. ...#. ...#. ...#. #..#. .##..',
  K: '#...# #..#. #.#.. ##... #.#.. #..#. #...#',
  L: '#.... #.... #.... #.... #.... #.... #####',
  M: '#...# ##.## #.#.# #.#.# #...# #...# #...#',
  N: '#...# #...# ##..# #.#.# #..## #...# #...#',
  O: '.###. #...# #...# #...# #...# #...# .###.',
  P: '####. #...# #...# ####. #.... #.... #....',
  Q: '.###. #...# #...# #...# #.#.# #..#. .##.# ....#',
  R: '####. #...# #...# ####. #.#.. #..#. #...#',
  S: '.#### #.... #.... .###. ....# ....# ####.',
  T: '##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  U: '#...# #...# #...# #...# #...# #...# .###.',
  V: '#...# #...# #...# #...# #...# .#.#. ..#..',
  W: '#...# #...# #...# #.#.# #.#.# #.#.# .#.#.',
  X: '#...# #...# .#.#. ..#.. .#.#. #...# #...#',
  Y: '#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..',
  Z: '##### ....# ...#. ..#.. .#... #.... #####',
  a: '..... ..... .###. ....# .#### #...# .####',
  b: '#.... #.... #.##. ##..# #...# #...# ####.',
  c: '..... ..... .###. #.... #.... #...# .###.',
  d: '....# ....# .##.# #..## #...# #...# .####',
  e: '..... ..... .###. #...# ##### #.... .###.',
  f: '..##. .#..# .#... ###.. .#... .#... .#...',
  g: '..... ..... .#### #...# #...# #...# .#### ....# .###.',
  h: '#.... #.... #.##. ##..# #...# #...# #...#',
  i: '..#.. ..... .##.. ..#.. ..#.. ..#.. .###.',
  j: '...#. ..... ..##. ...#. ...#. ...#. ...#. #..#. .##..',
  k: '#.... #.... #..#. #.#.. ##... #.#.. #..#.',
  l: '.##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  m: '..... ..... ##.#. #.#.# #.#.# #.#.# #.#.#',
  n: '..... ..... #.##. ##..# #...# #...# #...#',
  o: '..... ..... .###. #...# #...# #...# .###.',
  p: '..... ..... ####. #...# #...# #...# ####. #.... #....',
  q: '..... ..... .#### #...# #...# #...# .#### ....# ....#',
  r: '..... ..... #.##. ##..# #.... #.... #....',
  s: '..... ..... .###. #.... .###. ....# ####.',
  t: '.#... .#... ###.. .#... .#... .#..# ..##.',
  u: '..... ..... #...# #...# #...# #..## .##.#',
  v: '..... ..... #...# #...# #...# .#.#. ..#..',
  w: '..... ..... #...# #...# #.#.# #.#.# .#.#.',
  x: '..... ..... #...# .#.#. ..#.. .#.#. #...#',
  y: '..... ..... #...# #...# #...# #...# .#### ....# .###.',
  z: '..... ..... ##### ...#. ..#.. .#... #####',
  0: '.###. #...# #...# #...# #...# #...# .###.', // same as O: context tells them apart
  1: '..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.',
  2: '.###. #...# ....# ...#. ..#.. .#... #####',
  3: '.###. #...# ....# ..##. ....# #...# .###.',
  4: '...#. ..##. .#.#. #..#. ##### ...#. ...#.',
  5: '##### #.... ####. ....# ....# #...# .###.',
  6: '..##. .#... #.... ####. #...# #...# .###.',
  7: '##### ....# ...#. ..#.. .#... .#... .#...',
  8: '.###. #...# #...# .###. #...# #...# .###.',
  9: '.###. #...# #...# .#### ....# ...#. .##..',
  ' ': '..... ..... ..... ..... ..... ..... .....',
  '.': '..... ..... ..... ..... ..... ..##. ..##.',
  ',': '..... ..... ..... ..... ..... .##.. .##.. ..#.. .#...',
  '!': '..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..',
  '?': '.###. #...# ....# ...#. ..#.. ..... ..#..',
  ':': '..... .##.. .##.. ..... .##.. .##.. .....',
  ';': '..... .##.. .##.. ..... .##.. .##.. ..#.. .#...',
  '-': '..... ..... ..... ##### ..... ..... .....',
  "'": '..#.. ..#.. .#... ..... ..... ..... .....',
  '"': '.#.#. .#.#. ..... ..... ..... ..... .....',
  '(': '...#. ..#.. .#... .#... .#... ..#.. ...#.',
  ')': '.#... ..#.. ...#. ...#. ...#. ..#.. .#...',
  '/': '....# ....# ...#. ..#.. .#... #.... #....',
};

const GLYPH_WIDTH = 5;
/** 7 rows above the baseline + 2 for descenders. */
const GLYPH_HEIGHT = 9;
/** Blank columns between glyphs and blank rows between lines, in font pixels. */
const LETTER_SPACING = 2;
const LINE_SPACING = 3;

/** The characters {@link renderTextPng} can draw (besides `\n`). */
export const RENDERABLE_CHARACTERS: string = Object.keys(FONT).join('');

/** Options for {@link renderTextPng}. */
export type RenderTextPngParameters = {
  /** Screen pixels per font pixel (default 6: capitals are 42 px tall). */
  scale?: number;
  /** White border around the text, in screen pixels (default 8 × scale). */
  margin?: number;
  /**
   * Radius of the smoothing blur in screen pixels (default scale / 2; 0 = hard pixel edges).
   * Tesseract's LSTM learned from printed text; blocky pixel glyphs read worse than soft ones.
   */
  blur?: number;
};

/**
 * Renders text (lines split on `\n`) black on white into an 8-bit greyscale PNG with a built-in
 * 5×7 bitmap font, for OCR tests and examples that must run without fonts or a browser.
 *
 * @throws {Error} when the text holds a character the font lacks (see {@link RENDERABLE_CHARACTERS}).
 * @example
 * const png = renderTextPng('AGORA 2026')
 */
export function renderTextPng(text: string, parameters: RenderTextPngParameters = {}): Buffer {
  const scale = parameters.scale ?? 6;
  const margin = parameters.margin ?? 8 * scale;
  const blur = parameters.blur ?? Math.round(scale / 2);
  for (const [name, value, min] of [['scale', scale, 1], ['margin', margin, 0], ['blur', blur, 0]] as const) {
    if (!Number.isInteger(value) || value < min) throw new Error(`renderTextPng: ${name} must be an integer ≥ ${min}, got ${value}.`);
  }
  const missing = [...new Set(text.replace(/\n/g, ''))].filter((char) => !(char in FONT));
  if (missing.length > 0) {
    throw new Error(`renderTextPng has no glyph for ${missing.map((c) => JSON.stringify(c)).join(', ')}; it draws: ${RENDERABLE_CHARACTERS}`);
  }

  const lines = text.split('\n');
  const cellWidth = GLYPH_WIDTH + LETTER_SPACING;
  const cellHeight = GLYPH_HEIGHT + LINE_SPACING;
  const columns = Math.max(...lines.map((line) => line.length));
  const width = Math.max(0, columns * cellWidth - LETTER_SPACING) * scale + 2 * margin || 1;
  const height = Math.max(0, lines.length * cellHeight - LINE_SPACING) * scale + 2 * margin || 1;

  // Ink coverage 0..1 per screen pixel.
  let ink: Float32Array = new Float32Array(width * height);
  lines.forEach((line, lineIndex) => {
    [...line].forEach((char, column) => {
      (FONT[char] as string).split(' ').forEach((bits, row) => {
        for (let x = 0; x < GLYPH_WIDTH; x++) {
          if (bits[x] !== '#') continue;
          const left = margin + (column * cellWidth + x) * scale;
          const top = margin + (lineIndex * cellHeight + row) * scale;
          for (let dy = 0; dy < scale; dy++) ink.fill(1, (top + dy) * width + left, (top + dy) * width + left + scale);
        }
      });
    });
  });
  // Two box blurs ≈ a Gaussian: soft, print-like edges.
  if (blur > 0) for (let pass = 0; pass < 2; pass++) ink = boxBlur(boxBlur(ink, width, height, blur, 1, width), width, height, blur, width, 1);

  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, inputHasAlpha: false });
  png.data = Buffer.from(Uint8Array.from(ink, (coverage) => Math.round(255 * (1 - coverage))).buffer);
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false });
}

/**
 * One box-blur pass along rows (`step` 1) or columns (`step` = width); `stride` moves to the next
 * row or column. Samples outside the image count as paper (no ink).
 */
function boxBlur(src: Float32Array, width: number, height: number, radius: number, step: number, stride: number): Float32Array {
  const out = new Float32Array(src.length);
  const [lines, length] = step === 1 ? [height, width] : [width, height];
  for (let line = 0; line < lines; line++) {
    const base = line * stride;
    let sum = 0;
    for (let i = 0; i < Math.min(radius, length); i++) sum += src[base + i * step] as number;
    for (let i = 0; i < length; i++) {
      if (i + radius < length) sum += src[base + (i + radius) * step] as number;
      if (i - radius - 1 >= 0) sum -= src[base + (i - radius - 1) * step] as number;
      out[base + i * step] = sum / (2 * radius + 1);
    }
  }
  return out;
}
