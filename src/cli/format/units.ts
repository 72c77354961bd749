/**
 * Docker's human units, byte for byte (github.com/docker/go-units and
 * moby's container state strings):
 *
 *   humanSize(1048576)         "1.049MB"   decimal, 4 significant digits
 *   humanSizeWithPrecision(x, 3)           `docker images` / `ps -s` (3 digits)
 *   bytesSize(64 * 1024 ** 2)  "64MiB"     binary, as `docker stats`
 *   humanDuration(ms)          "Less than a second", "About a minute", "5 minutes", ...
 *   containerStatus(state)     "Up 5 minutes", "Exited (0) 2 hours ago", "Created"
 *   ramInBytes("64m")          67108864    --memory and friends
 *
 * Go formats these numbers with %.Ng, which differs from JavaScript's
 * toPrecision (no trailing zeros, "1e+03" exponents, ties to even), so
 * formatFloat ports strconv.FormatFloat; the template's printf uses it too.
 */
import { ContainrError } from "../../diag/errors.ts";

const DECIMAL_UNITS = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
const BINARY_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

/** A decimal number: significant digits without trailing zeros, and where the point goes. */
interface Decimal {
  digits: string;
  /** digits before the decimal point (may be negative or beyond digits) */
  point: number;
}

/** The exact value to 100 significant digits: enough to see whether a value is exactly halfway. */
function exactDecimal(x: number): Decimal {
  const [mantissa, exponent] = x.toExponential(99).split("e") as [string, string];
  return { digits: mantissa.replace(".", "").replace(/0+$/, ""), point: Number(exponent) + 1 };
}

/** The fewest digits that read back as x (what Go calls shortest). */
function shortestDecimal(x: number): Decimal {
  const [mantissa, exponent] = x.toExponential().split("e") as [string, string];
  return { digits: mantissa.replace(".", "").replace(/0+$/, ""), point: Number(exponent) + 1 };
}

/** Keep `keep` digits, rounding half to even as strconv does. */
function roundDecimal(d: Decimal, keep: number): Decimal {
  if (keep < 0) return { digits: "", point: d.point };
  if (keep >= d.digits.length) return d;
  const next = d.digits[keep] as string;
  const rest = d.digits.slice(keep + 1);
  const previous = keep > 0 ? Number(d.digits[keep - 1]) : 0;
  const up = next > "5" || (next === "5" && (rest !== "" || previous % 2 === 1));
  let digits = d.digits.slice(0, keep);
  let point = d.point;
  if (up) {
    const bumped = (BigInt(digits || "0") + 1n).toString();
    if (digits === "" || bumped.length > digits.length) point++;
    digits = bumped.slice(0, Math.max(keep, 1));
  }
  return { digits: digits.replace(/0+$/, ""), point };
}

function digitAt(d: Decimal, i: number): string {
  return i >= 0 && i < d.digits.length ? (d.digits[i] as string) : "0";
}

/** %e with `precision` digits after the point; exponent of at least two digits. */
function fmtE(d: Decimal, precision: number): string {
  const exp = d.digits === "" ? 0 : d.point - 1;
  let out = digitAt(d, 0);
  if (precision > 0) {
    out += ".";
    for (let i = 1; i <= precision; i++) out += digitAt(d, i);
  }
  return `${out}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
}

/** %f with `precision` digits after the point. */
function fmtF(d: Decimal, precision: number): string {
  let out = "";
  if (d.point > 0) for (let i = 0; i < d.point; i++) out += digitAt(d, i);
  else out = "0";
  if (precision > 0) {
    out += ".";
    for (let i = 0; i < precision; i++) out += digitAt(d, d.point + i);
  }
  return out;
}

/**
 * Go's strconv.FormatFloat(x, fmt, precision, 64), which fmt's %e, %f, %g
 * and %v use; precision -1 means the shortest exact representation. Unlike
 * JavaScript's toPrecision it rounds half to even on the exact binary value,
 * drops trailing zeros in %g, and writes exponents as "e+06".
 */
export function formatFloat(x: number, fmt: "e" | "f" | "g", precision: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "+Inf" : "-Inf";
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  const abs = Math.abs(x);
  const shortest = precision < 0;
  let d: Decimal;
  if (abs === 0) d = { digits: "", point: 1 };
  else if (shortest) d = shortestDecimal(abs);
  else if (fmt === "e") d = roundDecimal(exactDecimal(abs), precision + 1);
  else if (fmt === "f") d = roundDecimal(exactDecimal(abs), exactDecimal(abs).point + precision);
  else d = roundDecimal(exactDecimal(abs), precision === 0 ? 1 : precision);
  const nd = d.digits.length;
  if (fmt === "e") return sign + fmtE(d, shortest ? Math.max(nd - 1, 0) : precision);
  if (fmt === "f") return sign + fmtF(d, shortest ? Math.max(nd - d.point, 0) : precision);
  let digits = shortest ? nd : precision === 0 ? 1 : precision;
  let eprec = digits;
  if (eprec > nd && nd >= d.point) eprec = nd;
  if (shortest) eprec = 6;
  const exp = d.point - 1;
  if (abs !== 0 && (exp < -4 || exp >= eprec)) {
    if (digits > nd) digits = nd;
    return sign + fmtE(d, Math.max(digits - 1, 0));
  }
  if (digits > d.point) digits = nd;
  return sign + fmtF(d, Math.max(digits - d.point, 0));
}

function scale(size: number, base: number, units: string[]): [number, string] {
  let i = 0;
  while (size >= base && i < units.length - 1) {
    size /= base;
    i++;
  }
  return [size, units[i] as string];
}

/** go-units HumanSizeWithPrecision: decimal units, `precision` significant digits ("2.5MB"). */
export function humanSizeWithPrecision(size: number, precision: number): string {
  const [value, unit] = scale(size, 1000, DECIMAL_UNITS);
  return `${formatFloat(value, "g", precision)}${unit}`;
}

/** go-units HumanSize: decimal units, 4 significant digits ("1.049MB"). */
export function humanSize(size: number): string {
  return humanSizeWithPrecision(size, 4);
}

/** go-units BytesSize: binary units, 4 significant digits ("64MiB", "3.42GiB"). */
export function bytesSize(size: number): string {
  const [value, unit] = scale(size, 1024, BINARY_UNITS);
  return `${formatFloat(value, "g", 4)}${unit}`;
}

const SIZE = /^(\d+(\.\d+)*) ?([kmgtp])?i?b?$/i;
const UNIT_POWER: Record<string, number> = { k: 1, m: 2, g: 3, t: 4, p: 5 };

function parseSize(value: string, base: number): number {
  const match = SIZE.exec(value);
  // Go's ParseFloat refuses "1.2.3", which the pattern lets through.
  const number = match ? Number(match[1]) : Number.NaN;
  if (!match || Number.isNaN(number)) {
    throw new ContainrError("USAGE", `invalid size: '${value}'`, {
      hint: "give a number with an optional unit: b, k, m, g, t or p (for example 512k, 64m, 1g)",
    });
  }
  const power = match[3] ? (UNIT_POWER[match[3].toLowerCase()] as number) : 0;
  return Math.trunc(number * base ** power);
}

/** go-units RAMInBytes: "64m" is 64 MiB; units are binary and case-insensitive, "b" optional. */
export function ramInBytes(value: string): number {
  return parseSize(value, 1024);
}

/** go-units FromHumanSize: "44kB" is 44000; units are decimal. */
export function fromHumanSize(value: string): number {
  return parseSize(value, 1000);
}

/**
 * A size flag (--memory, --memory-swap, --shm-size) parsed as Docker's
 * MemBytes does, with Docker's wording for a bad value.
 */
export function parseMemoryFlag(value: string, flag: string): number {
  try {
    return ramInBytes(value);
  } catch (err) {
    const inner = err as ContainrError;
    throw new ContainrError("USAGE", `invalid argument "${value}" for "${flag}" flag: ${inner.message}`, { hint: inner.hint });
  }
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/**
 * go-units HumanDuration of a duration in milliseconds. Seconds and minutes
 * truncate; hours round (1 h 31 min is "2 hours").
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / SECOND);
  if (seconds < 1) return "Less than a second";
  if (seconds === 1) return "1 second";
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / MINUTE);
  if (minutes === 1) return "About a minute";
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.trunc(ms / HOUR + 0.5);
  if (hours === 1) return "About an hour";
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(ms / HOUR) / 24 / 365)} years`;
}

/** Go's zero time.Time as Docker's JSON writes it, and the ways a record may say "never". */
function isZeroTime(time: string | undefined | null): time is undefined | null {
  return time === undefined || time === null || time === "" || time.startsWith("0001-01-01");
}

export interface ContainerStateSummary {
  running: boolean;
  paused?: boolean;
  restarting?: boolean;
  /** rm in progress */
  removing?: boolean;
  dead?: boolean;
  exitCode: number;
  /** RFC 3339; empty, absent or Go's zero time when the container never started */
  startedAt?: string | null;
  finishedAt?: string | null;
  health?: "starting" | "healthy" | "unhealthy";
}

/** moby's State.String(): the STATUS column of `ps`. `now` is in milliseconds. */
export function containerStatus(state: ContainerStateSummary, now: number = Date.now()): string {
  const since = (time: string | null | undefined) => humanDuration(now - (isZeroTime(time) ? now : Date.parse(time)));
  if (state.running) {
    if (state.paused) return `Up ${since(state.startedAt)} (Paused)`;
    if (state.restarting) return `Restarting (${state.exitCode}) ${since(state.finishedAt)} ago`;
    if (state.health !== undefined) {
      return `Up ${since(state.startedAt)} (${state.health === "starting" ? "health: starting" : state.health})`;
    }
    return `Up ${since(state.startedAt)}`;
  }
  if (state.removing) return "Removal In Progress";
  if (state.dead) return "Dead";
  if (isZeroTime(state.startedAt)) return "Created";
  if (isZeroTime(state.finishedAt)) return "";
  return `Exited (${state.exitCode}) ${since(state.finishedAt)} ago`;
}

/** The CREATED column of `ps`: whole seconds since create, on this clock ("2 hours ago"). */
export function createdAgo(created: string, now: number = Date.now()): string {
  return unixAgo(Math.trunc(Date.parse(created) / SECOND), now);
}

/** The local zone's UTC offset at `date` in minutes east of UTC (JavaScript counts west). */
function offsetMinutes(date: Date): number {
  return -date.getTimezoneOffset();
}

function pad2(n: number): string {
  return String(n).padStart(2, "0");
}

/** "+hh:mm" (sep ":") or "+hhmm" (sep "") */
function offsetText(minutes: number, sep: string): string {
  const abs = Math.abs(minutes);
  return `${minutes < 0 ? "-" : "+"}${pad2(Math.trunc(abs / 60))}${sep}${pad2(abs % 60)}`;
}

/** Date and time of day in the local zone: "2006-01-02", "15:04:05". */
function localParts(date: Date): [string, string] {
  return [
    `${String(date.getFullYear()).padStart(4, "0")}-${pad2(date.getMonth() + 1)}-${pad2(date.getDate())}`,
    `${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())}`,
  ];
}

/**
 * The zone's abbreviation as Go prints it: the tz database's ("UTC", "CET",
 * "PST"), or the numeric offset for zones that have none ("+03", "+0530").
 * ICU (en-US) knows abbreviations only where they are common and spells the
 * others "GMT+5:30", which Go never prints: those become the numeric offset,
 * right for zones the tz database has no letters for (Asia/Dubai "+04") but
 * not for the few it has and ICU lacks (Asia/Kolkata is "IST" in Go).
 */
function zoneAbbreviation(date: Date): string {
  const name = new Intl.DateTimeFormat("en-US", { timeZoneName: "short" }).formatToParts(date).find((p) => p.type === "timeZoneName")?.value ?? "";
  if (name !== "" && !/^GMT[+-]/.test(name)) return name;
  const minutes = offsetMinutes(date);
  return minutes % 60 === 0 ? offsetText(minutes, "").slice(0, 3) : offsetText(minutes, "");
}

/** Go's time.Time.String() of a whole second in the local zone: "2024-05-01 12:00:00 +0000 UTC" (`docker images`' CreatedAt). */
export function goTimeString(unixSeconds: number): string {
  const date = new Date(unixSeconds * SECOND);
  const [day, time] = localParts(date);
  return `${day} ${time} ${offsetText(offsetMinutes(date), "")} ${zoneAbbreviation(date)}`;
}

/** Go's time.RFC3339 of a whole second in the local zone: "2024-05-01T12:00:00Z", "2024-05-01T14:00:00+02:00". */
export function rfc3339(unixSeconds: number): string {
  const date = new Date(unixSeconds * SECOND);
  const [day, time] = localParts(date);
  const minutes = offsetMinutes(date);
  return `${day}T${time}${minutes === 0 ? "Z" : offsetText(minutes, ":")}`;
}

/** Docker's "N units ago" of an API timestamp in whole Unix seconds: HumanDuration(now - time.Unix(created, 0)) + " ago". */
export function unixAgo(unixSeconds: number, now: number = Date.now()): string {
  return `${humanDuration(now - unixSeconds * SECOND)} ago`;
}
