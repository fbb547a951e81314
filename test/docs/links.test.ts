// The documentation stays navigable: every relative link in README.md, CONTRIBUTING.md and docs/ points at a
// file that exists (and, for `#anchor`, at a heading that exists), and the README stays a front page.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..', '..');
const README_MAX_BYTES = 15_000;

function markdownFiles(): string[] {
  const docs = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) return docs(full);
      return e.name.endsWith('.md') ? [full] : [];
    });
  return [path.join(ROOT, 'README.md'), path.join(ROOT, 'CONTRIBUTING.md'), ...docs(path.join(ROOT, 'docs'))];
}

/** Markdown without fenced code blocks, inline code and HTML comments, which hold no links. */
function proseOf(markdown: string): string {
  return markdown
    .replace(/^```[\s\S]*?^```/gm, '')
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/`[^`\n]*`/g, 'code');
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const withoutFences = markdown.replace(/^```[\s\S]*?^```/gm, '');
  for (const [, heading] of withoutFences.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

/** The relative links of one Markdown file that lead nowhere, as `target: reason`. */
export function brokenLinks(file: string, markdown: string): string[] {
  const broken: string[] = [];
  for (const [, target] of proseOf(markdown).matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, vscode: …
    const [pathPart, anchor] = target.split('#', 2);
    const resolved = pathPart ? path.resolve(path.dirname(file), decodeURIComponent(pathPart)) : file;
    if (pathPart && !existsSync(resolved)) {
      broken.push(`${target}: ${path.relative(ROOT, resolved)} does not exist`);
      continue;
    }
    if (anchor && resolved.endsWith('.md') && (resolved === file || statSync(resolved).isFile())) {
      const text = resolved === file ? markdown : readFileSync(resolved, 'utf8');
      if (!anchorsOf(text).has(anchor)) broken.push(`${target}: no heading #${anchor} in ${path.relative(ROOT, resolved)}`);
    }
  }
  return broken;
}

describe('documentation', () => {
  it('README.md is a front page of at most 15,000 bytes', () => {
    expect(statSync(path.join(ROOT, 'README.md')).size).toBeLessThanOrEqual(README_MAX_BYTES);
  });

  it.each(markdownFiles().map((f) => [path.relative(ROOT, f), f]))('%s: every relative link resolves', (_name, file) => {
    expect(brokenLinks(file, readFileSync(file, 'utf8'))).toEqual([]);
  });

  it('the checker reports a missing file and a missing heading, and accepts good links', () => {
    const file = path.join(ROOT, 'docs', 'example.md');
    const text = [
      '# Title here',
      '[ok](cli.md) [ok](#title-here) [ok](../README.md) ![ok](../media/screenshot-dark.png) [web](https://example.com/x)',
      '[gone](nope.md) [gone](#no-such-heading) `[in code](nope2.md)`',
      '```',
      '[in a fence](nope3.md)',
      '```',
    ].join('\n');
    expect(brokenLinks(file, text)).toEqual([
      'nope.md: docs/nope.md does not exist',
      '#no-such-heading: no heading #no-such-heading in docs/example.md',
    ]);
  });
});
