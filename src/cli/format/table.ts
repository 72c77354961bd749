/**
 * Go's text/tabwriter (elastic tabstops), as docker/cli's fork of it lines
 * up `docker ps`: tabwriter.NewWriter(out, 10, 1, 3, ' ', 0), widths in
 * terminal columns (go-runewidth; here Bun.stringWidth).
 *
 * The rules that make the output byte-identical to Docker's:
 * - a cell is text terminated by a tab; the text after a line's last tab is
 *   not part of any column and is never padded (no trailing spaces);
 * - a column is a run of consecutive lines that all have a cell there, and
 *   its width is max(minWidth, widest cell + padding);
 * - an unfinished last line (no newline) ends without one, and an empty
 *   text after its last tab is no cell at all.
 */

export interface TabwriterOptions {
  /** minimal cell width, padding included */
  minWidth: number;
  /** added to the widest cell of a column */
  padding: number;
  padChar: string;
}

/** docker/cli's formatter settings. */
export const DOCKER_TABLE: TabwriterOptions = { minWidth: 10, padding: 3, padChar: " " };

interface Cell {
  text: string;
  width: number;
}

function cell(text: string): Cell {
  return { text, width: Bun.stringWidth(text) };
}

class Layout {
  private out = "";
  private readonly widths: number[] = [];

  constructor(
    private readonly lines: Cell[][],
    private readonly options: TabwriterOptions,
  ) {}

  render(): string {
    this.format(0, this.lines.length);
    return this.out;
  }

  private pad(textWidth: number, cellWidth: number): void {
    if (cellWidth > textWidth) this.out += this.options.padChar.repeat(cellWidth - textWidth);
  }

  private writeLines(line0: number, line1: number): void {
    for (let i = line0; i < line1; i++) {
      const line = this.lines[i] as Cell[];
      line.forEach((c, j) => {
        this.out += c.text;
        const width = this.widths[j];
        if (width !== undefined) this.pad(c.width, width);
      });
      if (i + 1 < this.lines.length) this.out += "\n";
    }
  }

  /**
   * Go's Writer.format: find the blocks of consecutive lines that have a cell
   * in the next column, size that column per block, and recurse right.
   * A line's last cell never counts: it is the text before the newline.
   */
  private format(line0: number, line1: number): void {
    const column = this.widths.length;
    for (let row = line0; row < line1; row++) {
      if (column >= (this.lines[row] as Cell[]).length - 1) continue;
      this.writeLines(line0, row);
      line0 = row;
      let width = this.options.minWidth;
      for (; row < line1; row++) {
        const line = this.lines[row] as Cell[];
        if (column >= line.length - 1) break;
        width = Math.max(width, (line[column] as Cell).width + this.options.padding);
      }
      this.widths.push(width);
      this.format(line0, row);
      this.widths.pop();
      line0 = row;
    }
    this.writeLines(line0, line1);
  }
}

/** Align tab-separated text as Go's tabwriter does after Flush. */
export function tabwrite(text: string, options: TabwriterOptions = DOCKER_TABLE): string {
  const lines = text.split("\n").map((line) => line.split("\t"));
  // Flush keeps the unfinished cell of the last line only if it has text.
  const last = lines[lines.length - 1] as string[];
  if (last[last.length - 1] === "") last.pop();
  return new Layout(lines.map((line) => line.map(cell)), options).render();
}

/** Rows of cells as Docker prints a table: header first, every line newline-terminated. */
export function formatTable(rows: string[][], options: TabwriterOptions = DOCKER_TABLE): string {
  return tabwrite(rows.map((row) => `${row.join("\t")}\n`).join(""), options);
}

/** docker/cli's formatter.Ellipsis: at most `width` terminal columns, the last of them "…" when the text is cut. */
export function ellipsis(text: string, width: number): string {
  if (Bun.stringWidth(text) <= width) return text;
  let out = "";
  let used = 0;
  for (const ch of text) {
    const w = Bun.stringWidth(ch);
    if (used + w > width - 1) break;
    out += ch;
    used += w;
  }
  return `${out}…`;
}
