import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { CRONTY, DTEE, prng, run as runProcess, withTempDir } from "./helpers.ts";
import { USAGE_STATUS as EX_USAGE } from "../lib/failures.ts";
import {
  helpText,
  isCronName,
  OPTIONS,
  type Options,
  type OutputSpec,
  parse,
  type ParseResult,
  programName,
  VERSION,
  versionText,
} from "../lib/cli.ts";
import { DEFAULT_TIME_FORMAT } from "../lib/timeformat.ts";

function run(args: string[], name = "dtee"): Options {
  const r = parse(args, name);
  if (r.action !== "run") throw new Error(`expected run, got ${JSON.stringify(r)}`);
  return r.options;
}

/** Print `stdout` and exit 0. */
function exit(stdout: string): ParseResult {
  return { action: "exit", stdout };
}

/** A usage error: lib/failures.ts prints it with NAME and the `Try` line, status 64. */
function usageError(message: string): ParseResult {
  return { action: "usage", message };
}

/** No command: the help on stdout, status 64. */
const NO_COMMAND: ParseResult = { action: "usage" };

function debug(args: string[], name = "dtee"): string {
  const r = parse(["--debug-options", ...args], name);
  deepStrictEqual({ ...r, stdout: "" }, exit(""));
  return (r as { stdout: string }).stdout;
}

/** The options of a run: the defaults, except what `given` says. */
function options(given: Partial<Options>): Options {
  return {
    outputs: [],
    ignoreInterrupts: false,
    init: false,
    lineBuffered: false,
    annotate: false,
    timeFormat: DEFAULT_TIME_FORMAT,
    cron: false,
    failuresOnly: false,
    command: [],
    ...given,
  };
}

const file = (stream: OutputSpec["stream"]) => (path: string, append = true): OutputSpec => ({
  kind: "file",
  path,
  stream,
  append,
});
const out = file("stdout");
const err = file("stderr");
const both = file("combined");

const HELP = `Usage: dtee [OPTION]... COMMAND [ARG]...
  or:  dtee [OPTION]... --replay FILE

Run COMMAND with its standard output and standard error copied to each FILE,
in the order they were written, while passing both through to standard output
and standard error as usual.

Output files:
  -o [ --out-append ] FILE          add standard output to the end of FILE
  -O [ --out-overwrite ] FILE       replace FILE with standard output
  -e [ --err-append ] FILE          add standard error to the end of FILE
  -E [ --err-overwrite ] FILE       replace FILE with standard error
  -c [ --combined-append ] FILE     add both streams in order to the end of FILE
  -C [ --combined-overwrite ] FILE  replace FILE with both streams in order
  -j [ --json-append ] FILE         add a JSON Lines log to the end of FILE:
                                    every write of both streams with its time,
                                    and how the command ended
  -J [ --json-overwrite ] FILE      replace FILE with a JSON Lines log
  -a [ --annotated-append ] FILE    add both streams in order to the end of FILE
                                    as annotated text: each line with its time
                                    and stream (O or E), and I: lines when the
                                    command starts and ends
  -A [ --annotated-overwrite ] FILE replace FILE with annotated text

Options:
  -i [ --ignore-interrupts ]        ignore SIGINT; the command still receives it
  -q [ --cron ]                     operate in cron mode: stay silent unless the
                                    command writes to standard error or exits
                                    with a non-zero status
  -L [ --line-buffered ]            make the command's programs write standard
                                    output line by line and standard error at
                                    once (C stdio, Python, Perl, Ruby), as they
                                    would to a terminal
  --init                            act as an init process: forward signals to
                                    the command and reap orphans (automatic when
                                    dtee is process 1)
  --timeout DURATION                send SIGTERM to the command's process group
                                    (the command runs in one of its own) once
                                    DURATION has passed, keep capturing, and
                                    exit with status 124; DURATION is seconds,
                                    or a number with the unit s, m, h or d (30,
                                    1.5s, 10m, 2h, 1d); 0: no limit
  --kill-after DURATION             with --timeout: send SIGKILL DURATION after
                                    the SIGTERM if the command is still running
                                    (status 137)
  --failures-only                   in cron mode: print the held output and the
                                    report only when the command fails (a
                                    non-zero exit, a signal, a time-out, or an
                                    error of dtee's), not for standard error
                                    output alone
  --annotate                        annotate the lines dtee passes on to its own
                                    standard output and standard error too (in
                                    cron mode, the lines it prints)
  --time-format FORMAT              the time stamps of annotated lines:
                                    strftime(3) conversions, with %N, %3N, %6N
                                    or %f for fractions of a second and %@ (%@T,
                                    %@.s...) for the time since the start
                                    (default: RFC 3339 local time with
                                    microseconds, %Y-%m-%dT%H:%M:%S.%6N%:z)

Replay:
  --replay FILE                     instead of running a command, deliver the
                                    writes recorded in the JSON Lines log FILE
                                    (from -j or -J) to every output; exit with
                                    the recorded status
  --realtime                        with --replay: wait as long between messages
                                    as the command did
  --max-delay SECONDS               with --realtime: wait at most SECONDS (a
                                    decimal number) between two messages,
                                    however long the recorded gap (a clock step,
                                    a night)

Miscellaneous:
  -h [ --help ]                     show this help and exit
  -V [ --version ]                  show the version and licence and exit

`;

const CRONTY_HELP = `Usage: /usr/bin/cronty [OPTION]... COMMAND [ARG]...
  or:  /usr/bin/cronty [OPTION]... --replay FILE

Run COMMAND with its standard output and standard error copied to each FILE,
printing nothing unless the command writes to standard error or exits with a
non-zero status; then everything it wrote is printed as usual, followed by a
line on standard error that gives its exit status.

Output files:
  -o [ --out-append ] FILE          add standard output to the end of FILE
  -O [ --out-overwrite ] FILE       replace FILE with standard output
  -e [ --err-append ] FILE          add standard error to the end of FILE
  -E [ --err-overwrite ] FILE       replace FILE with standard error
  -c [ --combined-append ] FILE     add both streams in order to the end of FILE
  -C [ --combined-overwrite ] FILE  replace FILE with both streams in order
  -j [ --json-append ] FILE         add a JSON Lines log to the end of FILE:
                                    every write of both streams with its time,
                                    and how the command ended
  -J [ --json-overwrite ] FILE      replace FILE with a JSON Lines log
  -a [ --annotated-append ] FILE    add both streams in order to the end of FILE
                                    as annotated text: each line with its time
                                    and stream (O or E), and I: lines when the
                                    command starts and ends
  -A [ --annotated-overwrite ] FILE replace FILE with annotated text

Options:
  -i [ --ignore-interrupts ]        ignore SIGINT; the command still receives it
  -L [ --line-buffered ]            make the command's programs write standard
                                    output line by line and standard error at
                                    once (C stdio, Python, Perl, Ruby), as they
                                    would to a terminal
  --init                            act as an init process: forward signals to
                                    the command and reap orphans (automatic when
                                    dtee is process 1)
  --timeout DURATION                send SIGTERM to the command's process group
                                    (the command runs in one of its own) once
                                    DURATION has passed, keep capturing, and
                                    exit with status 124; DURATION is seconds,
                                    or a number with the unit s, m, h or d (30,
                                    1.5s, 10m, 2h, 1d); 0: no limit
  --kill-after DURATION             with --timeout: send SIGKILL DURATION after
                                    the SIGTERM if the command is still running
                                    (status 137)
  --failures-only                   in cron mode: print the held output and the
                                    report only when the command fails (a
                                    non-zero exit, a signal, a time-out, or an
                                    error of dtee's), not for standard error
                                    output alone
  --annotate                        annotate the lines dtee passes on to its own
                                    standard output and standard error too (in
                                    cron mode, the lines it prints)
  --time-format FORMAT              the time stamps of annotated lines:
                                    strftime(3) conversions, with %N, %3N, %6N
                                    or %f for fractions of a second and %@ (%@T,
                                    %@.s...) for the time since the start
                                    (default: RFC 3339 local time with
                                    microseconds, %Y-%m-%dT%H:%M:%S.%6N%:z)

Replay:
  --replay FILE                     instead of running a command, deliver the
                                    writes recorded in the JSON Lines log FILE
                                    (from -j or -J) to every output; exit with
                                    the recorded status
  --realtime                        with --replay: wait as long between messages
                                    as the command did
  --max-delay SECONDS               with --realtime: wait at most SECONDS (a
                                    decimal number) between two messages,
                                    however long the recorded gap (a clock step,
                                    a night)

Miscellaneous:
  -h [ --help ]                     show this help and exit
  -V [ --version ]                  show the version and licence and exit

`;

const VERSION_TEXT = `dtee 0.1.0
Copyright 2026  dtee for Deno authors
Licence MIT: <https://opensource.org/license/mit>.
This program comes with ABSOLUTELY NO WARRANTY, to the extent permitted by law.
This is free software: you are free to change and redistribute it.
`;

// --- plain runs ---

Deno.test("a bare command runs with defaults", () => {
  deepStrictEqual(run(["ls"]), options({ command: ["ls"] }));
});

Deno.test("everything after the command word belongs to the command", () => {
  deepStrictEqual(run(["ls", "-la"]).command, ["ls", "-la"]);
  deepStrictEqual(run(["ls", "-o", "x", "--help", "--", "-q"]).command, [
    "ls",
    "-o",
    "x",
    "--help",
    "--",
    "-q",
  ]);
  deepStrictEqual(
    run(["-q", "ls", "--bogus"]),
    options({ cron: true, command: ["ls", "--bogus"] }),
  );
});

Deno.test("-- ends the options and is dropped; a later -- goes to the command", () => {
  deepStrictEqual(run(["--", "ls"]).command, ["ls"]);
  deepStrictEqual(run(["--", "-q"]).command, ["-q"]);
  deepStrictEqual(run(["--", "--", "x"]).command, ["--", "x"]);
  deepStrictEqual(
    run(["-i", "--", "ls", "--", "-la"]),
    options({ ignoreInterrupts: true, command: ["ls", "--", "-la"] }),
  );
  deepStrictEqual(run(["--", ""]).command, [""]);
});

Deno.test("-- with nothing after it is a missing command", () => {
  deepStrictEqual(parse(["--"], "dtee"), NO_COMMAND);
  deepStrictEqual(parse(["-q", "--"], "dtee"), NO_COMMAND);
});

Deno.test("an empty word ends the options and is the command", () => {
  deepStrictEqual(run([""]).command, [""]);
  deepStrictEqual(run(["", "-q"]), options({ command: ["", "-q"] }));
  deepStrictEqual(run(["-i", "", "--", "x"]).command, ["", "--", "x"]);
});

Deno.test("a lone - is the command word, and options after it are its arguments", () => {
  deepStrictEqual(run(["-"]).command, ["-"]);
  deepStrictEqual(run(["-q", "-", "-o", "x"]), options({ cron: true, command: ["-", "-o", "x"] }));
});

Deno.test("command words keep their exact content", () => {
  const words = ["é", "a b", "\n", "--x=y", "=", "😀", "x".repeat(100_000)];
  deepStrictEqual(run(["--", ...words]).command, words);
  deepStrictEqual(run(["cmd", ...words]).command, ["cmd", ...words]);
});

// --- output options ---

Deno.test("each output option, short form, value as the next word", () => {
  deepStrictEqual(run(["-o", "a", "x"]).outputs, [out("a")]);
  deepStrictEqual(run(["-O", "a", "x"]).outputs, [out("a", false)]);
  deepStrictEqual(run(["-e", "a", "x"]).outputs, [err("a")]);
  deepStrictEqual(run(["-E", "a", "x"]).outputs, [err("a", false)]);
  deepStrictEqual(run(["-c", "a", "x"]).outputs, [both("a")]);
  deepStrictEqual(run(["-C", "a", "x"]).outputs, [both("a", false)]);
});

Deno.test("each output option, long form, both value styles", () => {
  const cases: [string, OutputSpec][] = [
    ["out-append", out("f")],
    ["out-overwrite", out("f", false)],
    ["err-append", err("f")],
    ["err-overwrite", err("f", false)],
    ["combined-append", both("f")],
    ["combined-overwrite", both("f", false)],
  ];
  for (const [long, spec] of cases) {
    deepStrictEqual(run([`--${long}`, "f", "x"]).outputs, [spec]);
    deepStrictEqual(run([`--${long}=f`, "x"]).outputs, [spec]);
  }
});

Deno.test("attached short values", () => {
  deepStrictEqual(run(["-ofile", "x"]).outputs, [out("file")]);
  deepStrictEqual(run(["-o=file", "x"]).outputs, [out("=file")]);
  deepStrictEqual(run(["-o-q", "x"]).outputs, [out("-q")]);
  deepStrictEqual(run(["-Oé😀", "x"]).outputs, [out("é😀", false)]);
});

Deno.test("--name=value splits at the first =", () => {
  deepStrictEqual(run(["--out-append=a=b", "x"]).outputs, [out("a=b")]);
  deepStrictEqual(run(["--err-append==", "x"]).outputs, [err("=")]);
});

Deno.test("--name= gives an empty value", () => {
  deepStrictEqual(run(["--out-append=", "x"]).outputs, [out("")]);
});

Deno.test("a value is always the next word, even when empty or starting with -", () => {
  deepStrictEqual(run(["-o", "", "x"]).outputs, [out("")]);
  deepStrictEqual(run(["-o", "--", "x"]), options({ outputs: [out("--")], command: ["x"] }));
  deepStrictEqual(run(["-o", "-q", "x"]), options({ outputs: [out("-q")], command: ["x"] }));
  deepStrictEqual(run(["--err-overwrite", "--help", "x"]).outputs, [err("--help", false)]);
  deepStrictEqual(run(["--combined-append", "-", "x"]).outputs, [both("-")]);
  deepStrictEqual(run(["-c", "--bogus", "x"]).outputs, [both("--bogus")]);
  deepStrictEqual(run(["--out-append", "", "x"]).outputs, [out("")]);
});

Deno.test("repeated output options keep every value, in order across kinds", () => {
  deepStrictEqual(
    run([
      "-o",
      "1",
      "--err-overwrite=2",
      "-C3",
      "-o",
      "1",
      "--combined-append",
      "4",
      "-qE5",
      "--out-overwrite",
      "6",
      "-e7",
      "-io8",
      "cmd",
    ]),
    options({
      outputs: [
        out("1"),
        err("2", false),
        both("3", false),
        out("1"),
        both("4"),
        err("5", false),
        out("6", false),
        err("7"),
        out("8"),
      ],
      ignoreInterrupts: true,
      cron: true,
      command: ["cmd"],
    }),
  );
});

// --- JSON logs and replay (docs/behaviour.md B3, B4) ---

const json = (path: string, append = true): OutputSpec => ({
  kind: "json",
  path,
  stream: "combined",
  append,
});
const logs = (options: Options) => options.outputs.filter((o) => o.kind === "json");

Deno.test("-j and -J: short and long, every value style, repeatable, in order", () => {
  deepStrictEqual(logs(run(["-j", "a", "x"])), [json("a")]);
  deepStrictEqual(logs(run(["-J", "a", "x"])), [json("a", false)]);
  deepStrictEqual(logs(run(["-jfile", "x"])), [json("file")]);
  deepStrictEqual(logs(run(["-j", "-q", "x"])), [json("-q")]);
  deepStrictEqual(logs(run(["--json-overwrite=", "x"])), [json("", false)]);
  deepStrictEqual(
    run(["--json-append", "a", "--json-overwrite=b", "-qJc", "-j", "a", "x"]),
    options({
      outputs: [json("a"), json("b", false), json("c", false), json("a")],
      cron: true,
      command: ["x"],
    }),
  );
  // Every output file in the order given, each with its kind.
  const mixed = run(["-o", "o", "-j", "j", "-c", "c", "-J", "J", "x"]);
  deepStrictEqual(mixed.outputs, [out("o"), json("j"), both("c"), json("J", false)]);
});

Deno.test("-j and -J need a value", () => {
  for (const [short, long] of [["-j", "json-append"], ["-J", "json-overwrite"]]) {
    const expected = usageError(`the required argument for option '--${long}' is missing`);
    deepStrictEqual(parse([short], "dtee"), expected);
    deepStrictEqual(parse([`-i${short[1]}`], "dtee"), expected);
    deepStrictEqual(parse([`--${long}`], "dtee"), expected);
  }
});

const NO_OPTIONS: Options = {
  outputs: [],
  ignoreInterrupts: false,
  init: false,
  lineBuffered: false,
  annotate: false,
  timeFormat: DEFAULT_TIME_FORMAT,
  cron: false,
  failuresOnly: false,
  command: [],
};

Deno.test("--replay FILE: no command; the outputs and flags given with it apply", () => {
  deepStrictEqual(parse(["--replay", "log"], "dtee"), {
    action: "replay",
    options: NO_OPTIONS,
    log: "log",
    realtime: false,
    maxDelayMs: Infinity,
  });
  deepStrictEqual(
    parse(["-q", "--replay=my log", "-c", "all", "-j", "again", "--realtime", "-i"], "dtee"),
    {
      action: "replay",
      options: {
        ...NO_OPTIONS,
        outputs: [both("all"), json("again")],
        ignoreInterrupts: true,
        cron: true,
      },
      log: "my log",
      realtime: true,
      maxDelayMs: Infinity,
    },
  );
  const cronty = parse(["--replay", "log"], "/usr/bin/cronty");
  ok(cronty.action === "replay" && cronty.options.cron);
  // A value is always the next word; `--` with nothing after it is still no command.
  deepStrictEqual(parse(["--replay", "-q"], "dtee"), {
    action: "replay",
    options: NO_OPTIONS,
    log: "-q",
    realtime: false,
    maxDelayMs: Infinity,
  });
  const paced = parse(["--replay", "log", "--realtime", "--max-delay", "0.25"], "dtee");
  ok(paced.action === "replay" && paced.maxDelayMs === 250);
  const dot = parse(["--replay", "log", "--realtime", "--max-delay=.5"], "dtee");
  ok(dot.action === "replay" && dot.maxDelayMs === 500);
  equal(parse(["--replay", "log", "--"], "dtee").action, "replay");
  equal(parse(["--replay=", "--"], "dtee").action, "replay");
});

Deno.test("--replay twice, with a command, or --realtime without it: usage errors", () => {
  const twice = usageError("option '--replay' cannot be specified more than once");
  deepStrictEqual(parse(["--replay", "a", "--replay", "a"], "dtee"), twice);
  deepStrictEqual(parse(["--replay=a", "-q", "--replay", "b", "x"], "dtee"), twice);
  // Found while parsing, so before help, and the first error wins.
  deepStrictEqual(parse(["-h", "--replay", "a", "--replay=b", "-x"], "dtee"), twice);
  const command = usageError("option '--replay' cannot be used with a command");
  deepStrictEqual(parse(["--replay", "log", "ls"], "dtee"), command);
  deepStrictEqual(parse(["--replay", "log", "--", "ls", "-la"], "dtee"), command);
  deepStrictEqual(parse(["--replay", "log", ""], "dtee"), command);
  const realtime = usageError("option '--realtime' requires option '--replay'");
  deepStrictEqual(parse(["--realtime", "ls"], "dtee"), realtime);
  deepStrictEqual(parse(["--realtime"], "dtee"), realtime);
  deepStrictEqual(
    parse(["--replay"], "dtee"),
    usageError("the required argument for option '--replay' is missing"),
  );
  deepStrictEqual(
    parse(["--replay", "log", "--realtime=1"], "dtee"),
    usageError("option '--realtime' does not take any arguments"),
  );
});

Deno.test("--replay: help, version, debug-options and debug-limits come first", () => {
  deepStrictEqual(parse(["-h", "--replay", "log", "ls"], "dtee"), exit(HELP));
  deepStrictEqual(parse(["--realtime", "-V"], "dtee"), exit(VERSION_TEXT));
  deepStrictEqual(parse(["--replay", "log", "--debug-limits", "ls"], "dtee"), {
    action: "limits",
  });
  deepStrictEqual(
    debug(["--replay", "log", "--realtime", "ls"]),
    "-=ls\ndebug-options=1\nrealtime=1\nreplay=log\n",
  );
});

Deno.test("--debug-options: the JSON and replay keys in byte order", () => {
  deepStrictEqual(
    debug(["-J", "J1", "-j", "j1", "--json-append=j2", "--replay", "r", "--realtime", "-o", "o"]),
    "debug-options=1\njson-append=j1\njson-append=j2\njson-overwrite=J1\nout-append=o\n" +
      "realtime=1\nreplay=r\n",
  );
});

// --- flags and groups ---

Deno.test("flags, short and long", () => {
  deepStrictEqual(run(["-i", "x"]).ignoreInterrupts, true);
  deepStrictEqual(run(["--ignore-interrupts", "x"]).ignoreInterrupts, true);
  deepStrictEqual(run(["-q", "x"]).cron, true);
  deepStrictEqual(run(["--cron", "x"]).cron, true);
  deepStrictEqual(run(["x"]).ignoreInterrupts, false);
  deepStrictEqual(run(["x"]).cron, false);
});

Deno.test("a flag given twice is a usage error naming its long form, as boost's bool_switch", () => {
  const twice = (long: string) =>
    usageError(`option '--${long}' cannot be specified more than once`);
  for (
    const [args, long] of [
      [["-q", "-q", "x"], "cron"],
      [["-qq", "x"], "cron"],
      [["-q", "--cron", "x"], "cron"],
      [["-ii", "x"], "ignore-interrupts"],
      [["-i", "-q", "--ignore-interrupts", "x"], "ignore-interrupts"],
      [["--init", "--init", "x"], "init"],
      [["-hh"], "help"],
      [["-V", "--version"], "version"],
      [["--debug-options", "--debug-options"], "debug-options"],
      [["--debug-limits", "--debug-limits"], "debug-limits"],
      [["--replay", "log", "--realtime", "--realtime"], "realtime"],
    ] as const
  ) deepStrictEqual(parse([...args], "dtee"), twice(long), args.join(" "));
  // Found while parsing, so before help; the file lists compose as before.
  deepStrictEqual(parse(["-h", "-q", "-q"], "dtee"), twice("cron"));
  deepStrictEqual(run(["-o", "a", "-o", "b", "-qi", "x"]).outputs, [out("a"), out("b")]);
});

Deno.test("grouped short options", () => {
  deepStrictEqual(
    run(["-qi", "x"]),
    options({ ignoreInterrupts: true, cron: true, command: ["x"] }),
  );
  deepStrictEqual(
    run(["-qo", "file", "x"]),
    options({ outputs: [out("file")], cron: true, command: ["x"] }),
  );
  deepStrictEqual(run(["-qofile", "x"]).outputs, [out("file")]);
  // The value swallows the rest of the group, option letters included.
  deepStrictEqual(run(["-oqi", "x"]), options({ outputs: [out("qi")], command: ["x"] }));
  deepStrictEqual(
    run(["-iqC", "", "x"]),
    options({ outputs: [both("", false)], ignoreInterrupts: true, cron: true, command: ["x"] }),
  );
});

// --- errors ---

Deno.test("unknown long options are reported as given", () => {
  deepStrictEqual(parse(["--bogus"], "dtee"), usageError("unrecognised option '--bogus'"));
  deepStrictEqual(parse(["--bogus=1", "x"], "dtee"), usageError("unrecognised option '--bogus=1'"));
  deepStrictEqual(parse(["---", "y"], "dtee"), usageError("unrecognised option '---'"));
  deepStrictEqual(parse(["--Cron", "y"], "dtee"), usageError("unrecognised option '--Cron'"));
  deepStrictEqual(parse(["--é", "y"], "dtee"), usageError("unrecognised option '--é'"));
});

Deno.test("long names cannot be abbreviated", () => {
  for (const word of ["--cro", "--out", "--out-app", "--ignore", "--help-", "--ver", "--debug"]) {
    deepStrictEqual(parse([word, "x"], "dtee"), usageError(`unrecognised option '${word}'`));
  }
  deepStrictEqual(parse(["--out=f", "x"], "dtee"), usageError("unrecognised option '--out=f'"));
});

Deno.test("unknown short options, alone and in a group, report the bad character", () => {
  deepStrictEqual(parse(["-x"], "dtee"), usageError("unrecognised option '-x'"));
  deepStrictEqual(parse(["-qx", "ls"], "dtee"), usageError("unrecognised option '-x'"));
  deepStrictEqual(parse(["-iqxo", "f", "ls"], "dtee"), usageError("unrecognised option '-x'"));
  deepStrictEqual(parse(["-=", "ls"], "dtee"), usageError("unrecognised option '-='"));
  deepStrictEqual(parse(["-qé", "ls"], "dtee"), usageError("unrecognised option '-é'"));
  deepStrictEqual(parse(["-😀", "ls"], "dtee"), usageError("unrecognised option '-😀'"));
  // --debug-options has no short form.
  deepStrictEqual(parse(["-d", "ls"], "dtee"), usageError("unrecognised option '-d'"));
});

Deno.test("missing values name the long option whichever form was used", () => {
  const cases: [string, string][] = [
    ["-o", "out-append"],
    ["-O", "out-overwrite"],
    ["-e", "err-append"],
    ["-E", "err-overwrite"],
    ["-c", "combined-append"],
    ["-C", "combined-overwrite"],
  ];
  for (const [short, long] of cases) {
    const expected = usageError(`the required argument for option '--${long}' is missing`);
    deepStrictEqual(parse([short], "dtee"), expected);
    deepStrictEqual(parse([`-qi${short[1]}`], "dtee"), expected);
    deepStrictEqual(parse([`--${long}`], "dtee"), expected);
    deepStrictEqual(parse(["-o", "f", "-i", `--${long}`], "dtee"), expected);
  }
});

Deno.test("a flag given a value is an error", () => {
  for (const long of ["cron", "ignore-interrupts", "help", "version", "debug-options"]) {
    const expected = usageError(`option '--${long}' does not take any arguments`);
    deepStrictEqual(parse([`--${long}=1`, "x"], "dtee"), expected);
    deepStrictEqual(parse([`--${long}=`, "x"], "dtee"), expected);
  }
});

Deno.test("error messages use NAME as given, then the Try line; status 64", async () => {
  for (
    const [launcher, args, message] of [
      [CRONTY, ["-x"], "unrecognised option '-x'"],
      [DTEE, ["-o"], "the required argument for option '--out-append' is missing"],
    ] as const
  ) {
    const r = await runProcess(launcher, [...args]);
    deepStrictEqual({ code: r.code, out: r.out, err: r.err }, {
      code: EX_USAGE,
      out: "",
      err: `${launcher}: ${message}\nTry '${launcher} -h' for more information.\n`,
    });
  }
});

Deno.test("the first error wins and nothing after it is looked at", () => {
  deepStrictEqual(parse(["-x", "--bogus"], "dtee"), usageError("unrecognised option '-x'"));
  deepStrictEqual(parse(["--bogus", "-x"], "dtee"), usageError("unrecognised option '--bogus'"));
  deepStrictEqual(
    parse(["--cron=1", "-o"], "dtee"),
    usageError("option '--cron' does not take any arguments"),
  );
});

// --- precedence ---

Deno.test("--help prints the usage on stdout and exits 0", () => {
  deepStrictEqual(parse(["--help"], "dtee"), exit(HELP));
  deepStrictEqual(parse(["-h"], "dtee"), exit(HELP));
  deepStrictEqual(parse(["-h", "ls"], "dtee"), exit(HELP));
  deepStrictEqual(parse(["-qh", "-o", "f"], "dtee"), exit(HELP));
  deepStrictEqual(parse(["ls", "--help"], "dtee").action, "run");
});

Deno.test("--version prints the version on stdout and exits 0", () => {
  deepStrictEqual(parse(["--version"], "dtee"), exit(VERSION_TEXT));
  deepStrictEqual(parse(["-V", "ls"], "dtee"), exit(VERSION_TEXT));
  // Always "dtee", whatever the name.
  deepStrictEqual(parse(["-V"], "/usr/bin/cronty"), exit(VERSION_TEXT));
  deepStrictEqual(versionText(), VERSION_TEXT);
  deepStrictEqual(VERSION, "0.1.0");
});

Deno.test("precedence: help, version, debug-options, missing command", () => {
  const all = ["--debug-options", "-V", "-h"];
  deepStrictEqual(parse(all, "dtee"), exit(HELP));
  deepStrictEqual(parse(["-V", "--help"], "dtee"), exit(HELP));
  deepStrictEqual(parse(["--debug-options", "-V"], "dtee"), exit(VERSION_TEXT));
  deepStrictEqual(parse(["--debug-options"], "dtee"), exit("debug-options=1\n"));
  deepStrictEqual(parse([], "dtee"), NO_COMMAND);
  deepStrictEqual(parse(["-q", "-o", "f"], "dtee"), NO_COMMAND);
});

Deno.test("hidden --debug-limits comes after debug-options and before the missing command", () => {
  deepStrictEqual(parse(["--debug-limits"], "dtee"), { action: "limits" });
  deepStrictEqual(parse(["--debug-limits", "-q", "true"], "dtee"), { action: "limits" });
  equal(parse(["--debug-limits", "--debug-options"], "dtee").action, "exit");
  equal(parse(["--debug-limits=1"], "dtee").action, "usage");
});

Deno.test("grammar errors come before help, version and debug-options", () => {
  for (const flag of ["-h", "-V", "--debug-options"]) {
    deepStrictEqual(parse([flag, "-x"], "dtee"), usageError("unrecognised option '-x'"));
    deepStrictEqual(parse(["--bogus", flag], "dtee"), usageError("unrecognised option '--bogus'"));
    deepStrictEqual(
      parse([flag, "-o"], "dtee"),
      usageError("the required argument for option '--out-append' is missing"),
    );
    deepStrictEqual(
      parse([flag, "--cron=yes"], "dtee"),
      usageError("option '--cron' does not take any arguments"),
    );
  }
});

Deno.test("missing command: usage on stdout, stderr empty, exit 64", async () => {
  deepStrictEqual(parse([], "./dtee"), NO_COMMAND);
  const r = await runProcess(DTEE, []);
  const help = HELP.replaceAll(" dtee [OPTION]", ` ${DTEE} [OPTION]`);
  deepStrictEqual({ code: r.code, out: r.out, err: r.err }, { code: 64, out: help, err: "" });
  deepStrictEqual(EX_USAGE, 64);
});

// --- cron from the name ---

Deno.test("cron mode comes from the name cronty, in any directory", () => {
  for (const name of ["cronty", "/usr/bin/cronty", "./cronty", "cronty/", "a/b//cronty"]) {
    ok(isCronName(name), name);
    deepStrictEqual(run(["ls"], name).cron, true);
  }
  for (const name of ["dtee", "/usr/bin/dtee", "cronty.sh", "xcronty", "cronty/x", "Cronty", ""]) {
    ok(!isCronName(name), name);
    deepStrictEqual(run(["ls"], name).cron, false);
  }
});

Deno.test("help as cronty uses the cron description and hides -q", () => {
  deepStrictEqual(parse(["--help"], "/usr/bin/cronty"), exit(CRONTY_HELP));
  deepStrictEqual(parse([], "/usr/bin/cronty"), NO_COMMAND);
  const help = helpText("./cronty");
  ok(help.startsWith(
    "Usage: ./cronty [OPTION]... COMMAND [ARG]...\n  or:  ./cronty [OPTION]... --replay FILE\n\n",
  ));
  ok(!help.includes("--cron"));
  ok(!help.includes("-q"));
  // -q is only hidden, not removed.
  deepStrictEqual(run(["-q", "ls"], "cronty").cron, true);
  deepStrictEqual(run(["--cron", "ls"], "cronty").cron, true);
});

Deno.test("help as dtee shows -q even when -q is given", () => {
  deepStrictEqual(parse(["-q", "-h"], "dtee"), exit(HELP));
  ok(helpText("/opt/dtee").includes("-q [ --cron ]"));
});

Deno.test("help lines fit in 80 columns and the description column is aligned", () => {
  for (const text of [HELP, CRONTY_HELP]) {
    for (const line of text.split("\n")) {
      ok(line.length <= 80, line);
      ok(!line.endsWith(" "), `trailing space: ${JSON.stringify(line)}`);
      if (line.startsWith("  -")) {
        match(line, /^ {2}(-. \[ --[a-z-]+ \]|--[a-z-]+)( FILE| FORMAT| DURATION| SECONDS)? +\S/);
      }
    }
    for (const line of text.split("\n").filter((l) => l.startsWith("  -"))) {
      match(
        line.slice(0, 36),
        /^ {2}(-. \[ --[a-z-]+ \]|--[a-z-]+)( FILE| FORMAT| DURATION| SECONDS)? +$/,
      );
      match(line.slice(36), /^[a-z]/);
    }
    const continuations = text.split("\n").filter((l) => /^ {4}/.test(l));
    ok(continuations.every((l) => /^ {36}\S/.test(l)));
  }
});

// --- --debug-options ---

Deno.test("--debug-options: one line per option, keys in byte order, - first", () => {
  deepStrictEqual(
    debug([
      "-qi",
      "-o",
      "o1",
      "--out-append=o2",
      "-O",
      "O1",
      "-e",
      "e1",
      "-E",
      "E1",
      "-C",
      "C1",
      "-c",
      "c1",
      "-c",
      "c2",
      "--",
      "ls",
      "-la",
      "--",
      "",
    ]),
    [
      "-=ls",
      "-=-la",
      "-=--",
      "-=",
      "combined-append=c1",
      "combined-append=c2",
      "combined-overwrite=C1",
      "cron=1",
      "debug-options=1",
      "err-append=e1",
      "err-overwrite=E1",
      "ignore-interrupts=1",
      "out-append=o1",
      "out-append=o2",
      "out-overwrite=O1",
      "",
    ].join("\n"),
  );
});

Deno.test("--debug-options leaves out options not given", () => {
  deepStrictEqual(debug([]), "debug-options=1\n");
  deepStrictEqual(debug(["ls"]), "-=ls\ndebug-options=1\n");
  deepStrictEqual(
    debug(["-e", "x", "y"]),
    "-=y\ndebug-options=1\nerr-append=x\n",
  );
  deepStrictEqual(debug(["-o", ""]), "debug-options=1\nout-append=\n");
});

Deno.test("--debug-options: cron=1 only when -q is given, not from the name", () => {
  deepStrictEqual(debug(["ls"], "cronty"), "-=ls\ndebug-options=1\n");
  deepStrictEqual(debug(["-q", "ls"], "cronty"), "-=ls\ncron=1\ndebug-options=1\n");
  deepStrictEqual(debug(["--cron"]), "cron=1\ndebug-options=1\n");
});

Deno.test("--debug-options anywhere among the options, and as part of the options only", () => {
  deepStrictEqual(
    parse(["-i", "--debug-options", "x"], "dtee"),
    exit("-=x\ndebug-options=1\nignore-interrupts=1\n"),
  );
  deepStrictEqual(run(["x", "--debug-options"]).command, ["x", "--debug-options"]);
});

// --- programName ---

Deno.test("programName: argv0 as given, except under the deno CLI", () => {
  deepStrictEqual(programName("dtee", "dtee"), "dtee");
  deepStrictEqual(programName("./dtee", "dtee"), "./dtee");
  deepStrictEqual(programName("/usr/local/bin/cronty", "dtee"), "/usr/local/bin/cronty");
  deepStrictEqual(programName("deno", "dtee"), "dtee");
  deepStrictEqual(programName("deno", "cronty"), "cronty");
  deepStrictEqual(programName("/work/main/.deno/bin/deno", "cronty"), "cronty");
  deepStrictEqual(programName("../bin/deno", "dtee"), "dtee");
  deepStrictEqual(programName("denox", "dtee"), "denox");
  deepStrictEqual(programName("deno/x", "dtee"), "deno/x");
  deepStrictEqual(programName("", "cronty"), "cronty");
});

// --- property test ---

const WORDS = [
  "-o",
  "-O",
  "-e",
  "-E",
  "-c",
  "-C",
  "-i",
  "-q",
  "-h",
  "-V",
  "-x",
  "-",
  "--",
  "",
  "-qi",
  "-qo",
  "-ofile",
  "-iqE",
  "-qx",
  "--out-append",
  "--out-overwrite",
  "--err-append",
  "--err-overwrite",
  "--combined-append",
  "--combined-overwrite",
  "--out-append=f",
  "--combined-overwrite=",
  "-j",
  "-J",
  "-qjlog",
  "--json-append",
  "--json-overwrite=f",
  "--replay",
  "--replay=log",
  "--realtime",
  "--realtime=1",
  "--max-delay",
  "--max-delay=2.5",
  "--ignore-interrupts",
  "--cron",
  "--cron=1",
  "--help",
  "--version",
  "--debug-options",
  "--debug-options=",
  "--bogus",
  "--bogus=1",
  "--out",
  "ls",
  "file",
  "é",
  "-é",
  "--é",
  "😀",
  "-😀",
  "\uD800",
  "-\uDC00q",
  "a\nb",
  "-o\n",
  "=",
  "--=",
];

function randomWord(rand: () => number): string {
  const r = rand();
  if (r < 0.8) return WORDS[Math.floor(rand() * WORDS.length)];
  if (r < 0.9) {
    const prefix = ["", "-", "--"][Math.floor(rand() * 3)];
    const n = Math.floor(rand() * 8);
    let s = prefix;
    for (let i = 0; i < n; i++) s += String.fromCodePoint(Math.floor(rand() * 0x1_0000));
    return s;
  }
  if (r < 0.95) return "-" + "qi".repeat(Math.floor(rand() * 5000));
  return (rand() < 0.5 ? "--out-append=" : "") + "x".repeat(Math.floor(rand() * 100_000));
}

/** The long name of the option that gives `spec` (its row in the option table). */
function longOf(spec: OutputSpec): string {
  const { kind, stream, append } = spec;
  return OPTIONS.find(({ output: o }) =>
    o?.kind === kind && o.stream === stream && o.append === append
  )!.long;
}

/** Canonical argv for options, to check that parsing what we understood gives it back. */
function unparse(r: ParseResult & { options: Options }, cronFromName: boolean): string[] {
  const o = r.options;
  const args = o.outputs.map((s) => `--${longOf(s)}=${s.path}`);
  if (r.action === "replay") args.push(`--replay=${r.log}`, ...(r.realtime ? ["--realtime"] : []));
  if (o.ignoreInterrupts) args.push("-i");
  if (o.init) args.push("--init");
  if (r.action === "replay" && r.maxDelayMs !== Infinity) {
    args.push(`--max-delay=${r.maxDelayMs / 1000}`);
  }
  if (o.cron && !cronFromName) args.push("-q");
  return [...args, "--", ...o.command];
}

Deno.test("property: random argument vectors never throw and give only documented results", () => {
  const rand = prng(0xd7ee);
  const names = ["dtee", "./cronty", "/usr/bin/dtee", "x y", "é"];
  const seen = new Set<string>();
  for (let n = 0; n < 5000; n++) {
    const name = names[n % names.length];
    const args: string[] = [];
    const length = Math.floor(rand() * 8);
    for (let i = 0; i < length; i++) args.push(randomWord(rand));

    const r = parse(args, name);
    const forms = new RegExp(
      `^(unrecognised option '-[^]*'` +
        `|the required argument for option '--[a-z-]+' is missing` +
        `|option '--[a-z-]+' does not take any arguments` +
        `|the argument for option should follow immediately after the equal sign` +
        `|option '--[a-z-]+' cannot be specified more than once` +
        `|option '--replay' cannot be used with a command` +
        `|option '--realtime' requires option '--replay'` +
        `|option '--max-delay' requires option '--realtime'` +
        `|the argument \\('[^]*'\\) for option '--max-delay' is invalid)$`,
    );

    if (r.action === "run" || r.action === "replay") {
      seen.add(r.action);
      equal(r.options.command.length > 0, r.action === "run");
      deepStrictEqual(typeof r.options.cron, "boolean");
      deepStrictEqual(parse(unparse(r, isCronName(name)), name), r);
      continue;
    }
    if (r.action === "limits") continue;
    if (r.action === "exit") {
      seen.add("0");
      ok(
        r.stdout === helpText(name) || r.stdout === versionText() ||
          /^(?:(?:-|[a-z-]+)=[^]*\n)*$/.test(r.stdout) && r.stdout.includes("debug-options=1\n"),
      );
    } else if (r.message === undefined) {
      seen.add("usage");
    } else {
      seen.add("error");
      match(r.message, forms);
    }
  }
  // The generator must reach every kind of result, or the test proves little.
  deepStrictEqual([...seen].sort(), ["0", "error", "replay", "run", "usage"]);
});

Deno.test("property: --debug-options agrees with the parsed options", () => {
  const rand = prng(42);
  let checked = 0;
  for (let n = 0; n < 3000; n++) {
    const args: string[] = [];
    const length = Math.floor(rand() * 10);
    for (let i = 0; i < length; i++) args.push(randomWord(rand));
    const r = parse(args, "dtee");
    if (r.action !== "run" && r.action !== "replay") continue;
    const d = parse(["--debug-options", ...args], "dtee");
    if (d.action !== "exit") throw new Error("debug-options must exit 0");
    const lines = [
      ...r.options.command.map((w) => ["-", w]),
      ...r.options.outputs.map((s) => [longOf(s), s.path]),
      ...(r.options.cron ? [["cron", "1"]] : []),
      ["debug-options", "1"],
      ...(r.options.ignoreInterrupts ? [["ignore-interrupts", "1"]] : []),
      ...(r.options.init ? [["init", "1"]] : []),
      ...(r.action === "replay" && r.maxDelayMs !== Infinity
        ? [["max-delay", String(r.maxDelayMs / 1000)]]
        : []),
      ...(r.action === "replay" && r.realtime ? [["realtime", "1"]] : []),
      ...(r.action === "replay" ? [["replay", r.log]] : []),
    ];
    // A stable sort on the key alone keeps the values of one key in command-line order.
    lines.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    equal(d.stdout, lines.map(([k, v]) => `${k}=${v}\n`).join(""));
    checked++;
  }
  ok(checked > 300, String(checked));
});

// --- bad command lines, end to end through the launcher ---

const OPTION_WORDS = [
  ..."oOeEcCiqhV".split("").map((c) => `-${c}`),
  ...[
    "out-append",
    "out-overwrite",
    "err-append",
    "err-overwrite",
    "combined-append",
    "combined-overwrite",
    "ignore-interrupts",
    "cron",
    "help",
    "version",
    "debug-options",
    "debug-limits",
  ].map((l) => `--${l}`),
  "--",
  "-",
  "---",
  "-x",
  "-qi",
  "-iq",
  "-io",
  "-qo",
  "-Z",
  "--bogus",
  "--out",
  "--cron=1",
  "--help=",
  "--out-append=",
  "--combined-append=f",
];
/** No `.` (no `..`), `/` only inside words: nothing outside the run's directory. */
const ALPHABET = "abcdefghijklmnopqrstuvwxyzABCXYZ0123456789-_=+ ,:'\"é日本🙂\u00a0\t";
const COMMANDS = ["true", "false", "echo"];

function argVector(next: () => number): string[] {
  const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)];
  const word = (): string => {
    const kind = next();
    if (kind < 0.1) return "";
    const len = kind < 0.15 ? 1000 + Math.floor(next() * 4000) : 1 + Math.floor(next() * 12);
    let w = "";
    for (let i = 0; i < len; i++) w += pick([...ALPHABET]);
    if (kind > 0.9) w = `${w}/${w}`;
    return w;
  };
  const args: string[] = [];
  const n = Math.floor(next() * 7);
  for (let i = 0; i < n; i++) {
    const r = next();
    if (r < 0.45) args.push(pick(OPTION_WORDS));
    else if (r < 0.55) {
      args.push(`${pick(OPTION_WORDS.filter((o) => o.startsWith("--")))}=${word()}`);
    } else if (r < 0.65) args.push(`-${pick([..."oOeEcC"])}${word()}`);
    else if (r < 0.8) args.push(pick(COMMANDS));
    else args.push(word());
  }
  if (next() < 0.6) {
    args.push(pick(COMMANDS), ...Array.from({ length: Math.floor(next() * 3) }, word));
  }
  return args;
}

const STRERROR = /^[A-Z][A-Za-z ,/'-]*[a-z]$/;

/** Whether `line` is one of dtee's documented messages (docs/behaviour.md A2, A4, A6) for `name`. */
function documented(line: string, name: string): boolean {
  const prefix = `${name}: `;
  if (line === `Try '${name} -h' for more information.`) return true;
  if (!line.startsWith(prefix)) return false;
  const rest = line.slice(prefix.length);
  if (/^unrecognised option '.*'$/s.test(rest)) return true;
  if (/^the required argument for option '--[a-z-]+' is missing$/.test(rest)) return true;
  // `--flag=value` for an option without a value (getopt's third complaint).
  if (/^option '--[a-z-]+' does not take any arguments$/.test(rest)) return true;
  // A bare `--=` (boost's form for a command word), and --replay's rules.
  if (rest === "the argument for option should follow immediately after the equal sign") {
    return true;
  }
  if (/^option '--re(play|altime)' (cannot|requires) [^\n]*$/.test(rest)) return true;
  if (/^option '--[a-z-]+' cannot be specified more than once$/.test(rest)) return true;
  if (rest === "option '--max-delay' requires option '--realtime'") return true;
  if (/^the argument \('.*'\) for option '--max-delay' is invalid$/s.test(rest)) return true;
  if (/^.*: exited with status \d+$/s.test(rest)) return true;
  const text = rest.slice(rest.lastIndexOf(": ") + 2);
  return rest.includes(": ") && STRERROR.test(text) && !text.includes("os error");
}

Deno.test("random command lines through the real launcher: no crash, documented statuses and messages", async () => {
  const seed = Number(Deno.env.get("DTEE_FUZZ_SEED") ?? Date.now() % 1_000_000);
  const count = Number(Deno.env.get("DTEE_FUZZ_COUNT") ?? 1000);
  const next = prng(seed);
  const vectors = Array.from({ length: count }, () => argVector(next));
  await withTempDir(async (dir) => {
    // Only harmless programs can be found: a random word never runs anything.
    const bin = `${dir}/bin`;
    Deno.mkdirSync(bin);
    const which = await runProcess("sh", [
      "-c",
      "for c in bash readlink true false echo; do for d in /usr/local/bin /usr/bin /bin; do " +
      '[ -x "$d/$c" ] && { echo "$d/$c"; break; }; done; done',
    ]);
    for (const path of which.out.trim().split("\n")) {
      Deno.symlinkSync(path, `${bin}/${path.slice(path.lastIndexOf("/") + 1)}`);
    }
    Deno.symlinkSync(Deno.execPath(), `${bin}/deno`);
    const cwd = `${dir}/cwd`;
    Deno.mkdirSync(cwd);
    let index = 0;
    const worker = async () => {
      while (index < vectors.length) {
        const i = index++;
        const args = vectors[i];
        const launcher = i % 5 === 0 ? CRONTY : DTEE;
        const r = await runProcess(launcher, args, { cwd, env: { PATH: bin, TMPDIR: dir } });
        const what = `seed ${seed} #${i}: ${launcher} ${JSON.stringify(args).slice(0, 300)}`;
        equal(r.signal, null, `${what}: killed by ${r.signal}`);
        ok([0, 1, 64, 66, 73].includes(r.code), `${what}: exit ${r.code}: ${r.err.slice(0, 500)}`);
        ok(!/error:|Uncaught|\n\s+at /.test(r.err), `${what}: runtime error: ${r.err}`);
        for (const line of r.err.split("\n").slice(0, -1)) {
          ok(documented(line, launcher), `${what}: undocumented message ${JSON.stringify(line)}`);
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  });
});

Deno.test("-L and --line-buffered, alone or grouped; refused with --replay", () => {
  for (const args of [["-L", "x"], ["--line-buffered", "x"], ["-qL", "x"]]) {
    deepStrictEqual(run(args).lineBuffered, true);
  }
  deepStrictEqual(
    run(["-Li", "x"]),
    options({ lineBuffered: true, ignoreInterrupts: true, command: ["x"] }),
  );
  deepStrictEqual(
    parse(["-L", "--replay", "log"], "dtee"),
    usageError("option '--replay' cannot be used with option '--line-buffered'"),
  );
  deepStrictEqual(
    parse(["-LL", "x"], "dtee"),
    usageError("option '--line-buffered' cannot be specified more than once"),
  );
  deepStrictEqual(
    parse(["--debug-options", "-L", "x"], "dtee"),
    exit("-=x\ndebug-options=1\nline-buffered=1\n"),
  );
});

// --- annotated text (docs/behaviour.md B6) ---

const annotated = (path: string, append = true): OutputSpec => ({
  kind: "annotated",
  path,
  stream: "combined",
  append,
});

Deno.test("-a, -A, --annotate and --time-format", () => {
  deepStrictEqual(
    run(["-a", "x", "-Ay", "--annotated-append=z", "--annotate", "--time-format", "%T", "cmd"]),
    options({
      outputs: [annotated("x"), annotated("y", false), annotated("z")],
      annotate: true,
      timeFormat: "%T",
      command: ["cmd"],
    }),
  );
  // Every output file in the order given, each with its kind.
  deepStrictEqual(run(["-o", "o", "-A", "A", "-j", "j", "x"]).outputs, [
    out("o"),
    annotated("A", false),
    json("j"),
  ]);
  equal(
    debug(["-a", "f", "--annotate", "--time-format=%s", "x"]),
    "-=x\nannotate=1\nannotated-append=f\ndebug-options=1\ntime-format=%s\n",
  );
  deepStrictEqual(
    parse(["-A"], "dtee"),
    usageError("the required argument for option '--annotated-overwrite' is missing"),
  );
  deepStrictEqual(
    parse(["--time-format"], "dtee"),
    usageError("the required argument for option '--time-format' is missing"),
  );
});

Deno.test("a bad --time-format, twice, or without anything annotated is a usage error", () => {
  deepStrictEqual(
    parse(["--annotate", "--time-format=%H:%Q", "x"], "dtee"),
    usageError(
      "the argument ('%H:%Q') for option '--time-format' is invalid: unknown conversion '%Q'",
    ),
  );
  deepStrictEqual(
    parse(["-a", "f", "--time-format=%T", "--time-format=%T", "x"], "dtee"),
    usageError("option '--time-format' cannot be specified more than once"),
  );
  deepStrictEqual(
    parse(["--annotate", "--annotate", "x"], "dtee"),
    usageError("option '--annotate' cannot be specified more than once"),
  );
  deepStrictEqual(
    parse(["--time-format=%T", "-c", "f", "x"], "dtee"),
    usageError(
      "option '--time-format' requires option '--annotate' or an annotated output (-a, -A)",
    ),
  );
  // With a replay too: the annotated output is what the log is rendered into.
  deepStrictEqual(parse(["--replay", "log", "-A", "f", "--time-format=%s"], "dtee"), {
    action: "replay",
    options: { ...NO_OPTIONS, outputs: [annotated("f", false)], timeFormat: "%s" },
    log: "log",
    realtime: false,
    maxDelayMs: Infinity,
  });
});
