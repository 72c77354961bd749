/**
 * Go's text/template, the subset Docker's --format and inspect -f use, with
 * docker/cli's functions, and docker/cli's formatter around it (formatRows:
 * the `table` prefix with a header row, `json`, literal \t and \n).
 *
 * Supported: {{.Field.Chain}}, {{.}}, {{$}}, $variables (:= and =),
 * pipelines, (sub pipelines).Field, string/raw-string/number/bool/nil
 * literals, {{if}}/{{else if}}/{{else}}/{{end}}, {{with}}, {{range}} (one or
 * two variables, {{break}}, {{continue}}, {{else}}), comments, {{- -}}
 * trimming; functions and or not eq ne lt le gt ge len index print printf
 * println, and Docker's json split join title lower upper pad truncate.
 *
 * Go tells a struct from a map, and the difference shows: a missing struct
 * field is an error, a missing map key prints "<no value>". Plain objects
 * are structs here; mark an object as a map with goMap() (a JS Map is one
 * too). Maps iterate and print in sorted key order, as Go's do. A function
 * stored on an object is a method: {{.Label "com.example"}} calls it.
 */
import { tabwrite } from "./table.ts";
import { Executor } from "./template/exec.ts";
import { type FuncSpec, HEADER_FUNCS } from "./template/funcs.ts";
import { scan } from "./template/lex.ts";
import { type Node, Parser } from "./template/parse.ts";
import { goMap } from "./template/values.ts";

export { dockerContext } from "./template/json.ts";
export { goMap, goQuote } from "./template/values.ts";

export interface Template {
  /** Render with `data` as dot. USAGE errors name the position that failed. */
  execute(data: unknown): string;
}

/** Text, or the name of a top-level field printed as it is ({{.Name}}). */
type Piece = string | { field: string };

/**
 * The pieces of a template made only of text and {{.Field}} actions (the
 * table formats of ps, images, volume ls), or undefined. Such a template
 * over an object whose fields are strings prints them as they are, so
 * rendering needs no interpreter: `ps` with many rows spends its time here.
 */
function plainFields(nodes: Node[]): Piece[] | undefined {
  const pieces: Piece[] = [];
  for (const node of nodes) {
    if (node.t === "text") {
      pieces.push(node.text);
      continue;
    }
    if (node.t !== "action" || node.pipe.decl.length > 0 || node.pipe.cmds.length !== 1) return undefined;
    const args = node.pipe.cmds[0]!.args;
    const first = args[0];
    if (args.length !== 1 || first?.t !== "field" || first.path.length !== 1) return undefined;
    pieces.push({ field: first.path[0]! });
  }
  return pieces;
}

/** The plain-field rendering of data, or undefined when a field is missing or not a string (the interpreter decides then). */
function renderPlain(pieces: Piece[], data: unknown): string | undefined {
  if (typeof data !== "object" || data === null || data instanceof Map) return undefined;
  let out = "";
  for (const piece of pieces) {
    if (typeof piece === "string") {
      out += piece;
      continue;
    }
    const value: unknown = Object.hasOwn(data, piece.field) ? (data as Record<string, unknown>)[piece.field] : undefined;
    if (typeof value !== "string") return undefined;
    out += value;
  }
  return out;
}

class ParsedTemplate implements Template {
  private readonly plain: Piece[] | undefined;

  constructor(
    private readonly source: string,
    private readonly nodes: Node[],
  ) {
    this.plain = plainFields(nodes);
  }

  execute(data: unknown, funcs: Record<string, FuncSpec> = {}): string {
    const plain = this.plain === undefined ? undefined : renderPlain(this.plain, data);
    return plain ?? new Executor(this.source, data, funcs).run(this.nodes, data);
  }
}

/** Parse a template; syntax errors are USAGE errors naming line and column. */
export function parseTemplate(source: string): Template {
  const nodes = new Parser(source, scan(source)).parse();
  return new ParsedTemplate(source, nodes);
}

/**
 * docker/cli's SubHeaderContext: the column names, as a map, with the Label
 * method that names a {{.Label "com.example.key"}} column after the key's
 * last dotted part.
 */
function headerContext(headers: Record<string, string>): object {
  return goMap({
    ...headers,
    Label: (name: unknown) => (String(name).split(".").pop() as string).replace(/[-_]/g, " "),
  });
}

/**
 * docker/cli's formatter.Context.Write: render each row through `format`
 * and print it with a newline. A format starting with "table" gets a header
 * row (the template run over `headers`, the column names by field) and
 * columns aligned as `docker ps` aligns them; "json" is {{json .}}; literal
 * \t and \n in the format are a tab and a newline. Callers map an empty
 * format (and a bare "table") to their command's default table.
 */
export function formatRows(format: string, rows: readonly unknown[], headers: Record<string, string>): string {
  const isTable = format.startsWith("table");
  let source = isTable ? format.slice("table".length) : format === "json" ? "{{json .}}" : format;
  source = source.replace(/^ +| +$/g, "").replaceAll("\\t", "\t").replaceAll("\\n", "\n");
  const template = parseTemplate(source) as ParsedTemplate;
  const body = rows.map((row) => `${template.execute(row)}\n`).join("");
  if (!isTable) return body;
  const header = template.execute(headerContext(headers), HEADER_FUNCS);
  return tabwrite(`${header}\n${body}`);
}
