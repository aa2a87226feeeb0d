/**
 * The time stamps of annotated output (docs/behaviour.md B6): `--time-format=FORMAT`, a
 * documented subset of strftime(3) with sub-second digits and the time since the start of
 * the run (as `ts -s`), parsed once, then written as bytes straight into an output buffer.
 *
 * Pure: the broken-down local time comes from a function the caller passes (the C
 * library's localtime_r through the shim, so that TZ means exactly what it means to the
 * C library). Everything that depends only on the second is rendered once per second;
 * per message only the sub-second digits and the time since the start are written.
 */

import { encode } from "./text.ts";
import { NS_PER_S, secondOf } from "./clock.ts";

/** localtime_r(3)'s answer for one second. */
export interface LocalTime {
  year: number;
  /** 1-12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 Sunday .. 6 Saturday */
  weekday: number;
  /** 0-365 */
  yearDay: number;
  /** East of UTC, in seconds. */
  offset: number;
  /** The zone's abbreviation (`CET`, `+0330`). */
  zone: string;
}

/** The broken-down local time of `seconds` since the epoch. */
export type LocalTimeFn = (seconds: number) => LocalTime;

/** RFC 3339, local time, microseconds: `2026-12-06T23:05:36.123456+01:00`. */
export const DEFAULT_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%6N%:z";

const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

const pad = (n: number, width = 2, fill = "0") => String(n).padStart(width, fill);
const hour12 = (t: LocalTime) => (t.hour + 11) % 12 + 1;
const offset = (t: LocalTime, colon: boolean) => {
  const abs = Math.abs(t.offset);
  const hm = `${pad(Math.floor(abs / 3600))}${colon ? ":" : ""}${pad(Math.floor(abs / 60) % 60)}`;
  return `${t.offset < 0 ? "-" : "+"}${hm}`;
};

/** Conversions of the local time that depend only on the second (English names, as in the C locale). */
const LOCAL: Record<string, (t: LocalTime, seconds: number) => string> = {
  a: (t) => DAYS[t.weekday].slice(0, 3),
  A: (t) => DAYS[t.weekday],
  b: (t) => MONTHS[t.month - 1].slice(0, 3),
  h: (t) => MONTHS[t.month - 1].slice(0, 3),
  B: (t) => MONTHS[t.month - 1],
  C: (t) => pad(Math.floor(t.year / 100)),
  d: (t) => pad(t.day),
  D: (t) => `${pad(t.month)}/${pad(t.day)}/${pad(t.year % 100)}`,
  e: (t) => pad(t.day, 2, " "),
  F: (t) => `${pad(t.year, 4)}-${pad(t.month)}-${pad(t.day)}`,
  H: (t) => pad(t.hour),
  I: (t) => pad(hour12(t)),
  j: (t) => pad(t.yearDay + 1, 3),
  k: (t) => pad(t.hour, 2, " "),
  l: (t) => pad(hour12(t), 2, " "),
  m: (t) => pad(t.month),
  M: (t) => pad(t.minute),
  p: (t) => (t.hour < 12 ? "AM" : "PM"),
  P: (t) => (t.hour < 12 ? "am" : "pm"),
  R: (t) => `${pad(t.hour)}:${pad(t.minute)}`,
  s: (_, seconds) => String(seconds),
  S: (t) => pad(t.second),
  T: (t) => `${pad(t.hour)}:${pad(t.minute)}:${pad(t.second)}`,
  u: (t) => String(t.weekday || 7),
  w: (t) => String(t.weekday),
  y: (t) => pad(t.year % 100),
  Y: (t) => pad(t.year, 4),
  z: (t) => offset(t, false),
  ":z": (t) => offset(t, true),
  Z: (t) => t.zone,
};

/** ts(1)'s sub-second forms: the field, a dot, microseconds. */
const TS_FORMS: Record<string, string> = { ".S": "S", ".s": "s", ".T": "T" };

/** A duration split for the `%@` conversions (`negative` shown by the leading field). */
interface Elapsed {
  negative: boolean;
  seconds: number;
  fraction: number;
}

const sign = (e: Elapsed) => (e.negative ? "-" : "");
const hours = (e: Elapsed) => pad(Math.floor(e.seconds / 3600));
const clock = (e: Elapsed) =>
  `${sign(e)}${hours(e)}:${pad(Math.floor(e.seconds / 60) % 60)}:${pad(e.seconds % 60)}`;

/** The time since the start of the run: `%@X`. Hours are not taken modulo 24. */
const ELAPSED: Record<string, (e: Elapsed) => string> = {
  s: (e) => `${sign(e)}${e.seconds}`,
  H: (e) => `${sign(e)}${hours(e)}`,
  M: (e) => pad(Math.floor(e.seconds / 60) % 60),
  S: (e) => pad(e.seconds % 60),
  T: clock,
};

type Piece =
  /** Literal text and conversions of the second: rendered once per second. */
  | { kind: "second"; render: (t: LocalTime, seconds: number) => string }
  /** The first `digits` digits of the fraction of a second (of the time, or since the start). */
  | { kind: "fraction"; digits: number; from: "second" | Origin }
  /** A signed duration's fields: since the start of the run, or since the epoch (`%.s`). */
  | { kind: "elapsed"; render: (e: Elapsed) => string; from: Origin };

/** What a signed duration counts from. */
type Origin = "start" | "epoch";

/** A FORMAT that is not valid: what is wrong with it. */
export class TimeFormatError extends Error {}

/** A parsed `--time-format`. */
export class TimeFormat {
  private constructor(readonly text: string, readonly pieces: readonly Piece[]) {}

  /** Parses FORMAT; throws TimeFormatError saying what is wrong. */
  static parse(text: string): TimeFormat {
    const pieces: Piece[] = [];
    const literal = (s: string) => pieces.push({ kind: "second", render: () => s });
    if (/[\n\r]/.test(text)) throw new TimeFormatError("a line break would split the line");
    for (let i = 0; i < text.length;) {
      const next = text.indexOf("%", i);
      if (next < 0) {
        literal(text.slice(i));
        break;
      }
      if (next > i) literal(text.slice(i, next));
      const [piece, length] = conversion(text, next);
      if (piece) pieces.push(...piece);
      i = next + length;
    }
    return new TimeFormat(text, merged(pieces));
  }
}

/** The conversion at `text[at]` (a `%`): its pieces and its length. */
function conversion(text: string, at: number): [Piece[], number] {
  const rest = text.slice(at + 1);
  const elapsed = rest.startsWith("@");
  const spec = elapsed ? rest.slice(1) : rest;
  const shown = (n: number) => `%${elapsed ? "@" : ""}${spec.slice(0, n)}`;
  const length = (n: number) => n + 1 + (elapsed ? 1 : 0);
  if (spec === "") throw new TimeFormatError(`'${shown(0)}' at the end`);
  if (!elapsed && spec[0] === "%") return [[{ kind: "second", render: () => "%" }], 1 + 1];
  if (!elapsed && spec[0] === "t") return [[{ kind: "second", render: () => "\t" }], 1 + 1];
  const digits = /^([1-9])?N/.exec(spec);
  if (digits) {
    const n = digits[1] ? +digits[1] : 9;
    const from = elapsed ? "start" : "second";
    return [[{ kind: "fraction", digits: n, from }], length(digits[0].length)];
  }
  if (spec[0] === "f") {
    return [[{ kind: "fraction", digits: 6, from: elapsed ? "start" : "second" }], length(1)];
  }
  const ts = TS_FORMS[spec.slice(0, 2)];
  if (ts) {
    // %.s is a signed count as %@.s is (-0.5 s is -0.500000), only from the epoch.
    const from = elapsed ? "start" : ts === "s" ? "epoch" : "second";
    const [field] = from === "second"
      ? piecesOfSecond(ts, shown(2))
      : piecesOfElapsed(ts, shown(2), from);
    return [
      [field, { kind: "second", render: () => "." }, { kind: "fraction", digits: 6, from }],
      length(2),
    ];
  }
  const name = spec.startsWith(":z") ? ":z" : spec[0];
  const pieces = elapsed ? piecesOfElapsed(name, shown(name.length)) : piecesOfSecond(
    name,
    shown(name.length),
  );
  return [pieces, length(name.length)];
}

function piecesOfSecond(name: string, shown: string): Piece[] {
  const render = Object.hasOwn(LOCAL, name) ? LOCAL[name] : undefined;
  if (!render) throw new TimeFormatError(`unknown conversion '${shown}'`);
  return [{ kind: "second", render }];
}

function piecesOfElapsed(name: string, shown: string, from: Origin = "start"): Piece[] {
  const render = Object.hasOwn(ELAPSED, name) ? ELAPSED[name] : undefined;
  if (!render) {
    throw new TimeFormatError(
      `unknown conversion '${shown}' (since the start: %@s %@H %@M %@S %@T %@N %@f %@.s %@.S %@.T)`,
    );
  }
  return [{ kind: "elapsed", render, from }];
}

/**
 * Neighbouring pieces of the second as one, so that a stamp copies one run of
 * cached bytes between its sub-second digits (the default format: 3 pieces, not 13).
 */
function merged(pieces: Piece[]): Piece[] {
  const out: Piece[] = [];
  for (const piece of pieces) {
    const last = out.at(-1);
    if (piece.kind === "second" && last?.kind === "second") {
      const [a, b] = [last.render, piece.render];
      out[out.length - 1] = {
        kind: "second",
        render: (t, seconds) => a(t, seconds) + b(t, seconds),
      };
    } else out.push(piece);
  }
  return out;
}

const POW10 = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000];

/**
 * Writes time stamps in one format: `stamp` puts the stamp of a time into a buffer.
 * The start of the run (for `%@`) is set by `start`.
 */
export class TimeStamper {
  /** The second whose rendered pieces are cached (ns since the epoch), and those pieces. */
  #second = -1n;
  #valid = false;
  readonly #rendered: (Uint8Array | undefined)[];
  #startNs = 0n;
  /** What the format's signed durations count from (a `%@` conversion, `%.s`). */
  readonly #fromStart: boolean;
  readonly #fromEpoch: boolean;

  constructor(readonly format: TimeFormat, readonly localtime: LocalTimeFn) {
    this.#rendered = format.pieces.map(() => undefined);
    const counts = (from: Origin) =>
      format.pieces.some((p) => p.kind !== "second" && p.from === from);
    this.#fromStart = counts("start");
    this.#fromEpoch = counts("epoch");
  }

  /** The run started at `ns`: what `%@` counts from. */
  start(ns: bigint): void {
    this.#startNs = ns;
  }

  /** The longest stamp this format can write, roughly: room to reserve per stamp. */
  get room(): number {
    return 64 + 4 * this.format.text.length;
  }

  /** Writes the stamp of `ns` at `buf[pos..]`; returns the position after it. */
  stamp(ns: bigint, buf: Uint8Array, pos: number): number {
    let fraction = ns - this.#second;
    if (!this.#valid || fraction < 0n || fraction >= NS_PER_S) {
      this.#renderSecond(secondOf(ns));
      fraction = ns - this.#second;
    }
    const since = this.#fromStart ? split(ns - this.#startNs) : undefined;
    const epoch = this.#fromEpoch ? split(ns) : undefined;
    const pieces = this.format.pieces;
    for (let p = 0; p < pieces.length; p++) {
      const piece = pieces[p];
      if (piece.kind === "second") {
        const bytes = this.#rendered[p]!;
        for (let k = 0; k < bytes.length; k++) buf[pos++] = bytes[k];
      } else if (piece.kind === "fraction") {
        const f = piece.from === "second"
          ? Number(fraction)
          : (piece.from === "start" ? since : epoch)!.fraction;
        pos = digits(Math.floor(f / POW10[9 - piece.digits]), piece.digits, buf, pos);
      } else {
        const text = piece.render((piece.from === "start" ? since : epoch)!);
        for (let k = 0; k < text.length; k++) buf[pos++] = text.charCodeAt(k);
      }
    }
    return pos;
  }

  /** The stamp of `ns` as text (for tests and the odd line). */
  text(ns: bigint): string {
    const buf = new Uint8Array(this.room);
    return new TextDecoder().decode(buf.subarray(0, this.stamp(ns, buf, 0)));
  }

  #renderSecond(second: bigint): void {
    const seconds = Number(second);
    const tm = this.localtime(seconds);
    this.format.pieces.forEach((piece, p) => {
      if (piece.kind === "second") this.#rendered[p] = encode(piece.render(tm, seconds));
    });
    this.#second = second * NS_PER_S;
    this.#valid = true;
  }
}

/** A signed duration in ns as a sign and the magnitude's whole seconds and fraction. */
function split(d: bigint): Elapsed {
  const negative = d < 0n;
  if (negative) d = -d;
  return { negative, seconds: Number(d / NS_PER_S), fraction: Number(d % NS_PER_S) };
}

/** Writes `value` as exactly `width` decimal digits. */
function digits(value: number, width: number, buf: Uint8Array, pos: number): number {
  for (let k = pos + width - 1; k >= pos; k--) {
    buf[k] = 0x30 + (value % 10);
    value = Math.floor(value / 10);
  }
  return pos + width;
}
