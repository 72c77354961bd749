import { describe, expect, test } from "bun:test";
import { formatRows, goMap, goQuote, parseTemplate } from "../../src/cli/format/template.ts";
import { errorOf } from "../helpers/errors.ts";

/** Shaped like `docker inspect`: structs are plain objects, Labels a map. */
const inspect = {
  Id: "4bed76d3ad428f1d",
  Name: "/web",
  State: { Status: "running", Running: true, Pid: 4242, ExitCode: 0, Health: null },
  Config: { Labels: goMap({ "com.example.tier": "front", app: "shop" }), Cmd: ["sh", "-c", "echo hi"], Env: [] as string[] },
  HostConfig: { Memory: 67108864 },
  Mounts: [
    { Type: "volume", Source: "/var/lib/data", Destination: "/data" },
    { Type: "bind", Source: "/etc/app", Destination: "/config" },
  ],
};

function render(source: string, data: unknown = inspect): string {
  return parseTemplate(source).execute(data);
}

describe("fields, variables and printing", () => {
  const cases: [string, string][] = [
    ["{{.State.Pid}}", "4242"],
    // text and top-level fields only (the table formats): strings print as they are, anything else as Go prints it
    ["{{.Id}}\t{{.Name}}", "4bed76d3ad428f1d\t/web"],
    ["{{.Name}}:{{.HostConfig}}", "/web:{67108864}"],
    ["{{.Name}} {{.State.Running}}", "/web true"],
    ["{{.HostConfig.Memory}}", "67108864"],
    ["{{.Config.Labels.app}}", "shop"],
    ["{{.Config.Labels.missing}}", "<no value>"],
    ["{{.Config.Labels.missing.deeper}}", "<no value>"],
    ["{{.Config.Labels}}", "map[app:shop com.example.tier:front]"],
    ["{{.Config.Cmd}}", "[sh -c echo hi]"],
    ["{{.State.Health}}", "<nil>"],
    ["{{.Mounts}}", "[{volume /var/lib/data /data} {bind /etc/app /config}]"],
    ["{{$}}", "{4bed76d3ad428f1d /web {running true 4242 0 <nil>} {map[app:shop com.example.tier:front] [sh -c echo hi] []} {67108864} [{volume /var/lib/data /data} {bind /etc/app /config}]}"],
    ["{{$pid := .State.Pid}}pid={{$pid}}", "pid=4242"],
    ["{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", "2"],
    ["{{(index .Mounts 1).Source}}", "/etc/app"],
    ['{{with $m := index .Mounts 0}}{{$m.Destination}}{{end}}', "/data"],
    ["{{.State.Pid | printf \"%d\"}}", "4242"],
    ["{{3}} {{-3}} {{1.5}} {{0x1F}} {{true}} {{\"a\\tb\"}} {{`raw\\n`}}", "3 -3 1.5 31 true a\tb raw\\n"],
  ];
  for (const [source, expected] of cases) {
    test(source, () => expect(render(source)).toBe(expected));
  }
});

describe("control structures", () => {
  const cases: [string, string][] = [
    ['{{if eq .State.Status "running"}}up{{else}}down{{end}}', "up"],
    ['{{if eq .State.Status "exited"}}a{{else if .State.Running}}b{{else}}c{{end}}', "b"],
    ["{{if and .State.Running (gt .State.Pid 100)}}big{{end}}", "big"],
    ["{{if or .State.ExitCode .State.Health}}x{{else}}neither{{end}}", "neither"],
    ["{{if not .Config.Env}}no env{{end}}", "no env"],
    ["{{with .State}}{{.Status}}/{{.Pid}}{{end}}", "running/4242"],
    ["{{with .Config.Env}}has{{else}}empty{{end}}", "empty"],
    ["{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}", "/var/lib/data:/data /etc/app:/config "],
    ["{{range $i, $m := .Mounts}}{{$i}}={{$m.Type}};{{end}}", "0=volume;1=bind;"],
    ["{{range $k, $v := .Config.Labels}}{{$k}}={{$v}},{{end}}", "app=shop,com.example.tier=front,"],
    ["{{range .Config.Env}}x{{else}}none{{end}}", "none"],
    ["{{range .Config.Labels.missing}}x{{else}}none{{end}}", "none"],
    ['{{range .Config.Cmd}}{{if eq . "-c"}}{{continue}}{{end}}{{.}};{{end}}', "sh;echo hi;"],
    ['{{range .Config.Cmd}}{{if eq . "-c"}}{{break}}{{end}}{{.}};{{end}}', "sh;"],
    ["a  {{- .Name -}}  b", "a/webb"],
    ["x\n{{- /* a comment */ -}}\ny", "xy"],
    ["{{/* just a comment */}}", ""],
  ];
  for (const [source, expected] of cases) {
    test(source, () => expect(render(source)).toBe(expected));
  }
});

describe("functions", () => {
  const cases: [string, string][] = [
    ["{{json .Config.Labels}}", '{"app":"shop","com.example.tier":"front"}'],
    ["{{json .Mounts}}", '[{"Type":"volume","Source":"/var/lib/data","Destination":"/data"},{"Type":"bind","Source":"/etc/app","Destination":"/config"}]'],
    ['{{json "<a&b>"}}', '"<a&b>"'],
    ['{{index .Config.Labels "com.example.tier"}}', "front"],
    ['[{{index .Config.Labels "nope"}}]', "[]"],
    ["{{index .Config.Cmd 2}}", "echo hi"],
    ['{{join .Config.Cmd " "}}', "sh -c echo hi"],
    ['{{split "a:b:c" ":"}}', "[a b c]"],
    ["{{upper .State.Status}} {{lower \"MiXed\"}} {{title \"hello world-wide\"}}", "RUNNING mixed Hello World-Wide"],
    ["{{len .Mounts}} {{len .Name}} {{len .Config.Labels}} {{len \"é\"}}", "2 4 2 2"],
    ['{{printf "%s is %d (%q)" .State.Status .State.Pid .Name}}', 'running is 4242 ("/web")'],
    ['{{printf "%-8s|%5d|%05.1f|%x|%t|%v" "ab" 42 3.14159 255 true .Config.Cmd}}', "ab      |   42|003.1|ff|true|[sh -c echo hi]"],
    ['{{printf "%d %d" 1}}', "1 %!d(MISSING)"],
    ['{{printf "%d" "x"}}', "%!d(string=x)"],
    ['{{print "a" 1 2 "b"}}', "a1 2b"],
    ["{{pad .Name 2 1}}|{{pad \"\" 2 1}}|", "  /web ||"],
    ["{{truncate .Id 4}} {{truncate \"ab\" 5}}", "4bed ab"],
    ["{{eq .State.Pid 1 2 4242}} {{ne .Name \"/web\"}} {{lt 1 2}} {{le 2 2}} {{gt \"b\" \"a\"}} {{ge 1 2}}", "true false true true true false"],
    ["{{or 0 \"\" \"z\"}} {{and 1 0 2}} {{not .State.Running}}", "z 0 false"],
    ["{{.Name | upper | printf \"<%s>\"}}", "</WEB>"],
  ];
  for (const [source, expected] of cases) {
    test(source, () => expect(render(source)).toBe(expected));
  }

  test("methods on the data are called with their arguments", () => {
    const row = { Labels: "a=1", Label: (key: string) => (key === "a" ? "1" : "") };
    expect(render('{{.Label "a"}}/{{.Label "b"}}', row)).toBe("1/");
  });

  test("goQuote is Go's strconv.Quote", () => {
    expect(goQuote("sh -c 'ls -la'")).toBe(`"sh -c 'ls -la'"`);
    expect(goQuote('say "hi"\n')).toBe('"say \\"hi\\"\\n"');
    expect(goQuote("\x00\x1b\x7f")).toBe('"\\x00\\x1b\\x7f"');
    expect(goQuote("\u00a0é日本…")).toBe('"\\u00a0é日本…"');
  });
});

describe("errors name the position, worded as Go and docker/cli", () => {
  const cases: [string, string][] = [
    ["{{InvalidFunction}}", 'template parsing error: template: :1: function "InvalidFunction" not defined'],
    ["{{nil}}", 'template parsing error: template: :1:2: executing "" at <nil>: nil is not a command'],
    ["{{.State.Nope}}", 'template parsing error: template: :1:8: executing "" at <.State.Nope>: can\'t evaluate field Nope in type struct'],
    ["{{.Nope}}", 'template parsing error: template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type struct'],
    ["{{.State.Health.Status}}", 'template parsing error: template: :1:8: executing "" at <.State.Health.Status>: nil pointer evaluating .Status'],
    ["line one\n  {{.Name.X}}", 'template parsing error: template: :2:9: executing "" at <.Name.X>: can\'t evaluate field X in type string'],
    ["{{len 3}}", 'template parsing error: template: :1:2: executing "" at <len>: error calling len: len of type int'],
    ['{{eq .Name 3}}', 'template parsing error: template: :1:2: executing "" at <eq>: error calling eq: incompatible types for comparison'],
    ["{{index .Mounts 5}}", 'template parsing error: template: :1:2: executing "" at <index>: error calling index: index out of range: 5'],
    ["{{upper .State.Pid}}", 'template parsing error: template: :1:2: executing "" at <upper>: error calling upper: wrong type for value; expected string; got int'],
    ['{{.Name "x"}}', 'template parsing error: template: :1:2: executing "" at <.Name>: Name is not a method but has arguments'],
    ["{{range .State}}{{end}}", 'template parsing error: template: :1:8: executing "" at <.State>: range can\'t iterate over {running true 4242 0 <nil>}'],
    ["{{.Name", "template parsing error: template: :1: unclosed action"],
    ["{{if .Name}}x", "template parsing error: template: :1: unexpected EOF: {{if}} without {{end}}"],
    ["{{end}}", "template parsing error: template: :1: unexpected {{end}}"],
    ["{{$y}}", 'template parsing error: template: :1: undefined variable "$y"'],
    ["{{if 1}}{{$z := 1}}{{else}}{{$z}}{{end}}", 'template parsing error: template: :1: undefined variable "$z"'],
    ["{{break}}", "template parsing error: template: :1: {{break}} outside {{range}}"],
    ['{{"unterminated}}', "template parsing error: template: :1: unterminated quoted string"],
    ["{{.Name @}}", 'template parsing error: template: :1: unrecognized character in action: "@"'],
    ["{{template \"x\"}}", "template parsing error: template: :1: {{template}} is not supported in --format templates"],
  ];
  for (const [source, message] of cases) {
    test(source, () => {
      const err = errorOf(() => render(source));
      expect(err.code).toBe("USAGE");
      expect(err.message).toBe(message);
      expect(err.hint).toBeDefined();
    });
  }
});

describe("formatRows: docker/cli's --format handling", () => {
  const HEADERS = {
    ID: "CONTAINER ID", Names: "NAMES", Image: "IMAGE", Command: "COMMAND", CreatedAt: "CREATED AT",
    RunningFor: "CREATED", Ports: "PORTS", State: "STATE", Status: "STATUS", Size: "SIZE", Labels: "LABELS",
  };
  const rows = [
    { ID: "containerID1", Names: "foobar_baz", Image: "ubuntu", Command: '""', RunningFor: "24 hours ago", Ports: "", State: "running", Status: "", Size: "0B", Labels: "" },
    { ID: "containerID2", Names: "foobar_bar", Image: "ubuntu", Command: '""', RunningFor: "24 hours ago", Ports: "", State: "running", Status: "", Size: "0B", Labels: "" },
  ];
  const DEFAULT = "table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.RunningFor}}\\t{{.Status}}\\t{{.Ports}}\\t{{.Names}}";

  test("the default ps table, with and without size", () => {
    expect(formatRows(`${DEFAULT}\\t{{.Size}}`, rows, HEADERS)).toBe(
      "CONTAINER ID   IMAGE     COMMAND   CREATED        STATUS    PORTS     NAMES        SIZE\n" +
        'containerID1   ubuntu    ""        24 hours ago                       foobar_baz   0B\n' +
        'containerID2   ubuntu    ""        24 hours ago                       foobar_bar   0B\n',
    );
    expect(formatRows(DEFAULT, rows, HEADERS)).toBe(
      "CONTAINER ID   IMAGE     COMMAND   CREATED        STATUS    PORTS     NAMES\n" +
        'containerID1   ubuntu    ""        24 hours ago                       foobar_baz\n' +
        'containerID2   ubuntu    ""        24 hours ago                       foobar_bar\n',
    );
  });

  test("custom tables, plain templates and json", () => {
    expect(formatRows("table {{.Image}}", rows, HEADERS)).toBe("IMAGE\nubuntu\nubuntu\n");
    expect(formatRows("table {{.State}}", rows, HEADERS)).toBe("STATE\nrunning\nrunning\n");
    expect(formatRows("{{.Image}}", rows, HEADERS)).toBe("ubuntu\nubuntu\n");
    expect(formatRows("{{.Names}} {{.State}}", rows, HEADERS)).toBe("foobar_baz running\nfoobar_bar running\n");
    expect(formatRows('table {{split .Image ":"}}', rows, HEADERS)).toBe("IMAGE\n[ubuntu]\n[ubuntu]\n");
    expect(formatRows("{{json .ID}}", rows, HEADERS)).toBe('"containerID1"\n"containerID2"\n');
    expect(formatRows("json", rows.slice(0, 1), HEADERS)).toBe(`${JSON.stringify(rows[0])}\n`);
    expect(formatRows("{{.ID}}\\n{{.Image}}", rows.slice(0, 1), HEADERS)).toBe("containerID1\nubuntu\n");
  });

  test("header functions leave the column names alone, pad still pads", () => {
    const format = "table {{truncate .ID 5}}\\t{{json .Image}} {{.RunningFor}}/{{title .Status}}/{{pad .Ports 2 2}}.{{upper .Names}} {{lower .Status}}";
    expect(formatRows(format, rows, HEADERS)).toBe(
      "CONTAINER ID   IMAGE CREATED/STATUS/  PORTS  .NAMES STATUS\n" +
        'conta          "ubuntu" 24 hours ago//.FOOBAR_BAZ \n' +
        'conta          "ubuntu" 24 hours ago//.FOOBAR_BAR \n',
    );
  });

  test("a Label column is named after the key's last part", () => {
    const labelled = [{ ...rows[0], Label: (k: string) => (k === "com.docker.compose.project" ? "shop" : "") }];
    expect(formatRows('table {{.Names}}\\t{{.Label "com.docker.compose.project"}}', labelled, HEADERS)).toBe(
      "NAMES        project\nfoobar_baz   shop\n",
    );
  });

  test("no rows: a table prints its header, a template nothing", () => {
    expect(formatRows("{{.Image}}", [], HEADERS)).toBe("");
    expect(formatRows("table {{.Image}}", [], HEADERS)).toBe("IMAGE\n");
    expect(formatRows("table {{.Image}}\\t{{.Size}}", [], HEADERS)).toBe("IMAGE     SIZE\n");
  });

  test("a bad template is a USAGE error before anything is printed", () => {
    expect(errorOf(() => formatRows("{{.Image", rows, HEADERS)).code).toBe("USAGE");
    expect(errorOf(() => formatRows("table {{.Nope}}", rows, HEADERS)).message).toBe(
      'template parsing error: template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type struct',
    );
  });
});
