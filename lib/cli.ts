/**
 * Command-line grammar of dtee and cronty (docs/behaviour.md A2).
 *
 * Pure: it returns what to print or what is wrong instead of doing it, so that every
 * corner of the grammar can be tested without spawning a process. It imports nothing that
 * reaches the FFI (--time-format is checked by lib/timeformat.ts, DURATION by
 * lib/duration.ts, both pure): a usage error's message and status are lib/failures.ts's.
 */

import { type Duration, parseDuration } from "./duration.ts";
import { DEFAULT_TIME_FORMAT, TimeFormat, TimeFormatError } from "./timeformat.ts";

export type Stream = "stdout" | "stderr" | "combined";

/**
 * The kinds of output file (each a module, registered in lib/output_kinds.ts): `file` the
 * messages as they are, `json` a JSON Lines log of both streams (docs/jsonlog.md),
 * `annotated` both streams as stamped lines (docs/behaviour.md B6).
 */
export type OutputKindName = "file" | "json" | "annotated";

/** An output file as its option asks for it. */
export interface OutputSpec {
  kind: OutputKindName;
  path: string;
  stream: Stream;
  append: boolean;
}

export interface Options {
  /** Every output file option (-o -O -e -E -c -C -j -J) in command-line order. */
  outputs: OutputSpec[];
  /** -i */
  ignoreInterrupts: boolean;
  /** -q/--cron, or basename(name) === "cronty" */
  cron: boolean;
  /** --init (dtee also acts as an init process when it is process 1) */
  init: boolean;
  /** -L/--line-buffered (lib/linebuf.ts) */
  lineBuffered: boolean;
  /** --annotate: dtee's own stdout and stderr lines are annotated too. */
  annotate: boolean;
  /** --time-format, checked (lib/timeformat.ts; the default: RFC 3339 local time with microseconds). */
  timeFormat: string;
  /** --timeout and --kill-after (docs/behaviour.md B7); undefined: no limit (also `--timeout=0`). */
  limit?: TimeLimit;
  /** --failures-only (cron mode): report only when the command fails (B8). */
  failuresOnly: boolean;
  /** The command word and its arguments: non-empty, except for a replay (always empty). */
  command: string[];
}

/** A time limit: SIGTERM to the command's group after `timeout`, SIGKILL `killAfter` later. */
export interface TimeLimit {
  timeout: Duration;
  /** undefined: no SIGKILL (also `--kill-after=0`). */
  killAfter?: Duration;
}

export type ParseResult =
  | { action: "run"; options: Options }
  /**
   * --replay FILE (docs/behaviour.md B4): deliver the log's messages through `options`'
   * outputs instead of running a command; `realtime`: keep the recorded gaps (--realtime).
   */
  | {
    action: "replay";
    options: Options;
    log: string;
    realtime: boolean;
    /** --max-delay: the longest pause between two messages, in ms (Infinity: as recorded). */
    maxDelayMs: number;
  }
  /** Hidden --debug-limits: show the socket buffer sizes and the largest write. */
  | { action: "limits" }
  /** --help, --version, --debug-options: print `stdout` and exit 0. */
  | { action: "exit"; stdout: string }
  /** A usage error (`message`, lib/failures.ts), or no command (the help on stdout). */
  | { action: "usage"; message?: string };

export const VERSION = "0.1.0";

const CRON_NAME = "cronty";

export type Group = "Output files" | "Options" | "Replay" | "Miscellaneous";

export interface OptionDef {
  long: string;
  short?: string;
  /** Takes a value, FILE: the output files and the log to replay. */
  file?: true;
  /** The value's name in the help when it is not a FILE. */
  arg?: string;
  /** An output file: its kind, the streams it takes, and whether it appends or replaces. */
  output?: { kind: OutputKindName; stream: Stream; append: boolean };
  /**
   * Given twice is an error, as boost's variables_map refuses a second value for one key:
   * every flag (a bool_switch in the C tool) and --replay. Only the file lists compose.
   */
  once?: true;
  group?: Group;
  help?: string;
  /** -q is pointless to advertise when the name already selects cron mode. */
  hiddenInCron?: boolean;
}

// Order here is the order of the help text (and of the man pages, docs/man/man.ts).
export const OPTIONS: readonly OptionDef[] = [
  {
    long: "out-append",
    short: "o",
    file: true,
    output: { kind: "file", stream: "stdout", append: true },
    group: "Output files",
    help: "add standard output to the end of FILE",
  },
  {
    long: "out-overwrite",
    short: "O",
    file: true,
    output: { kind: "file", stream: "stdout", append: false },
    group: "Output files",
    help: "replace FILE with standard output",
  },
  {
    long: "err-append",
    short: "e",
    file: true,
    output: { kind: "file", stream: "stderr", append: true },
    group: "Output files",
    help: "add standard error to the end of FILE",
  },
  {
    long: "err-overwrite",
    short: "E",
    file: true,
    output: { kind: "file", stream: "stderr", append: false },
    group: "Output files",
    help: "replace FILE with standard error",
  },
  {
    long: "combined-append",
    short: "c",
    file: true,
    output: { kind: "file", stream: "combined", append: true },
    group: "Output files",
    help: "add both streams in order to the end of FILE",
  },
  {
    long: "combined-overwrite",
    short: "C",
    file: true,
    output: { kind: "file", stream: "combined", append: false },
    group: "Output files",
    help: "replace FILE with both streams in order",
  },
  {
    long: "json-append",
    short: "j",
    file: true,
    output: { kind: "json", stream: "combined", append: true },
    group: "Output files",
    help: "add a JSON Lines log to the end of FILE: every write of both streams " +
      "with its time, and how the command ended",
  },
  {
    long: "json-overwrite",
    short: "J",
    file: true,
    output: { kind: "json", stream: "combined", append: false },
    group: "Output files",
    help: "replace FILE with a JSON Lines log",
  },
  {
    long: "annotated-append",
    short: "a",
    file: true,
    output: { kind: "annotated", stream: "combined", append: true },
    group: "Output files",
    help: "add both streams in order to the end of FILE as annotated text: " +
      "each line with its time and stream (O or E), and I: lines when the command " +
      "starts and ends",
  },
  {
    long: "annotated-overwrite",
    short: "A",
    file: true,
    output: { kind: "annotated", stream: "combined", append: false },
    group: "Output files",
    help: "replace FILE with annotated text",
  },
  {
    long: "ignore-interrupts",
    short: "i",
    group: "Options",
    help: "ignore SIGINT; the command still receives it",
  },
  {
    long: "cron",
    short: "q",
    group: "Options",
    hiddenInCron: true,
    help: "operate in cron mode: stay silent unless the command writes to standard error " +
      "or exits with a non-zero status",
  },
  {
    long: "line-buffered",
    short: "L",
    group: "Options",
    help: "make the command's programs write standard output line by line and standard " +
      "error at once (C stdio, Python, Perl, Ruby), as they would to a terminal",
  },
  {
    long: "init",
    group: "Options",
    help: "act as an init process: forward signals to the command and reap orphans " +
      "(automatic when dtee is process 1)",
  },
  {
    long: "timeout",
    file: true,
    arg: "DURATION",
    once: true,
    group: "Options",
    help: "send SIGTERM to the command's process group (the command runs in one of its own) " +
      "once DURATION has passed, keep capturing, and exit with status 124; DURATION is " +
      "seconds, or a number with the unit s, m, h or d (30, 1.5s, 10m, 2h, 1d); 0: no limit",
  },
  {
    long: "kill-after",
    file: true,
    arg: "DURATION",
    once: true,
    group: "Options",
    help: "with --timeout: send SIGKILL DURATION after the SIGTERM if the command is still " +
      "running (status 137)",
  },
  {
    long: "failures-only",
    group: "Options",
    help: "in cron mode: print the held output and the report only when the command fails " +
      "(a non-zero exit, a signal, a time-out, or an error of dtee's), not for standard " +
      "error output alone",
  },
  {
    long: "annotate",
    group: "Options",
    help: "annotate the lines dtee passes on to its own standard output and standard " +
      "error too (in cron mode, the lines it prints)",
  },
  {
    long: "time-format",
    file: true,
    arg: "FORMAT",
    once: true,
    group: "Options",
    help: "the time stamps of annotated lines: strftime(3) conversions, with %N, %3N, " +
      "%6N or %f for fractions of a second and %@ (%@T, %@.s...) for the time since the " +
      `start (default: RFC 3339 local time with microseconds, ${DEFAULT_TIME_FORMAT})`,
  },
  {
    long: "replay",
    file: true,
    once: true,
    group: "Replay",
    help: "instead of running a command, deliver the writes recorded in the JSON Lines " +
      "log FILE (from -j or -J) to every output; exit with the recorded status",
  },
  {
    long: "realtime",
    group: "Replay",
    help: "with --replay: wait as long between messages as the command did",
  },
  {
    long: "max-delay",
    file: true,
    arg: "SECONDS",
    once: true,
    group: "Replay",
    help: "with --realtime: wait at most SECONDS (a decimal number) between two messages, " +
      "however long the recorded gap (a clock step, a night)",
  },
  { long: "help", short: "h", group: "Miscellaneous", help: "show this help and exit" },
  {
    long: "version",
    short: "V",
    group: "Miscellaneous",
    help: "show the version and licence and exit",
  },
  // No group: hidden from the help.
  { long: "debug-options" },
  { long: "debug-limits" },
];

const BY_LONG = new Map(OPTIONS.map((d) => [d.long, d]));
/** Whether a second occurrence is refused: a flag, or an option marked `once`. */
const onlyOnce = (d: OptionDef) => !d.file || d.once === true;
const BY_SHORT = new Map(OPTIONS.filter((d) => d.short).map((d) => [d.short!, d]));

/** POSIX basename(3): trailing slashes do not count, so "cronty/" is still cronty. */
function basename(path: string): string {
  if (path === "") return ".";
  const trimmed = path.replace(/\/+$/, "");
  if (trimmed === "") return "/";
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

/** Whether NAME alone selects cron mode, as invoking the original through a cronty link does. */
export function isCronName(name: string): boolean {
  return basename(name) === CRON_NAME;
}

/**
 * NAME from process.argv0: argv0 as given, except when basename(argv0) is "deno" (running
 * under the deno CLI), then `fallback` ("dtee" or "cronty").
 *
 * An empty argv0 also gives `fallback`, because "NAME: ..." messages starting with ": " would
 * be useless and nobody can type an empty program name on purpose.
 */
export function programName(argv0: string, fallback: string): string {
  if (argv0 === "" || basename(argv0) === "deno") return fallback;
  return argv0;
}

// Matches boost::program_options' options_description defaults so the layout is the
// original's: 80 columns, and the description column never starts beyond column 40.
const LINE_LENGTH = 80;
const MIN_DESCRIPTION_LENGTH = 40;

function optionColumn(d: OptionDef): string {
  const names = d.short ? `-${d.short} [ --${d.long} ]` : `--${d.long}`;
  return `  ${names} ${d.file ? d.arg ?? "FILE" : ""}`;
}

/**
 * Word-wraps like boost (break at the last space when the word would be chopped) but without
 * the trailing space boost leaves at the end of each wrapped line.
 */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let rest = text;
  while (rest.length > width) {
    let cut = rest.lastIndexOf(" ", width);
    if (cut <= 0) cut = width;
    lines.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  lines.push(rest);
  return lines;
}

function optionsText(cronFromName: boolean): string {
  const visible = OPTIONS.filter((d) => d.group && !(cronFromName && d.hiddenInCron));
  const longest = Math.max(...visible.map((d) => optionColumn(d).length));
  const column = Math.min(longest, LINE_LENGTH - MIN_DESCRIPTION_LENGTH - 1) + 1;
  const groups: Group[] = ["Output files", "Options", "Replay", "Miscellaneous"];
  return groups.map((group) => {
    const lines = [`${group}:`];
    for (const d of visible.filter((d) => d.group === group)) {
      const left = optionColumn(d);
      const desc = wrap(d.help ?? "", LINE_LENGTH - column);
      const indent = " ".repeat(column);
      if (left.length >= column) {
        lines.push(left, ...desc.map((l) => indent + l));
      } else {
        lines.push(left.padEnd(column) + desc[0], ...desc.slice(1).map((l) => indent + l));
      }
    }
    return lines.join("\n") + "\n";
  }).join("\n");
}

/** The usage text printed by --help and when no command is given. */
export function helpText(name: string): string {
  const cronFromName = isCronName(name);
  const description = cronFromName
    ? "Run COMMAND with its standard output and standard error copied to each FILE,\n" +
      "printing nothing unless the command writes to standard error or exits with a\n" +
      "non-zero status; then everything it wrote is printed as usual, followed by a\n" +
      "line on standard error that gives its exit status.\n"
    : "Run COMMAND with its standard output and standard error copied to each FILE,\n" +
      "in the order they were written, while passing both through to standard output\n" +
      "and standard error as usual.\n";
  // The blank line at the very end is the original's (boost's listing, then endl).
  return `Usage: ${name} [OPTION]... COMMAND [ARG]...\n  or:  ${name} [OPTION]... --replay FILE\n\n` +
    `${description}\n` +
    optionsText(cronFromName) + "\n";
}

/**
 * Always says "dtee", also as cronty: it is the name of the package, not of
 * the link. `usSpelling`: the messages locale is en_US, where the C tool
 * says "License".
 */
export function versionText(usSpelling = false): string {
  return `dtee ${VERSION}\n` +
    "Copyright 2026  dtee for Deno authors\n" +
    `${usSpelling ? "License" : "Licence"} MIT: <https://opensource.org/license/mit>.\n` +
    "This program comes with ABSOLUTELY NO WARRANTY, to the extent permitted by law.\n" +
    "This is free software: you are free to change and redistribute it.\n";
}

function usageError(message: string): ParseResult {
  return { action: "usage", message };
}

interface Given {
  def: OptionDef;
  value?: string;
}

/**
 * The words of a command line as boost reads them: options, each checked
 * against the table as it comes, up to the first word that is not one (or
 * the word after `--`), which starts the command.
 */
class Scanner {
  readonly given: Given[] = [];
  /** Words given as boost's `--=WORD`, which do not end the options. */
  readonly #earlyWords: string[] = [];
  command: string[] = [];
  #i = 0;

  constructor(readonly args: string[]) {}

  /** Reads every option and the command; the first usage error, if any. */
  scan(): ParseResult | undefined {
    const args = this.args;
    for (; this.#i < args.length; this.#i++) {
      const word = args[this.#i];
      if (word === "--") {
        this.command = args.slice(this.#i + 1);
        break;
      }
      // A lone "-" conventionally names stdin/stdout, so it is a word, never an option.
      if (!word.startsWith("-") || word === "-") {
        this.command = args.slice(this.#i);
        break;
      }
      const error = word.startsWith("--=")
        ? this.#early(word)
        : word.startsWith("--")
        ? this.#long(word)
        : this.#shorts(word);
      if (error) return error;
    }
    this.command = [...this.#earlyWords, ...this.command];
  }

  /** The next word as an option's value, if there is one. */
  #value(): string | undefined {
    return this.#i + 1 < this.args.length ? this.args[++this.#i] : undefined;
  }

  /** Records an option; a usage error if it may be given only once and was given before. */
  #add(g: Given): ParseResult | undefined {
    if (onlyOnce(g.def) && this.given.some((h) => h.def === g.def)) {
      return usageError(`option '--${g.def.long}' cannot be specified more than once`);
    }
    this.given.push(g);
  }

  /** boost: an option with an empty name, whose values are the command words. */
  #early(word: string): ParseResult | undefined {
    if (word === "--=") {
      return usageError("the argument for option should follow immediately after the equal sign");
    }
    this.#earlyWords.push(word.slice(3));
  }

  #long(word: string): ParseResult | undefined {
    const eq = word.indexOf("=");
    const def = BY_LONG.get(eq < 0 ? word.slice(2) : word.slice(2, eq));
    if (!def) return usageError(`unrecognised option '${word}'`);
    if (!def.file) {
      // boost's wording, which the original prints for this case.
      if (eq >= 0) return usageError(`option '--${def.long}' does not take any arguments`);
      return this.#add({ def });
    }
    // "--out-append=" gives an empty name, just as `-o ""` does; opening it then fails
    // like any other bad file name (the original rejected it as a usage error).
    const value = eq >= 0 ? word.slice(eq + 1) : this.#value();
    return value === undefined ? missing(def) : this.#add({ def, value });
  }

  /** A group of short options (`-qi`, `-ofile`, `-qo file`). */
  #shorts(word: string): ParseResult | undefined {
    // Code points, not UTF-16 units, so that "-é" or "-😀" is reported as one character.
    const chars = Array.from(word.slice(1));
    for (let j = 0; j < chars.length; j++) {
      const def = BY_SHORT.get(chars[j]);
      // The bad character alone, as boost reports it: in "-qx" the user mistyped "-x",
      // and echoing the whole group would not say which letter is wrong.
      if (!def) return usageError(`unrecognised option '-${chars[j]}'`);
      if (!def.file) {
        const error = this.#add({ def });
        if (error) return error;
        continue;
      }
      const rest = chars.slice(j + 1).join("");
      const value = rest !== "" ? rest : this.#value();
      return value === undefined ? missing(def) : this.#add({ def, value });
    }
  }
}

/** Whether option `long` was given. */
function has(given: Given[], long: string): boolean {
  return given.some((g) => g.def.long === long);
}

/** The value option `long` was given with, if it was. */
function valueOf(given: Given[], long: string): string | undefined {
  return given.find((g) => g.def.long === long)?.value;
}

function missing(d: OptionDef): ParseResult {
  return usageError(`the required argument for option '--${d.long}' is missing`);
}

/**
 * args: the arguments after argv[0]; name: NAME as defined in
 * docs/behaviour.md (argv[0] as given); usSpelling: asked only for
 * --version (it needs the locale).
 */
export function parse(args: string[], name: string, usSpelling = () => false): ParseResult {
  const scanner = new Scanner(args);
  const error = scanner.scan();
  if (error) return error;
  const { given, command } = scanner;
  if (has(given, "help")) return { action: "exit", stdout: helpText(name) };
  if (has(given, "version")) return { action: "exit", stdout: versionText(usSpelling()) };
  if (has(given, "debug-options")) return { action: "exit", stdout: debugText(given, command) };
  if (has(given, "debug-limits")) return { action: "limits" };
  const options = optionsOf(given, command, name);
  return "action" in options ? options : action(options, given);
}

/** The options given, or the usage error of a value or a combination that is refused. */
function optionsOf(given: Given[], command: string[], name: string): Options | ParseResult {
  const format = valueOf(given, "time-format");
  const timeFormat = format ?? DEFAULT_TIME_FORMAT;
  try {
    TimeFormat.parse(timeFormat);
  } catch (e) {
    if (!(e instanceof TimeFormatError)) throw e;
    return usageError(
      `the argument ('${format}') for option '--time-format' is invalid: ${e.message}`,
    );
  }
  const options: Options = {
    outputs: given.flatMap(({ def, value }) => def.output ? [{ ...def.output, path: value! }] : []),
    ignoreInterrupts: has(given, "ignore-interrupts"),
    cron: has(given, "cron") || isCronName(name),
    init: has(given, "init"),
    lineBuffered: has(given, "line-buffered"),
    annotate: has(given, "annotate"),
    timeFormat,
    failuresOnly: has(given, "failures-only"),
    command,
  };
  const annotated = options.annotate || options.outputs.some((o) => o.kind === "annotated");
  if (format !== undefined && !annotated) {
    return usageError(
      "option '--time-format' requires option '--annotate' or an annotated output (-a, -A)",
    );
  }
  const limited = limitOf(given, options);
  if (!("action" in limited) && options.failuresOnly && !options.cron) {
    return usageError("option '--failures-only' requires cron mode ('--cron' or cronty)");
  }
  return limited;
}

/** `options` with the time limit of --timeout and --kill-after, or the usage error of a bad one. */
function limitOf(given: Given[], options: Options): Options | ParseResult {
  const durations = new Map<string, Duration>();
  for (const { def, value } of given.filter((g) => g.def.arg === "DURATION")) {
    const duration = parseDuration(value!);
    // boost's wording for a value its validator refuses.
    if (!duration) {
      return usageError(`the argument ('${value}') for option '--${def.long}' is invalid`);
    }
    durations.set(def.long, duration);
  }
  const timeout = durations.get("timeout");
  const killAfter = durations.get("kill-after");
  if (killAfter && !timeout) {
    return usageError("option '--kill-after' requires option '--timeout'");
  }
  if (timeout && timeout.ns > 0n) {
    options.limit = { timeout, killAfter: killAfter && killAfter.ns > 0n ? killAfter : undefined };
  }
  return options;
}

/** Run the command, replay a log, or the usage error of what cannot go with either. */
function action(options: Options, given: Given[]): ParseResult {
  const replay = valueOf(given, "replay");
  if (replay !== undefined) return replayAction(options, given, replay);
  if (has(given, "realtime")) return usageError("option '--realtime' requires option '--replay'");
  if (has(given, "max-delay")) {
    return usageError("option '--max-delay' requires option '--realtime'");
  }
  if (options.command.length === 0) return { action: "usage" };
  return { action: "run", options };
}

/** --replay FILE, or the usage error of what cannot go with it. */
function replayAction(options: Options, given: Given[], log: string): ParseResult {
  // The log names the command; another one would be ignored, so it is refused.
  if (options.command.length > 0) {
    return usageError("option '--replay' cannot be used with a command");
  }
  // A replay starts no program to buffer differently.
  if (options.lineBuffered) {
    return usageError("option '--replay' cannot be used with option '--line-buffered'");
  }
  // The log says whether the run timed out; a replay runs nothing to limit.
  if (has(given, "timeout")) {
    return usageError("option '--timeout' cannot be used with option '--replay'");
  }
  const maxDelay = valueOf(given, "max-delay");
  if (maxDelay !== undefined && !has(given, "realtime")) {
    return usageError("option '--max-delay' requires option '--realtime'");
  }
  // boost's lexical_cast of a double, without its exponents and infinities.
  if (maxDelay !== undefined && !/^(?:\d+\.?\d*|\.\d+)$/.test(maxDelay)) {
    return usageError(`the argument ('${maxDelay}') for option '--max-delay' is invalid`);
  }
  return {
    action: "replay",
    options,
    log,
    realtime: has(given, "realtime"),
    maxDelayMs: maxDelay === undefined ? Infinity : Number(maxDelay) * 1000,
  };
}

/** The original lists boost's variables_map, a std::map: keys in byte order, "-" first. */
function debugText(given: Given[], command: string[]): string {
  const values = new Map<string, string[]>();
  for (const g of given) {
    const list = values.get(g.def.long) ?? [];
    list.push(g.def.file ? g.value! : "1");
    values.set(g.def.long, list);
  }
  if (command.length > 0) values.set("-", command);
  // All keys are ASCII, so UTF-16 order is byte order.
  const keys = [...values.keys()].sort();
  return keys.flatMap((k) => values.get(k)!.map((v) => `${k}=${v}\n`)).join("");
}
