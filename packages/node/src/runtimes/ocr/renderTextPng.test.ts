import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { RENDERABLE_CHARACTERS, renderTextPng } from './renderTextPng.ts';

describe('renderTextPng', () => {
  it('draws black text on a white page with margins, sized by the text', () => {
    const png = PNG.sync.read(renderTextPng('AB\nC', { scale: 2, margin: 3, blur: 0 }));
    // 2 columns × (5 + 2 spacing) − 2, 2 lines × (9 + 3 spacing) − 3, in font pixels.
    expect([png.width, png.height]).toEqual([12 * 2 + 6, 21 * 2 + 6]);
    const grey = (x: number, y: number) => png.data[(y * png.width + x) * 4];
    expect(grey(0, 0)).toBe(255); // margin
    expect(grey(3, 3)).toBe(255); // A's top-left corner is blank ('.###.')
    expect(grey(3 + 2, 3)).toBe(0); // A's second column is ink
    expect(new Set(png.data.filter((_, i) => i % 4 === 0))).toEqual(new Set([0, 255]));
  });

  it('smooths edges by default', () => {
    const png = PNG.sync.read(renderTextPng('I'));
    expect(png.data.some((value, i) => i % 4 === 0 && value > 0 && value < 255)).toBe(true);
  });

  it('is deterministic', () => {
    expect(renderTextPng('Same 42?')).toEqual(renderTextPng('Same 42?'));
  });

  it('covers letters, digits and basic punctuation', () => {
    for (const char of 'ABCXYZabcxyz0123456789 .,!?:;-\'"()/') expect(RENDERABLE_CHARACTERS).toContain(char);
  });

  it('refuses characters it has no glyph for', () => {
    expect(() => renderTextPng('price: 5€ ~ ok')).toThrowErrorMatchingInlineSnapshot(`[Error: renderTextPng has no glyph for "€", "~"; it draws: 0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz .,!?:;-'"()/]`);
  });
});
