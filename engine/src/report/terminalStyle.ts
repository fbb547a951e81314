// Terminal styling: ANSI colours only when the stream is a TTY and NO_COLOR is unset (https://no-color.org).
export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

export function styleFor(stream: NodeJS.WriteStream): Style {
  const on = Boolean(stream.isTTY) && !('NO_COLOR' in process.env && process.env.NO_COLOR !== '');
  const wrap = (open: number, close: number) => (s: string) => (on ? `\x1b[${open}m${s}\x1b[${close}m` : s);
  return { bold: wrap(1, 22), dim: wrap(2, 22), red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39), cyan: wrap(36, 39) };
}

const BARS = '▁▂▃▄▅▆▇█';

/** One block character per value in [0, 1]. */
export function sparkline(values: number[]): string {
  return values.map((v) => BARS[Math.max(0, Math.min(BARS.length - 1, Math.round(v * (BARS.length - 1))))]).join('');
}

export function percent(p: number): string {
  return `${(100 * p).toFixed(1)}%`;
}
