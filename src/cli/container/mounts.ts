/**
 * -v/--volume and --mount of run/create, parsed as docker/cli parses them
 * (opts/mount.go for --mount, the compose loader's ParseVolume for -v),
 * with pflag's wording for a rejected value. The engine checks what they
 * mean (mounts.ts checkMounts: absolute targets, volume names, missing bind
 * sources), as the daemon does.
 */
import { resolve } from "node:path";
import { ContainrError } from "../../diag/errors.ts";
import { PROPAGATIONS, type MountRequest, type Propagation } from "../../engine/mounts.ts";
import { ramInBytes } from "../format/units.ts";

function badValue(flag: string, value: string, reason: string, hint?: string): ContainrError {
  return new ContainrError("USAGE", `invalid argument "${value}" for "${flag}" flag: ${reason}`, hint === undefined ? {} : { hint });
}

/** Go's strconv.ParseBool. */
function parseGoBool(text: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(text)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(text)) return false;
  return undefined;
}

/** One record of Go's encoding/csv: fields split at commas, "double quotes" around a field, "" inside them. */
export function csvFields(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = "";
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) throw new Error(`parse error on line 1, column ${i + 1}: extraneous or missing " in quoted-field`);
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += line[i++];
      }
      if (i < line.length && line[i] !== ",") throw new Error(`parse error on line 1, column ${i + 1}: extraneous or missing " in quoted-field`);
    } else {
      while (i < line.length && line[i] !== ",") {
        if (line[i] === '"') throw new Error(`parse error on line 1, column ${i + 1}: bare " in non-quoted-field`);
        field += line[i++];
      }
    }
    fields.push(field);
    if (i >= line.length) return fields;
    i++; // the comma
  }
}

/** A source that names a host path rather than a volume (the compose loader's isFilePath). */
function isFilePath(source: string): boolean {
  return source.startsWith("/") || source.startsWith(".") || source.startsWith("~");
}

/**
 * -v [SOURCE:]TARGET[:OPTIONS]: a host path (absolute, or "./x" made
 * absolute as docker/cli 23+ does) is a bind mount; any other source names
 * a volume (checked by the engine: "foo/bar" is refused with Docker's
 * "includes invalid characters" error); no source is an anonymous volume.
 * OPTIONS: ro|rw, a bind's propagation, a volume's nocopy.
 */
export function parseVolumeFlag(value: string, cwd = process.cwd()): MountRequest {
  const parts = value.split(":");
  if (parts.length > 3) throw badValue("-v, --volume", value, `invalid spec: ${value}: too many colons`);
  if (parts.some((p) => p === "")) throw badValue("-v, --volume", value, `invalid spec: ${value}: empty section between colons`);
  if (parts.length === 1) return { type: "volume", target: parts[0] as string, readOnly: false, noCopy: false };
  let [source, target, mode] = parts as [string, string, string | undefined];
  let readOnly = false;
  let propagation: Propagation | undefined;
  let noCopy = false;
  const bind = isFilePath(source);
  for (const option of mode === undefined ? [] : mode.split(",")) {
    if (option === "ro" || option === "rw") readOnly = option === "ro";
    else if (bind && (PROPAGATIONS as readonly string[]).includes(option)) propagation = option as Propagation;
    else if (!bind && option === "nocopy") noCopy = true;
    else if (option === "z" || option === "Z") {
      throw new ContainrError("USAGE", `invalid mode: ${mode}: SELinux relabelling (${option}) is not supported by containr`, { hint: "drop the :z/:Z option" });
    } else throw new ContainrError("USAGE", `invalid mode: ${mode}`, { hint: "use ro or rw, a bind mount's propagation (rprivate, rshared, rslave...), or a volume's nocopy" });
  }
  if (!bind) return { type: "volume", source, target, readOnly, noCopy };
  if (source.startsWith("~")) throw new ContainrError("USAGE", `invalid spec: ${value}: the shell did not expand ~`, { hint: "write the host path in full" });
  if (source.startsWith(".")) source = resolve(cwd, source);
  return { type: "bind", source, target, readOnly, propagation, createSource: true };
}

/** --mount type=bind|volume|tmpfs,source=...,target=...,... (docker/cli opts/mount.go). */
export function parseMountFlag(value: string, cwd = process.cwd()): MountRequest {
  const flag = "--mount";
  let fields: string[];
  try {
    fields = csvFields(value);
  } catch (err) {
    throw badValue(flag, value, (err as Error).message);
  }
  let type = "volume";
  let source: string | undefined;
  let target: string | undefined;
  let readOnly = false;
  let propagation: string | undefined;
  let noCopy: boolean | undefined;
  const labels: Record<string, string> = {};
  const driverOptions: Record<string, string> = {};
  let volumeOption = false;
  let bindOption = false;
  let sizeBytes: number | undefined;
  let mode: number | undefined;
  const setOnMap = (map: Record<string, string>, text: string) => {
    const eq = text.indexOf("=");
    const k = eq < 0 ? text : text.slice(0, eq);
    if (k !== "") map[k] = eq < 0 ? "" : text.slice(eq + 1);
  };
  for (const field of fields) {
    const eq = field.indexOf("=");
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    const val = eq < 0 ? "" : field.slice(eq + 1);
    if (eq < 0) {
      if (key === "readonly" || key === "ro") readOnly = true;
      else if (key === "volume-nocopy") {
        noCopy = true;
        volumeOption = true;
      } else throw badValue(flag, value, `invalid field '${field}' must be a key=value pair`);
      continue;
    }
    const bool = (what: string) => {
      const b = parseGoBool(val);
      if (b === undefined) throw badValue(flag, value, `invalid value for ${what}: ${val}`);
      return b;
    };
    switch (key) {
      case "type":
        type = val.toLowerCase();
        break;
      case "source":
      case "src":
        source = val === "." || val.startsWith("./") ? resolve(cwd, val) : val;
        break;
      case "target":
      case "dst":
      case "destination":
        target = val;
        break;
      case "readonly":
      case "ro":
        readOnly = bool(key);
        break;
      case "bind-propagation":
        propagation = val.toLowerCase();
        bindOption = true;
        break;
      case "volume-nocopy":
        noCopy = bool("volume-nocopy");
        volumeOption = true;
        break;
      case "volume-label":
        setOnMap(labels, val);
        volumeOption = true;
        break;
      case "volume-opt":
        setOnMap(driverOptions, val);
        volumeOption = true;
        break;
      case "volume-driver":
        if (val !== "local") throw badValue(flag, value, `volume driver "${val}" is not supported`, "containr has the local driver only");
        volumeOption = true;
        break;
      case "tmpfs-size":
        try {
          sizeBytes = ramInBytes(val);
        } catch {
          throw badValue(flag, value, `invalid value for ${key}: ${val}`);
        }
        break;
      case "tmpfs-mode":
        if (!/^[0-7]+$/.test(val) || Number.parseInt(val, 8) > 0xffffffff) throw badValue(flag, value, `invalid value for ${key}: ${val}`);
        mode = Number.parseInt(val, 8);
        break;
      default:
        throw badValue(flag, value, `unexpected key '${key}' in '${field}'`, "keys: type, source, target, readonly, bind-propagation, volume-nocopy, volume-label, volume-opt, tmpfs-size, tmpfs-mode");
    }
  }
  if (type === "") throw badValue(flag, value, "type is required");
  if (target === undefined || target === "") throw badValue(flag, value, "target is required");
  if (volumeOption && type !== "volume") throw badValue(flag, value, `cannot mix 'volume-*' options with mount type '${type}'`);
  if (bindOption && type !== "bind") throw badValue(flag, value, `cannot mix 'bind-*' options with mount type '${type}'`);
  if ((sizeBytes !== undefined || mode !== undefined) && type !== "tmpfs") throw badValue(flag, value, `cannot mix 'tmpfs-*' options with mount type '${type}'`);
  switch (type) {
    case "bind":
      if (source === undefined || source === "") throw new ContainrError("USAGE", 'invalid mount config for type "bind": field Source must not be empty');
      if (propagation !== undefined && !(PROPAGATIONS as readonly string[]).includes(propagation)) {
        throw new ContainrError("USAGE", `invalid mount config for type "bind": invalid propagation mode: ${propagation}`);
      }
      return { type, source, target, readOnly, propagation: propagation as Propagation | undefined, createSource: false };
    case "volume": {
      const request: MountRequest = { type, target, readOnly, noCopy: noCopy ?? false };
      if (source !== undefined && source !== "") request.source = source;
      if (Object.keys(labels).length > 0) request.labels = labels;
      if (Object.keys(driverOptions).length > 0) request.driverOptions = driverOptions;
      return request;
    }
    case "tmpfs":
      if (source !== undefined && source !== "") throw new ContainrError("USAGE", 'invalid mount config for type "tmpfs": field Source must not be specified');
      return { type, target, readOnly, sizeBytes, mode };
    default:
      throw new ContainrError("USAGE", `invalid mount config: mount type unknown: "${type}"`, { hint: "types: bind, volume, tmpfs" });
  }
}

/** The -v and --mount values of a command line, -v first (docker/cli adds --mount's after the binds). */
export function mountRequests(volumes: readonly string[], mounts: readonly string[]): MountRequest[] {
  return [...volumes.map((v) => parseVolumeFlag(v)), ...mounts.map((m) => parseMountFlag(m))];
}
