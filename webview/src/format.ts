export { fmt } from '../../common/charts/markup';
export const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;

/** Makes whitespace in a token visible so that every heatmap row has a readable label. */
export function visibleToken(text: string): string {
  const shown = text.replace(/ /g, '·').replace(/\n/g, '↵').replace(/\t/g, '⇥');
  return shown.length > 0 ? shown : '∅';
}
