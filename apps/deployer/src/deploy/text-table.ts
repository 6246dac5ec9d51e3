/**
 * Plain-text tables that fit a width: a column too wide for it wraps its cells over several lines, at spaces when it
 * can, inside a word (a path, a fingerprint) when a word alone is wider than the column. A host key refusal is
 * several hundred characters; as one cell of one line it made `check`'s table about 700 columns wide.
 */

const GAP = '  ';

/** `text` in lines of at most `width` characters: words kept whole when they fit, cut when alone they do not. */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && line.length + 1 + word.length <= width) {
      line += ` ${word}`;
      continue;
    }
    if (line !== '') lines.push(line);
    line = word;
    while (line.length > width) {
      lines.push(line.slice(0, width));
      line = line.slice(width);
    }
  }
  if (line !== '' || lines.length === 0) lines.push(line);
  return lines;
}

/**
 * Column widths within `width` (the gaps counted): each column its natural width when all fit; else the columns
 * narrower than an even share keep their width, and the others share what is left by the square root of their
 * natural width (a 300-character message gets more than a 100-character fix, not three times as much), each at
 * least `minWidth`.
 */
export function fitColumns(natural: readonly number[], width: number, minWidth = 12): number[] {
  const budget = width - GAP.length * (natural.length - 1);
  if (natural.reduce((a, b) => a + b, 0) <= budget) return [...natural];
  const widths = [...natural];
  let wide = natural.map((_, i) => i);
  let left = budget;
  for (;;) {
    const weight = wide.reduce((sum, i) => sum + Math.sqrt(natural[i]!), 0);
    const share = (i: number) => (left * Math.sqrt(natural[i]!)) / weight;
    const fitting = wide.filter((i) => natural[i]! <= left / wide.length);
    if (fitting.length === 0) {
      for (const i of wide) widths[i] = Math.max(minWidth, Math.floor(share(i)));
      return widths;
    }
    for (const i of fitting) left -= natural[i]!;
    wide = wide.filter((i) => !fitting.includes(i));
  }
}

/**
 * A table whose lines are at most `width` characters (when its columns can be: each gets at least `minWidth`), the
 * header and the rows' cells wrapped to their column; the last column is not padded. Without `width`, one line a row.
 */
export function formatTable(header: string[], rows: string[][], width = Infinity): string {
  const natural = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const widths = Number.isFinite(width) ? fitColumns(natural, width) : natural;
  const render = (cells: string[]): string[] => {
    const wrapped = widths.map((w, i) => (w < natural[i]! ? wrapText(cells[i] ?? '', w) : [cells[i] ?? '']));
    const height = Math.max(...wrapped.map((c) => c.length));
    return Array.from({ length: height }, (_, k) =>
      wrapped
        .map((c, i) => (i === wrapped.length - 1 ? (c[k] ?? '') : (c[k] ?? '').padEnd(widths[i]!)))
        .join(GAP)
        .trimEnd(),
    );
  };
  return [...render(header), ...rows.flatMap(render)].join('\n') + '\n';
}
