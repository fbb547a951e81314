import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parse } from 'csv-parse/sync';

/** Column names from the first line (CSV/TSV header) or the first JSON object's keys. */
export async function datasetColumns(file: string): Promise<string[]> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8', end: 1 << 20 }) });
  try {
    for await (const line of lines) {
      if (!line.trim()) continue;
      if (file.toLowerCase().endsWith('.jsonl')) return Object.keys(JSON.parse(line) as object);
      const delimiter = file.toLowerCase().endsWith('.tsv') ? '\t' : ',';
      const [header] = parse(line, { delimiter, bom: true, relax_quotes: true }) as string[][];
      return header.map((c) => c.trim()).filter(Boolean);
    }
    return [];
  } finally {
    lines.close();
  }
}
