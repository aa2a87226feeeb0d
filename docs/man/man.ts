/**
 * The man pages dtee.1 and cronty.1 (roff, man(7) macros). The OPTIONS section is generated from
 * the option table that `--help` is rendered from (lib/cli.ts), so the two cannot drift; the rest
 * follows docs/behaviour.md and the README. The checked-in pages beside this file are its output
 * (tests/install_test.ts compares them), and `deno task dist` writes them into the layout.
 *
 *   deno run --allow-write=docs/man docs/man/man.ts     regenerate docs/man/dtee.1 and cronty.1
 */
import { type Group, type OptionDef, OPTIONS, VERSION } from "../../lib/cli.ts";

export type Page = "dtee" | "cronty";
export const PAGES: readonly Page[] = ["dtee", "cronty"];

/** Bumped by hand with the text; a generated date would make every build differ. */
const DATE = "2026-12-01";

/** Text as roff: backslashes and hyphens escaped, no line taken for a request. */
function esc(text: string): string {
  return text.replace(/\\/g, "\\e").replace(/-/g, "\\-").replace(/^([.'])/gm, "\\&$1");
}

/** The options as `--help` shows them to `page`: hidden ones left out, -q too for cronty. */
export function visibleOptions(page: Page): OptionDef[] {
  return OPTIONS.filter((d) => d.group && !(page === "cronty" && d.hiddenInCron));
}

function optionItem(d: OptionDef): string {
  const names = [d.short ? `\\fB\\-${d.short}\\fR` : "", `\\fB${esc(`--${d.long}`)}\\fR`]
    .filter((n) => n !== "")
    .join(", ");
  const help = d.help ?? "";
  return `.TP\n${names}${d.file ? ` \\fI${d.arg ?? "FILE"}\\fR` : ""}\n${
    esc(help[0].toUpperCase() + help.slice(1))
  }.\n`;
}

/** What each group of the table means beyond its lines, in the table's order of groups. */
const groupNotes = (page: Page): Record<Group, string> => ({
  "Output files": "Each of these may be given any number of times, also for the same FILE. " +
    "FILE is created when missing, with mode 0666 less the umask; the append options open it " +
    "with O_APPEND, the replace options truncate it first. " +
    "All are opened before COMMAND starts, in this order: every \\fB\\-O\\fR, then " +
    "\\fB\\-E\\fR, \\fB\\-C\\fR, \\fB\\-o\\fR, \\fB\\-e\\fR, \\fB\\-c\\fR, " +
    "\\fB\\-J\\fR, \\fB\\-j\\fR, \\fB\\-A\\fR, \\fB\\-a\\fR, each in the order given. " +
    (page === "dtee"
      ? "If one cannot be opened, \\fBdtee\\fR says so and exits with status 73 without " +
        "running COMMAND (in cron mode it runs COMMAND all the same).\n"
      : "If one cannot be opened, \\fBcronty\\fR says so, runs COMMAND all the same and exits " +
        "with status 73.\n"),
  "Options": "",
  "Replay": "A JSON log (\\fB\\-j\\fR, \\fB\\-J\\fR) is one JSON object per line, in " +
    "UTF\\-8. A run is a start record, one message record per write of the command, in the " +
    "order written, a diagnostic record for each message dtee itself printed, and a final " +
    "record; \\fB\\-j\\fR appends run after run. Every record has \\fBrun\\fR, the run's " +
    "id, so that runs appended at the same time by overlapping dtee processes come apart " +
    "again.\n" +
    'The start record has \\fBtype\\fR \\fB"start"\\fR, \\fBtime\\fR, \\fBpid\\fR (dtee\'s) ' +
    'and \\fBcommand\\fR (the words); the final record has \\fBtype\\fR \\fB"end"\\fR and ' +
    "\\fBtime\\fR. A message record is one write of the command:\n" +
    ".RS\n.nf\n" +
    esc('{"log":"hi\\n","stream":"stdout","time":"2026-12-01T17:24:23.123456789Z"}') +
    "\n.fi\n.RE\n.PP\n" +
    "Its keys are those of Docker's json\\-file log driver: \\fBlog\\fR, the " +
    'bytes written as text (\\fB""\\fR for a zero\\-length write), \\fBstream\\fR, and ' +
    "\\fBtime\\fR, when the kernel queued the write (UTC, nanoseconds). Bytes that are not " +
    "valid UTF\\-8 are U+FFFD in \\fBlog\\fR and kept exactly, in base64, in " +
    "\\fBlog_base64\\fR; \\fBcommand_base64\\fR does the same for the command words. The " +
    "final record has \\fBexit_code\\fR, or \\fBsignal\\fR with \\fBsignal_name\\fR and " +
    "\\fBcore_dumped\\fR, or \\fBdtee_signal\\fR (dtee itself was stopped by that signal); " +
    "a run whose dtee was killed outright has none. Readers should ignore keys they do not " +
    "know. The full description is installed as " +
    "\\fIPREFIX\\fR/share/doc/dtee/jsonlog.md (see \\fBFILES\\fR).\n.PP\n" +
    "\\fB\\-\\-replay\\fR delivers each run's messages in turn, each whole, in the order " +
    "the runs started, through the same outputs as a live run, dtee's recorded messages " +
    "included, and exits with the recorded status (of a log with several runs, the last " +
    "one's); a damaged record is passed over, reported as \\fBNAME: FILE:LINE: ...\\fR, " +
    "and the replay then ends with status 65; a log that cannot be read is status 66; the log " +
    "given as one of the replay's own outputs, under any name, is refused with status 64 " +
    "before any output is opened.\n",
  "Miscellaneous": "",
});

/** The OPTIONS section: every option `--help` lists, grouped as there. */
function optionsSection(page: Page): string {
  const options = visibleOptions(page);
  const groups = [...new Set(options.map((d) => d.group!))];
  const notes = groupNotes(page);
  return ".SH OPTIONS\n" +
    "Options come first: the first word that is not an option, or the word after " +
    "\\fB\\-\\-\\fR, is COMMAND, and every later word is the command's. " +
    "Short options may be grouped (\\fB\\-qi\\fR) and take their value attached or as the " +
    "next word (\\fB\\-ofile\\fR, \\fB\\-o file\\fR); long options take " +
    "\\fB\\-\\-name=value\\fR or \\fB\\-\\-name value\\fR and must be given in full. " +
    "A value is always the next word, even when it is empty or starts with \\fB\\-\\fR. " +
    "A lone \\fB\\-\\fR is the command word.\n" +
    groups.map((group) =>
      `.SS ${group}\n${notes[group]}` +
      options.filter((d) => d.group === group).map(optionItem).join("")
    ).join("");
}

function header(page: Page): string {
  const what = page === "dtee"
    ? "run a command with its output copied to files, in the order it was written"
    : "run a cron job quietly, reporting everything when it fails";
  return `.\\" Generated by docs/man/man.ts from lib/cli.ts; do not edit.\n` +
    `.TH ${page.toUpperCase()} 1 ${DATE} "dtee ${VERSION}" "User Commands"\n` +
    `.SH NAME\n${page} \\- ${esc(what)}\n` +
    `.SH SYNOPSIS\n.B ${page}\n[\\fIOPTION\\fR]... \\fICOMMAND\\fR [\\fIARG\\fR]...\n.br\n` +
    `.B ${page}\n[\\fIOPTION\\fR]... \\fB\\-\\-replay\\fR \\fIFILE\\fR\n`;
}

function description(page: Page): string {
  const common = "Every \\fBwrite\\fR(2) of the command is one datagram on one kernel queue, " +
    "so both streams keep their exact interleaved order in every destination, " +
    "also when several outputs lead to the same file. " +
    "\\fBdtee\\fR itself buffers nothing: a message goes out as soon as it is received. " +
    "When the command's programs write is theirs to decide: see " +
    "\\fBWHY IS MY OUTPUT OUT OF ORDER?\\fR below.\n";
  if (page === "dtee") {
    return ".SH DESCRIPTION\n" +
      "\\fBdtee\\fR runs COMMAND with its standard output and standard error copied to each " +
      "FILE given with the options below, while both still reach \\fBdtee\\fR's own standard " +
      "output and standard error as usual.\n" +
      `.PP\n${common}` +
      ".PP\nStarted under the name \\fBcronty\\fR (a symbolic link), or with \\fB\\-q\\fR, " +
      "it runs in cron mode; see \\fBCRON MODE\\fR and \\fBcronty\\fR(1).\n";
  }
  return ".SH DESCRIPTION\n" +
    "\\fBcronty\\fR is \\fBdtee\\fR in cron mode (\\fBdtee \\-q\\fR): it runs COMMAND with " +
    "its standard output and standard error copied to each FILE, and prints nothing at all " +
    "when the command succeeds quietly. When the command writes to standard error or exits " +
    "with a non\\-zero status, everything it wrote is printed, in order, followed by one " +
    "line on standard error saying how it ended; cron mails that to the job's owner.\n" +
    `.PP\n${common}`;
}

function cronSection(page: Page): string {
  const name = page === "cronty" ? "cronty" : "dtee \\-q";
  return ".SH CRON MODE\n" +
    `In cron mode (\\fB${name}\\fR), standard output messages are held in a temporary file ` +
    "(created in \\fB$TMPDIR\\fR, unlinked at once) instead of being written out. " +
    "The first standard error message switches to reporting: the held output is written " +
    "first, then that message, and from then on everything passes through as usual. " +
    "Output files always receive everything as it happens.\n" +
    ".PP\nWhen the command ends with status 0 and wrote nothing to standard error, nothing " +
    "is printed. Otherwise the held output is written out, then one line on standard error:\n" +
    ".RS\n.nf\nNAME: COMMAND: exited with status N\n" +
    "NAME: COMMAND: process terminated by signal N: DESCRIPTION\n.fi\n.RE\n" +
    ".PP\nwith \\fB(core dumped)\\fR appended when it dumped core, and after " +
    "\\fBNAME: COMMAND: timed out after DURATION\\fR when its time limit passed (see " +
    "\\fBTIME LIMITS\\fR). With \\fB\\-\\-failures\\-only\\fR, standard error output " +
    "alone does not report: both streams are held, in order, and written out (each to its " +
    "own descriptor) with the report only when the command fails: a non\\-zero exit, a " +
    "signal, a time\\-out, or an error of dtee's own. " +
    `If \\fB${page}\\fR itself receives SIGHUP, SIGINT (unless \\fB\\-i\\fR), SIGTERM or ` +
    "SIGPIPE, it writes out the held output, prints " +
    "\\fBNAME: received signal N: DESCRIPTION\\fR and dies by that signal.\n" +
    ".PP\nSetup failures never stop a cron job from running: when an output file or the " +
    "buffer file cannot be opened, the error is printed and the command runs unbuffered " +
    "(status 73 at the end); when the sockets cannot be set up, the error is printed and " +
    `\\fB${page}\\fR replaces itself with the command, which then writes straight to the ` +
    "original outputs.\n";
}

/** README, "Why is my output out of order?", for both pages. */
function orderSection(page: Page): string {
  return '.SH "WHY IS MY OUTPUT OUT OF ORDER?"\n' +
    "Programs decide when they write. When their standard output is not a terminal, and " +
    `under \\fB${page}\\fR it never is, C's stdio, Python, Perl and Ruby keep what they ` +
    "print in a 4 to 8 KiB buffer and write it when the buffer is full or the program ends, " +
    "while standard error goes out at once. Every write is recorded in the order it was made, " +
    "so error lines can come before output the program printed earlier: it wrote them in that " +
    "order. A terminal shows them in order only because these runtimes write standard output " +
    "line by line there.\n" +
    `.PP\n\\fB${page} \\-L\\fR has the command, and every program it starts, write ` +
    "standard output line by line and standard error at once, as at a terminal: C and C++ " +
    "programs using glibc's stdio (dynamically linked) get dtee's own preload library " +
    "(\\fBLD_PRELOAD\\fR, as \\fBstdbuf \\-oL\\fR does), Python " +
    "\\fBPYTHONUNBUFFERED=1\\fR, Perl and Ruby a module of dtee's that sets autoflush " +
    "(\\fBPERL5OPT\\fR, \\fBRUBYOPT\\fR). An \\fBLD_PRELOAD\\fR, \\fBPERL5OPT\\fR " +
    "or \\fBRUBYOPT\\fR of the user's is kept, with dtee's added after it. As at a terminal, " +
    "a program whose output goes into a file or a pipe keeps its buffer (Python's variable " +
    "applies everywhere).\n" +
    ".PP\nNeed nothing: Go, Rust, Node.js and Deno, Java's \\fBSystem.out.println\\fR, " +
    "\\&.NET's \\fBConsole\\fR, shell builtins. Out of reach: statically linked programs, " +
    "setuid and setgid programs (the dynamic loader ignores \\fBLD_PRELOAD\\fR for them), " +
    "programs that choose their own buffering, Perl in taint mode, 32\\-bit programs on a " +
    "64\\-bit system; a program that runs as another user, when the files \\fB\\-L\\fR " +
    "gives it lie where that user cannot read (a tree or \\fBTMPDIR\\fR under a private home); " +
    "a program that starts after dtee has ended, when those files were written out for the run " +
    "(the single binary, \\fBdeno run\\fR from a URL, a tree whose path holds a space or a " +
    "colon: into a directory of \\fBTMPDIR\\fR, or \\fI/tmp\\fR, removed at the end). " +
    "For those: the program's own option (\\fBpython \\-u\\fR, " +
    "\\fBgrep \\-\\-line\\-buffered\\fR, \\fBsed \\-u\\fR, " +
    "\\fBjq \\-\\-unbuffered\\fR), \\fBstdbuf \\-oL\\fR for a glibc program, or in " +
    "the code \\fBsetvbuf(stdout, NULL, _IOLBF, 0)\\fR, \\fB$| = 1\\fR in Perl, " +
    "\\fB$stdout.sync = true\\fR in Ruby. \\fBunbuffer\\fR and \\fBscript\\fR give the " +
    "command a terminal instead, but merge its standard error into its standard output.\n";
}

const ANNOTATED_SECTION = ".SH ANNOTATED TEXT\n" +
  "\\fB\\-a\\fR and \\fB\\-A\\fR write both streams in order, one line per line the " +
  "command wrote, as \\fBannotate\\-output\\fR(1) labels them:\n" +
  ".RS\n.nf\n" +
  [
    "2026\\-12\\-07T01:07:35.606370+01:00 I: Started sh \\-c 'echo out; printf half; echo err >&2; echo rest'",
    "2026\\-12\\-07T01:07:35.621453+01:00 O: out",
    "2026\\-12\\-07T01:07:35.621455+01:00 O: half",
    "2026\\-12\\-07T01:07:35.621458+01:00 E: err",
    "2026\\-12\\-07T01:07:35.621460+01:00 O+ rest",
    "2026\\-12\\-07T01:07:35.623107+01:00 I: Finished in 0.016737 s: exited with status 0",
  ].join("\n") +
  "\n.fi\n.RE\n" +
  ".PP\n\\fBO\\fR is standard output, \\fBE\\fR standard error; the time is the " +
  "kernel's time of the write that began the line. The text is the command's own bytes. " +
  "A line that one stream leaves unfinished when the other writes is ended there, and its " +
  "rest starts a line marked \\fBO+\\fR or \\fBE+\\fR, so that no line mixes the two " +
  "streams. \\fB\\-\\-annotate\\fR stamps the lines passed on to standard output and " +
  "standard error the same way (without the \\fBI:\\fR lines); \\fB\\-\\-replay\\fR " +
  "renders a JSON log as a live run would have.\n" +
  ".PP\nThe default time format is RFC 3339 in local time (the C library's, under " +
  "\\fBTZ\\fR) with microseconds. \\fB\\-\\-time\\-format\\fR takes " +
  "\\fB%Y %C %y %m %d %e %j %H %k %I %l %M %S %p %P %a %A %b %h %B %u %w %F %T %R %D %z " +
  "%:z %Z %s %%\\fR and \\fB%t\\fR as \\fBstrftime\\fR(3) does (names in English); " +
  "\\fB%N\\fR (nanoseconds), \\fB%1N\\fR to \\fB%9N\\fR (the first digits), " +
  "\\fB%f\\fR (microseconds), and \\fB%.S %.s %.T\\fR as \\fBts\\fR(1) does; " +
  "\\fB%@\\fR before \\fBs H M S T N f .s .S .T\\fR gives the time since the start " +
  "of the run, as \\fBts \\-s\\fR does. Anything else is a usage error (status 64).\n";

const INIT_SECTION = ".SH CONTAINERS\n" +
  "As process 1 (a container's entrypoint), or with \\fB\\-\\-init\\fR, \\fBdtee\\fR also " +
  "does an init process's duties: SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and " +
  "SIGWINCH go to the command instead of to \\fBdtee\\fR, every orphan re\\-parented to it " +
  "is reaped (with \\fB\\-\\-init\\fR outside process 1, \\fBdtee\\fR makes itself the " +
  "orphans' subreaper), and it exits with the command's status once the command has exited " +
  "and its output is drained. A container stop therefore reaches the command, and its last " +
  "output is captured. In cron mode the report still follows.\n";

/** --timeout and --kill-after (docs/behaviour.md B7), and what differs at a terminal. */
function timeLimitSection(page: Page): string {
  const report = page === "cronty"
    ? "The report says so after the held output, before the usual line for how the command " +
      "ended:\n.RS\n.nf\ncronty: COMMAND: timed out after DURATION\n.fi\n.RE\n.PP\n"
    : "Once the command has ended, one line on standard error says so (in cron mode, the " +
      "report says it after the held output, before the usual line):\n" +
      ".RS\n.nf\ndtee: COMMAND: timed out after DURATION\n.fi\n.RE\n.PP\n";
  return ".SH TIME LIMITS\n" +
    "With \\fB\\-\\-timeout\\fR=\\fIDURATION\\fR, the command runs in a process group of its " +
    "own, as under \\fBtimeout\\fR(1). When DURATION has passed, the whole group (the " +
    "command's children and grandchildren too) and the command get SIGTERM, then SIGCONT; " +
    `\\fB${page}\\fR goes on capturing what the command writes while it cleans up, and exits ` +
    "with status 124. With \\fB\\-\\-kill\\-after\\fR=\\fIDURATION\\fR, a command still " +
    "running that long after the SIGTERM gets SIGKILL, with its group, and the status is " +
    "137. DURATION is a number of seconds, or a number followed by \\fBs\\fR, \\fBm\\fR, " +
    "\\fBh\\fR or \\fBd\\fR (\\fB30\\fR, \\fB1.5s\\fR, \\fB10m\\fR, \\fB2h\\fR, " +
    "\\fB1d\\fR), the number as \\fBtimeout\\fR(1) reads it (\\fBstrtod\\fR(3): a sign " +
    "\\fB+\\fR, an exponent, hexadecimal such as \\fB0x1p\\-2\\fR); \\fB0\\fR and " +
    "\\fBinf\\fR are no limit. Anything else is a usage error (status 64). " +
    report +
    "A JSON log's final record has the key \\fBtimed_out_after\\fR, and " +
    "\\fB\\-\\-replay\\fR prints the same and exits with the same status. A command that " +
    "ends before its limit shows no trace of it. A descendant that leaves the group " +
    "(\\fBsetsid\\fR(1)) is not signalled. As process 1 or with \\fB\\-\\-init\\fR, the " +
    "limit applies to the command, and forwarded signals still go to it. " +
    `SIGHUP, SIGINT and SIGTERM sent to \\fB${page}\\fR (\\fBkill %1\\fR, an outer ` +
    "\\fBtimeout\\fR(1)) go on to the command's group, as \\fBtimeout\\fR(1) passes " +
    `them on; \\fB${page}\\fR captures until the command has ended, then ends by that ` +
    "signal as it would have without the option (in cron mode after the held output and " +
    "\\fBNAME: received signal N: DESCRIPTION\\fR). SIGQUIT, and SIGINT with " +
    `\\fB\\-i\\fR, are passed on only: \\fB${page}\\fR then ends as the command did. ` +
    `Whatever else ends \\fB${page}\\fR first (a broken pipe, an error), the command's ` +
    "group gets SIGTERM before it does.\n" +
    ".SS At a terminal\n" +
    `When \\fB${page}\\fR's job is the terminal's foreground process group, the command's ` +
    "group takes the foreground while the command runs, and gets it back after " +
    "\\fBfg\\fR; " +
    `\\fB${page}\\fR's own group has it again once the command has ended or before ` +
    `\\fB${page}\\fR dies by a signal. The command reads from the terminal, and ` +
    "Ctrl\\-C, Ctrl\\-\\e and Ctrl\\-Z reach it, as without the option. What differs:\n" +
    ".IP \\(bu 2\n" +
    `The keys' signals reach the command's group only, not \\fB${page}\\fR itself, which ` +
    "goes on capturing until the command has ended, then ends as the command did (by SIGINT " +
    "when the command died by it). Without the option, the interrupt reaches " +
    `\\fB${page}\\fR too, which stops at once: ` +
    (page === "dtee" ? "outside cron mode without a word; in cron mode " : "") +
    "after the held output and \\fBNAME: received signal 2: Interrupt\\fR. With it, the " +
    "cron report after Ctrl\\-C is \\fBNAME: COMMAND: process terminated by signal 2: " +
    "Interrupt\\fR instead, after everything the command wrote; the status is 130 either " +
    "way. A command " +
    "that catches SIGINT and goes on is still captured.\n" +
    ".IP \\(bu 2\n" +
    `Ctrl\\-Z stops the command's group; \\fB${page}\\fR then stops its own group as the key ` +
    "would have (SIGTSTP), so that the shell sees the job stopped. \\fBfg\\fR gives the " +
    "terminal back to the command and continues it; after \\fBbg\\fR the command runs in " +
    "the background. Started in the background, a command that reads from the terminal " +
    `stops (SIGTTIN), and \\fB${page}\\fR stops its own group the same way, so that the ` +
    "shell shows the job stopped; \\fBfg\\fR gives the command the terminal and " +
    "continues it.\n" +
    ".IP \\(bu 2\n" +
    `Other processes of \\fB${page}\\fR's own process group, such as a pager at the other ` +
    "end of a pipe, are in the background while the command runs: a pager that reads the " +
    "keyboard is stopped until the command ends. Put the pager elsewhere, or leave out " +
    "\\fB\\-\\-timeout\\fR.\n" +
    ".IP \\(bu 2\n" +
    `\\fB${page}\\fR blocks SIGTTOU meanwhile, so that \\fBstty tostop\\fR does not stop ` +
    "it when it writes to the terminal from the background.\n";
}

const STATUS_ROWS: [string, string][] = [
  ["N", "the command exited with status N"],
  ["128+N", "the command was killed by signal N (after SIGINT, dtee then kills itself by SIGINT)"],
  ["64", "usage error, or no command"],
  ["65", "a record of the JSON log to replay is not valid (NAME: FILE:LINE: ...)"],
  ["66", "the command could not be executed, or the JSON log to replay cannot be read"],
  ["69", "the sockets, signal handling or what -L needs could not be set up"],
  ["70", "internal error"],
  ["71", "fork, waitpid or standard descriptor setup failed"],
  ["73", "an output file (or in cron mode the buffer file) could not be opened"],
  ["74", "a write to an output, a socket read or a socket close failed"],
  ["124", "the time limit (--timeout) passed, and the command ended after its SIGTERM"],
  ["137", "the time limit passed and SIGKILL ended the command"],
];

const STATUS_SECTION = ".SH EXIT STATUS\n" +
  STATUS_ROWS.map(([code, when]) => `.TP\n.B ${code}\n${esc(when)}.\n`).join("") +
  ".PP\n\\fBdtee\\fR's own failures take precedence over the command's status; of two, the " +
  "larger code wins. Outside cron mode, \\fBdtee\\fR dies without a message by SIGHUP, " +
  "SIGTERM, SIGINT and SIGPIPE (a closed output pipe gives status 141).\n";

const MESSAGES_SECTION = ".SH DIAGNOSTICS\n" +
  "Every message goes to standard error as \\fBNAME: ...\\fR, where NAME is the name " +
  "\\fBdtee\\fR was invoked as, with the C library's \\fBstrerror\\fR(3) and " +
  "\\fBstrsignal\\fR(3) texts in the user's locale:\n" +
  ".RS\n.nf\n" +
  [
    "NAME: COMMAND: No such file or directory",
    "NAME: FILE: Permission denied",
    "NAME: unrecognised option '-x'",
    "NAME: the required argument for option '--out-append' is missing",
    "NAME: stdout: write: No space left on device",
    "NAME: unable to create temporary directory PATTERN: ...",
    "NAME: input socket: recv: ...",
    "NAME: internal error: ...",
  ].map(esc).join("\n") +
  "\n.fi\n.RE\n" +
  ".PP\nA usage error is followed by \\fBTry 'NAME \\-h' for more information.\\fR " +
  "A write error on a file is reported once, and again only after a write to that file has " +
  "succeeded in between; the other outputs keep receiving everything.\n";

const ENVIRONMENT_SECTION = ".SH ENVIRONMENT\n" +
  ".TP\n.B TMPDIR\nWhere the private socket directory and, in cron mode, the buffer file " +
  "are made (default \\fB/tmp\\fR). A too long or unusable TMPDIR is an error (69).\n" +
  '.TP\n.BR LANG ", " LC_ALL ", " LC_MESSAGES\nThe language of the C library\'s error ' +
  "and signal texts.\n" +
  ".TP\n.B DTEE_SHIM\nA shim library to load instead of the one that comes with dtee.\n" +
  ".PP\nThe command gets the environment \\fBdtee\\fR was started with, unchanged; with " +
  "\\fB\\-L\\fR, \\fBLD_PRELOAD\\fR, \\fBPYTHONUNBUFFERED\\fR, \\fBPERL5OPT\\fR and " +
  "\\fBRUBYOPT\\fR as described above.\n";

/** Where things are once installed (scripts/install, scripts/layout), and what dtee makes. */
const FILES_SECTION = ".SH FILES\n" +
  "As installed by \\fBscripts/install\\fR; \\fIPREFIX\\fR is /usr/local when root " +
  "installed it, ~/.local otherwise.\n" +
  [
    [
      "PREFIX/bin/dtee, PREFIX/bin/cronty",
      "Symbolic links to the native launcher in PREFIX/lib/dtee; the name it is invoked as is " +
      "NAME, and cronty is cron mode.",
    ],
    [
      "PREFIX/lib/dtee/",
      "Everything dtee runs: the launcher, the modules and their bundle, the shim, and the " +
      "Deno runtime with its cache (.deno/dir, made at install time, only read afterwards). " +
      "A symbolic link to PREFIX/lib/.dtee.ID, which an upgrade replaces in one step.",
    ],
    [
      "PREFIX/lib/dtee/scripts/install",
      "With \\-\\-prefix PREFIX \\-\\-uninstall, removes every installed file listed here.",
    ],
    ["PREFIX/share/man/man1/dtee.1, cronty.1", "These pages."],
    [
      "PREFIX/share/doc/dtee/jsonlog.md, jsonlog.schema.json",
      "The JSON log's records, key by key, and their JSON Schema.",
    ],
    [
      "$TMPDIR/dteePPPPPPPPIXXXXXX",
      "The private directory of dtee's sockets (PPPPPPPP is dtee's pid in hexadecimal), " +
      "removed as soon as they are connected; in cron mode also an O file, held output, " +
      "unlinked as soon as it is made.",
    ],
  ].map(([path, what]) => `.TP\n.I ${esc(path)}\n${what}\n`).join("");

const LIMITS_SECTION = ".SH LIMITS\n" +
  "The largest single write that gets through is as large as the kernel allows: dtee raises " +
  "the sockets' buffers to the largest size permitted (beyond \\fBnet.core.wmem_max\\fR " +
  "when privileged), up to 4 MiB. A larger write fails in the command with EMSGSIZE. " +
  "\\fBdtee \\-\\-debug\\-limits\\fR prints the sizes in effect.\n" +
  ".PP\nAfter the command exits, \\fBdtee\\fR drains what is queued and stops; output written " +
  "later by surviving grandchildren is lost. Linux with glibc is the supported platform.\n";

function examples(page: Page): string {
  const lines = page === "dtee"
    ? [
      ["Keep a build log with both streams in order:", "dtee \\-C build.log \\-\\- make"],
      [
        "Every line with its time and stream:",
        "dtee \\-A build.log \\-\\- make",
      ],
      [
        "Stdout and stderr apart, appended:",
        "dtee \\-o out.log \\-e err.log ./job.sh",
      ],
      [
        "As a container's entrypoint:",
        'ENTRYPOINT ["dtee", "\\-c", "/logs/job.log", "\\-\\-"]',
      ],
    ]
    : [
      [
        "Crontab lines that mail when the job fails or writes to standard error, and keep a " +
        "log (cron's own PATH is /usr/bin:/bin):",
        "PATH=/usr/local/bin:/usr/bin:/bin\n17 3 * * * cronty \\-c /var/log/backup.log /usr/local/bin/backup",
      ],
      [
        "At most two hours (SIGKILL a minute later if it still runs), a mail only when it " +
        "fails, not for warnings on standard error when it succeeds:",
        "17 3 * * * cronty \\-\\-timeout=2h \\-\\-kill\\-after=1m \\-\\-failures\\-only " +
        "\\-c /var/log/backup.log /usr/local/bin/backup",
      ],
    ];
  return ".SH EXAMPLES\n" +
    lines.map(([what, command], i) =>
      `${i ? ".PP\n" : ""}${what}\n.RS\n.nf\n${command}\n.fi\n.RE\n`
    )
      .join("");
}

function seeAlso(page: Page): string {
  const other = page === "dtee" ? "cronty" : "dtee";
  return ".SH SEE ALSO\n" +
    `.BR ${other} (1),\n.BR tee (1),\n.BR annotate\\-output (1),\n.BR ts (1),\n.BR crontab (5),\n.BR cron (8)\n` +
    ".PP\nThe original C++ dtee: https://github.com/nomis/dtee\n";
}

/**
 * Breaks text lines at spaces to at most 80 bytes, as `mandoc -T lint` asks; requests and
 * no-fill blocks stay as written, and no line may start with a control character.
 */
function fill(source: string): string {
  let noFill = false;
  return source.split("\n").flatMap((line) => {
    if (line.startsWith(".nf")) noFill = true;
    if (line.startsWith(".fi")) noFill = false;
    if (noFill || line.startsWith(".") || line.length <= 80) return [line];
    const out: string[] = [];
    let current = "";
    for (const word of line.split(" ")) {
      const candidate = current === "" ? word : `${current} ${word}`;
      if (candidate.length > 80 && current !== "" && !/^[.']/.test(word)) {
        out.push(current);
        current = word;
      } else {
        current = candidate;
      }
    }
    return [...out, current];
  }).join("\n");
}

/** The whole page, as roff source. */
export function manPage(page: Page): string {
  return fill(
    header(page) + description(page) + optionsSection(page) + ANNOTATED_SECTION +
      orderSection(page) +
      cronSection(page) + timeLimitSection(page) + INIT_SECTION + STATUS_SECTION +
      MESSAGES_SECTION + ENVIRONMENT_SECTION +
      FILES_SECTION +
      LIMITS_SECTION +
      examples(page) + seeAlso(page),
  );
}

/** Writes DIR/dtee.1 and DIR/cronty.1. */
export async function writePages(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for (const page of PAGES) await Deno.writeTextFile(`${dir}/${page}.1`, manPage(page));
}

if (import.meta.main) {
  await writePages(new URL(".", import.meta.url).pathname.replace(/\/$/, ""));
}
