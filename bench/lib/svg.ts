/**
 * Two small SVG charts for the bench report, written by hand (no charting dependency): a
 * horizontal bar chart (throughput per system) and rows of 100 % stacked bars (race outcomes:
 * ok / missing / wrong). Plain SVG 1.1 with inline attributes, readable on GitHub and in any
 * browser; every label escaped.
 */

const FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"';

/** Escapes text for SVG/XML content and attributes. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function text(x: number, y: number, s: string, opts: { size?: number; anchor?: 'start' | 'middle' | 'end'; weight?: string; fill?: string } = {}): string {
  return `<text x="${x}" y="${y}" ${FONT} font-size="${opts.size ?? 12}" text-anchor="${opts.anchor ?? 'start'}"${opts.weight !== undefined ? ` font-weight="${opts.weight}"` : ''} fill="${opts.fill ?? '#222'}">${esc(s)}</text>`;
}

function rect(x: number, y: number, w: number, h: number, fill: string, title?: string): string {
  const t = title !== undefined ? `<title>${esc(title)}</title>` : '';
  return `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(0, w).toFixed(1)}" height="${h}" fill="${fill}">${t}</rect>`;
}

function svg(width: number, height: number, body: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n<rect width="100%" height="100%" fill="#fff"/>\n${body.join('\n')}\n</svg>\n`;
}

/** One bar of `barChart`. */
export interface Bar {
  label: string;
  value: number;
  /** Shown right of the bar. */
  note: string;
  color: string;
}

function heading(title: string, subtitles: string[]): string[] {
  return [text(10, 20, title, { size: 15, weight: 'bold' }), ...subtitles.map((s, i) => text(10, 38 + i * 15, s, { size: 11, fill: '#555' }))];
}

/** Horizontal bars scaled to the largest value, with a title and subtitle lines. */
export function barChart(title: string, subtitles: string[], bars: Bar[]): string {
  const labelW = 150;
  const barW = 400;
  const noteW = 300;
  const rowH = 24;
  const top = 38 + subtitles.length * 15;
  const width = labelW + barW + noteW;
  const height = top + bars.length * rowH + 16;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const body = heading(title, subtitles);
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    const w = (b.value / max) * barW;
    body.push(text(labelW - 8, y + 15, b.label, { anchor: 'end' }));
    body.push(rect(labelW, y + 3, w, rowH - 8, b.color, `${b.label}: ${b.note}`));
    body.push(text(labelW + w + 6, y + 15, b.note, { size: 11 }));
  });
  return svg(width, height, body);
}

/** Counts of one stacked bar (drawn as shares of their sum). */
export interface Stack {
  ok: number;
  missing: number;
  wrong: number;
}

/** One labelled row of `stackChart`. */
export interface StackRow {
  label: string;
  /** One stacked bar per column; null draws "n/a". */
  cells: (Stack | null)[];
}

/** Rows under one heading of `stackChart`. */
export interface StackGroup {
  heading: string;
  rows: StackRow[];
}

/** ok green, missing grey, wrong red. */
export const OUTCOME_COLORS = { ok: '#2e7d32', missing: '#b0b0b0', wrong: '#c62828' };

/** Groups of rows, each row one 100 % stacked bar per column (e.g. cgroup, comm), with a legend. */
export function stackChart(title: string, subtitles: string[], columns: string[], groups: StackGroup[]): string {
  const labelW = 230;
  const cellW = 240;
  const gap = 100;
  const rowH = 20;
  const headH = 26;
  const legendY = 34 + subtitles.length * 15;
  const top = legendY + 30;
  const width = labelW + columns.length * (cellW + gap) + 10;
  const rows = groups.reduce((a, g) => a + g.rows.length, 0);
  const height = top + groups.length * headH + rows * rowH + 12;
  const body = heading(title, subtitles);
  let lx = 10;
  for (const [name, color] of Object.entries(OUTCOME_COLORS)) {
    body.push(rect(lx, legendY, 12, 12, color), text(lx + 16, legendY + 10, name, { size: 11 }));
    lx += 80;
  }
  body.push(text(lx + 10, legendY + 10, 'numbers: ok/missing/wrong', { size: 11, fill: '#555' }));
  columns.forEach((c, j) => body.push(text(labelW + j * (cellW + gap) + cellW / 2, legendY + 26, c, { anchor: 'middle', weight: 'bold' })));
  let y = top;
  for (const g of groups) {
    body.push(text(10, y + 18, g.heading, { size: 13, weight: 'bold' }));
    y += headH;
    for (const r of g.rows) {
      body.push(text(labelW - 8, y + 14, r.label, { anchor: 'end', size: 11 }));
      r.cells.forEach((cell, j) => {
        const x0 = labelW + j * (cellW + gap);
        if (cell === null) {
          body.push(text(x0 + 4, y + 14, 'n/a (not recorded)', { size: 11, fill: '#777' }));
          return;
        }
        const total = cell.ok + cell.missing + cell.wrong;
        let x = x0;
        for (const k of ['ok', 'missing', 'wrong'] as const) {
          const w = total > 0 ? (cell[k] / total) * cellW : 0;
          body.push(rect(x, y + 3, w, rowH - 6, OUTCOME_COLORS[k], `${r.label} ${columns[j]}: ${k} ${cell[k]} of ${total}`));
          x += w;
        }
        body.push(text(x0 + cellW + 6, y + 14, `${cell.ok}/${cell.missing}/${cell.wrong}`, { size: 10, fill: '#444' }));
      });
      y += rowH;
    }
  }
  return svg(width, height, body);
}
