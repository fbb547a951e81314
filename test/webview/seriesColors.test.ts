// Series colours (common/charts/colors.ts): a bank of up to 20 concepts gets 20 colours that can be told apart, and
// the ten after Tableau10's stay readable on light and dark editor backgrounds.
import { describe, expect, it } from 'vitest';
import { seriesColor } from '../../common/charts/colors';

const channels = (hex: string): number[] => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
const linear = (v: number): number => (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);

/** WCAG relative luminance and contrast ratio. */
const luminance = (hex: string): number => {
  const [r, g, b] = channels(hex).map(linear);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};
const contrast = (a: string, b: string): number => {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
};

/** CIELAB (D65), for the distance between two colours as the eye sees it (ΔE 1976). */
function lab(hex: string): number[] {
  const [r, g, b] = channels(hex).map(linear);
  const xyz = [
    (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047,
    0.2126 * r + 0.7152 * g + 0.0722 * b,
    (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883,
  ].map((t) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116));
  return [116 * xyz[1] - 16, 500 * (xyz[0] - xyz[1]), 200 * (xyz[1] - xyz[2])];
}
const deltaE = (a: string, b: string): number => Math.hypot(...lab(a).map((v, i) => v - lab(b)[i]));

const twenty = Array.from({ length: 20 }, (_, i) => seriesColor(i));

describe('series colours', () => {
  it('gives 20 series 20 different colours, then repeats', () => {
    expect(new Set(twenty).size).toBe(20);
    expect(seriesColor(20)).toBe(seriesColor(0));
    for (const c of twenty) expect(c).toMatch(/^#[0-9a-f]{6}$/);
  });

  it('keeps every two of the 20 clearly apart (ΔE ≥ 20; side by side, about 2 already shows)', () => {
    const pairs = twenty.flatMap((a, i) => twenty.slice(i + 1).map((b) => [a, b, deltaE(a, b)] as const));
    const closest = pairs.reduce((m, p) => (p[2] < m[2] ? p : m));
    expect(closest[2], `${closest[0]} and ${closest[1]}`).toBeGreaterThanOrEqual(20);
  });

  it('draws the colours after the tenth with at least 3:1 contrast on light, dark and high-contrast backgrounds', () => {
    for (const c of twenty.slice(10)) {
      for (const background of ['#ffffff', '#1e1e1e', '#1f1f1f', '#000000']) expect(contrast(c, background), `${c} on ${background}`).toBeGreaterThanOrEqual(3);
    }
  });
});
