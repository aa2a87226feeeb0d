//! The native launcher of dtee and cronty (README, "Install"): runs
//! main.ts under the pinned Deno of the checkout it belongs to, with argv[0]
//! passed on exactly as given (NAME and cron mode follow it).
//!
//! It exists because nothing else can start Deno without changing what the
//! command inherits (docs/behaviour.md A7): a shell adds and drops
//! variables and complains about an uninstalled locale before any script
//! line runs, and Rust's runtime (so Deno) opens /dev/null on closed fds
//! 0-2. `#![no_main]` keeps that runtime start-up out of this program too,
//! so the state it sees is the one it was started with. It hands that state
//! on to the shim (rust/src/environ.rs): its own arguments (NAME first,
//! `DTEE_ARGS_LEN` bytes) and then its whole environment block in a memfd
//! at the fd named by `DTEE_START_FD`, the mask of fds 0-2 it found closed
//! in `DTEE_CLOSED_FDS`, the signals it found ignored in `DTEE_IGNORED`
//! (Deno ignores SIGPIPE before the shim can look), and a working directory that has been removed as a
//! descriptor at `DTEE_CWD_FD`. Deno itself gets
//! only the variables dtee reads plus its own settings, so that variables
//! aimed at other programs (`DENO_V8_FLAGS`, `RUST_LOG`, `NO_COLOR`...)
//! cannot change it, and a DENO_DIR under .deno/, so that a run writes
//! nothing in HOME.
//!
//! Deno's own command line holds no word of dtee's (docs/architecture.md,
//! "How dtee starts"): Deno panics on an argv[0] that is not UTF-8 and
//! turns other such bytes into U+FFFD, /proc (where dtee could read them
//! back) may not be mounted, and Deno's flags and paths would take room
//! the command's words need, so that a command line the C tool starts
//! would fail here with E2BIG. A memfd, like the environment's, has none of
//! these limits and costs a few microseconds.
//!
//! When the shim is older than its sources or Deno is missing, it runs the
//! bootstrap (scripts/bootstrap.sh) first, its output on stderr. A stale
//! shim that the bootstrap could not rebuild is used as it is; the
//! bootstrap says so once per change of the sources, leaving a notice file
//! beside the shim, and until the sources change again this launcher does
//! not run it at all.
#![no_main]

use std::ffi::{c_char, c_int, c_uint, CStr, CString, OsStr};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::SystemTime;

// What the shim reads back (variable names, the memfd's seals) is shared
// with it as source: the launcher is its own crate.
#[path = "../handover.rs"]
mod handover;

// The launcher is its own crate, so it declares the few C functions it
// needs itself (as rust/src/sys.rs does for the shim: no crate deps).
extern "C" {
    fn fcntl(fd: c_int, cmd: c_int, ...) -> c_int;
    fn memfd_create(name: *const c_char, flags: c_uint) -> c_int;
    fn write(fd: c_int, buf: *const u8, len: usize) -> isize;
    fn close(fd: c_int) -> c_int;
    fn execve(path: *const c_char, argv: *const *const c_char, envp: *const *const c_char)
        -> c_int;
    fn strerror(errnum: c_int) -> *const c_char;
    fn getrlimit(resource: c_int, limit: *mut [u64; 2]) -> c_int;
    fn access(path: *const c_char, mode: c_int) -> c_int;
    fn getcwd(buf: *mut c_char, size: usize) -> *mut c_char;
    fn open(path: *const c_char, flags: c_int, ...) -> c_int;
    fn chdir(path: *const c_char) -> c_int;
    fn __errno_location() -> *mut c_int;
    fn sigaction(sig: c_int, new: *const u8, old: *mut [usize; 32]) -> c_int;
    fn setrlimit(resource: c_int, limit: *const [u64; 2]) -> c_int;
    fn execvp(file: *const c_char, argv: *const *const c_char) -> c_int;
}

const F_GETFD: c_int = 1;
const F_ADD_SEALS: c_int = 1033;
const MFD_ALLOW_SEALING: c_uint = 2;
const O_DIRECTORY: c_int = 0o200000;
const O_PATH: c_int = 0o10000000;
const ERANGE: c_int = 34;
const EINTR: c_int = 4;
const W_OK: c_int = 2;
const RLIMIT_NOFILE: c_int = 7;
const RLIMIT_FSIZE: c_int = 1;
const RLIM_INFINITY: u64 = u64::MAX;
const F_DUPFD: c_int = 0;
const EX_SOFTWARE: c_int = 70;
const EX_NOINPUT: c_int = 66;
const EX_UNAVAILABLE: c_int = 69;
const EMFILE: c_int = 24;
/// The descriptors Deno needs to load dtee and leave it room to say, in its
/// own words, which of its descriptors it could not open: below, Deno
/// panics or prints an error of its own (docs/architecture.md, "Limits").
const DENO_NOFILE: u64 = 20;
/// The options of lib/cli.ts's table that take a value: the launcher finds
/// the command words past them when Deno cannot start (tests/launcher_test.ts
/// checks both lists against the table).
const SHORT_WITH_VALUE: &[u8] = b"oOeEcCjJaA";
const LONG_WITH_VALUE: &[&[u8]] = &[
    b"out-append",
    b"out-overwrite",
    b"err-append",
    b"err-overwrite",
    b"combined-append",
    b"combined-overwrite",
    b"json-append",
    b"json-overwrite",
    b"annotated-append",
    b"annotated-overwrite",
    b"timeout",
    b"kill-after",
    b"time-format",
    b"replay",
    b"max-delay",
];

const SHIM: &str = "/rust/target/release/libdtee_shim.so";
/// main.ts and lib/ in one module, made by scripts/bootstrap.sh because one
/// module starts faster than fifteen (docs/architecture.md, "Performance"); while it is
/// older than any of them, main.ts runs instead.
const BUNDLE: &str = "/build/dtee.js";

/// The hidden first argument with which scripts/dtee passes on the name it
/// was invoked as (a POSIX shell cannot set argv[0] of what it execs).
const SCRIPT_NAME: &[u8] = b"--dtee-launched-as=";

/// The variables of the launcher's environment that Deno gets (dtee reads
/// TMPDIR and DTEE_*, strerror texts follow the locale, the command is
/// searched in PATH); every other one reaches only the command.
fn for_deno(entry: &[u8]) -> bool {
    let name = entry.split(|&b| b == b'=').next().unwrap_or(entry);
    matches!(
        name,
        b"PATH" | b"TMPDIR" | b"TZ" | b"LANG" | b"LANGUAGE" | b"LOCPATH"
    ) || name.starts_with(b"LC_")
        || (name.starts_with(b"DTEE_") && !handover::ALL.iter().any(|n| n.as_bytes() == name))
}

fn errno() -> c_int {
    // SAFETY: the calling thread's errno.
    unsafe { *__errno_location() }
}

fn fail(name: &[u8], what: &str, errnum: c_int) -> c_int {
    say(name, &format!("internal error: {what}"), errnum);
    EX_SOFTWARE
}

/// `NAME: WHAT: <strerror>` on stderr.
fn say(name: &[u8], what: &str, errnum: c_int) {
    // SAFETY: strerror returns a NUL-terminated string.
    let text = unsafe { CStr::from_ptr(strerror(errnum)) };
    let mut line = name.to_vec();
    line.extend_from_slice(b": ");
    line.extend_from_slice(what.as_bytes());
    line.extend_from_slice(b": ");
    line.extend_from_slice(text.to_bytes());
    line.push(b'\n');
    write_all(2, &line);
}

fn write_all(fd: c_int, mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is valid for its length.
        let n = unsafe { write(fd, bytes.as_ptr(), bytes.len()) };
        if n < 0 && errno() == EINTR {
            continue;
        }
        if n <= 0 {
            return false;
        }
        bytes = &bytes[n as usize..];
    }
    true
}

/// The checkout: the launcher lives at ROOT/rust/target/.../dtee. A copy
/// elsewhere runs the checkout it was built from.
fn project_root() -> Vec<u8> {
    if let Ok(exe) = std::fs::read_link("/proc/self/exe") {
        let exe = exe.as_os_str().as_bytes();
        let marker = b"/rust/target/";
        if let Some(at) = exe.windows(marker.len()).rposition(|w| w == marker) {
            return exe[..at].to_vec();
        }
    }
    let manifest = env!("CARGO_MANIFEST_DIR").as_bytes();
    manifest[..manifest.len() - b"/rust".len()].to_vec()
}

fn path(root: &[u8], rest: &str) -> Vec<u8> {
    let mut p = root.to_vec();
    p.extend_from_slice(rest.as_bytes());
    p
}

fn mtime(p: &[u8]) -> Option<SystemTime> {
    std::fs::metadata(OsStr::from_bytes(p))
        .ok()?
        .modified()
        .ok()
}

/// The latest change to `file` or to a file ending in `ext` in one of `dirs`.
fn newest_of(root: &[u8], file: &str, dirs: &[&str], ext: &[u8]) -> Option<SystemTime> {
    let mut newest = mtime(&path(root, file));
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(OsStr::from_bytes(&path(root, dir))) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_name().as_bytes().ends_with(ext) {
                newest = newest.max(entry.metadata().ok().and_then(|m| m.modified().ok()));
            }
        }
    }
    newest
}

/// The latest change to the sources of the shim, the launcher or the
/// preload library (rust/build.rs, rust/preload/).
fn newest_source(root: &[u8]) -> Option<SystemTime> {
    newest_of(
        root,
        "/rust/Cargo.toml",
        &["/rust", "/rust/src", "/rust/src/bin", "/rust/preload"],
        b".rs",
    )
}

/// The latest change to the modules the bundle is made of.
fn newest_module(root: &[u8]) -> Option<SystemTime> {
    newest_of(root, "/main.ts", &["/lib"], b".ts")
}

/// Whether `built` is missing, or older than `newest` and could be
/// rebuilt: its directory can be written (not a read-only mount, nor a
/// checkout of another user's: there the old file is used, silently, as a
/// cron job must not be mailed on every run), and the bootstrap has not
/// yet said that it could not rebuild it since (its `.noticed` file is
/// older too).
fn stale(root: &[u8], built: &str, newest: Option<SystemTime>) -> bool {
    let Some(built_at) = mtime(&path(root, built)) else {
        return true;
    };
    if newest <= Some(built_at) {
        return false;
    }
    let file = path(root, built);
    let dir = &file[..file.iter().rposition(|&b| b == b'/').unwrap_or(0)];
    let dir = CString::new(dir).unwrap_or_default();
    // SAFETY: a NUL-terminated path; access only tests it.
    if unsafe { access(dir.as_ptr(), W_OK) } != 0 {
        return false;
    }
    mtime(&path(root, &format!("{built}.noticed"))) < newest
}

/// Whether the bootstrap has to run: Deno is missing, or the shim or the
/// bundle is stale.
fn needs_bootstrap(root: &[u8], modules: Option<SystemTime>) -> bool {
    mtime(&path(root, "/.deno/bin/deno")).is_none()
        || stale(root, SHIM, newest_source(root))
        || stale(root, BUNDLE, modules)
}

/// Runs the bootstrap with its output on stderr (nowhere when stderr is
/// closed). Variables that would make bash itself print or run something
/// (a BASH_ENV, an uninstalled locale) are kept from it.
fn bootstrap(root: &[u8]) -> bool {
    // SAFETY: F_GETFD only inspects the descriptor.
    let stdout = if unsafe { fcntl(2, F_GETFD) } >= 0 {
        // SAFETY: F_DUPFD makes a new descriptor that the OwnedFd then owns.
        let copy = unsafe { fcntl(2, F_DUPFD, 3) };
        if copy < 0 {
            Stdio::null()
        } else {
            // SAFETY: `copy` is a fresh descriptor owned by nothing else.
            Stdio::from(unsafe { OwnedFd::from_raw_fd(copy) })
        }
    } else {
        Stdio::null()
    };
    Command::new("bash")
        .arg("-c")
        .arg(r#". "$0/scripts/bootstrap.sh" && dtee_ensure_deno && dtee_ensure_shim"#)
        .arg(OsStr::from_bytes(root))
        .env_remove("BASH_ENV")
        .env_remove("ENV")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(stdout)
        .status()
        .is_ok_and(|s| s.success())
}

/// `fd` moved to a descriptor above 2 (a closed fd 0-2 must stay closed
/// for Deno's runtime to see and fill), or -1.
fn above_std(fd: c_int) -> c_int {
    if !(0..3).contains(&fd) {
        return fd;
    }
    // SAFETY: descriptor chores on a descriptor of ours.
    unsafe {
        let high = fcntl(fd, F_DUPFD, 3);
        close(fd);
        high
    }
}

/// A sealed memfd holding `words`, each followed by a NUL, on a
/// descriptor above 2 and inherited by Deno, or -1.
fn memfd_of(name: &CStr, words: &[&CStr]) -> c_int {
    // SAFETY: the name is NUL-terminated; no MFD_CLOEXEC: Deno must inherit it.
    let fd = above_std(unsafe { memfd_create(name.as_ptr(), MFD_ALLOW_SEALING) });
    if fd < 0 {
        return -1;
    }
    let block: Vec<u8> = words
        .iter()
        .flat_map(|e| e.to_bytes_with_nul())
        .copied()
        .collect();
    // SAFETY: sealing a memfd of ours.
    if !write_all(fd, &block) || unsafe { fcntl(fd, F_ADD_SEALS, handover::SEALS) } != 0 {
        // SAFETY: the descriptor is ours.
        unsafe { close(fd) };
        return -1;
    }
    fd
}

/// Deno will not start in a working directory that has been removed (it
/// asks for its path at start-up), where the C tool and the command do.
/// Then Deno starts in `/` and the shim goes back through the descriptor
/// returned here (O_PATH, inherited) before it opens or runs anything; -1
/// where Deno can start where it is.
fn park_removed_cwd() -> c_int {
    let mut buf = [0 as c_char; 4096];
    // SAFETY: buf is writable for its length.
    if !unsafe { getcwd(buf.as_mut_ptr(), buf.len()) }.is_null() || errno() == ERANGE {
        return -1;
    }
    // SAFETY: NUL-terminated paths; the new descriptor is ours.
    unsafe {
        let fd = above_std(open(c".".as_ptr(), O_PATH | O_DIRECTORY));
        if fd >= 0 && chdir(c"/".as_ptr()) != 0 {
            close(fd);
            return -1;
        }
        fd
    }
}

/// The command's words when dtee runs in cron mode (its name is cronty, or
/// -q/--cron comes before the command), else None: read as lib/cli.ts does.
fn cron_command<'a>(name: &CStr, args: &'a [&'a CStr]) -> Option<&'a [&'a CStr]> {
    let mut cron = name.to_bytes().rsplit(|&b| b == b'/').next() == Some(b"cronty");
    let mut i = 0;
    while i < args.len() {
        let word = args[i].to_bytes();
        if word == b"--" {
            i += 1;
            break;
        }
        if !word.starts_with(b"-") || word == b"-" {
            break;
        }
        if let Some(long) = word.strip_prefix(b"--") {
            cron |= long == b"cron";
            i += usize::from(LONG_WITH_VALUE.contains(&long));
        } else if let Some(at) = word[1..].iter().position(|c| SHORT_WITH_VALUE.contains(c)) {
            cron |= word[1..=at].contains(&b'q');
            // The value is the rest of the word, or the next word.
            i += usize::from(at + 2 == word.len());
        } else {
            cron |= word.contains(&b'q');
        }
        i += 1;
    }
    (cron && i < args.len()).then(|| &args[i..])
}

/// Makes room for Deno under a low `ulimit -n` (`limit`: soft and hard):
/// the soft limit goes up to the hard one (the command still gets the one
/// dtee was started with: DTEE_NOFILE). Where the hard limit is too low,
/// dtee says so; in cron mode it then runs the command in place, as when
/// the command's output cannot be captured (docs/behaviour.md A4), else it
/// stops with 69. Returns the exit status where Deno cannot start.
fn room_for_deno(name: &CStr, args: &[&CStr], limit: [u64; 2]) -> Option<c_int> {
    let raised = [limit[1], limit[1]];
    // SAFETY: a live struct rlimit (two rlim_t).
    if limit[1] >= DENO_NOFILE && unsafe { setrlimit(RLIMIT_NOFILE, &raised) } == 0 {
        return None;
    }
    let what = format!(
        "{} open files allowed (ulimit -n), dtee needs {DENO_NOFILE}",
        limit[1].min(limit[0])
    );
    say(name.to_bytes(), &what, EMFILE);
    let Some(command) = cron_command(name, args) else {
        return Some(EX_UNAVAILABLE);
    };
    let argv: Vec<*const c_char> = command
        .iter()
        .map(|w| w.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    // SAFETY: NUL-terminated words and a null-terminated array of them.
    unsafe { execvp(argv[0], argv.as_ptr()) };
    let word = String::from_utf8_lossy(command[0].to_bytes()).into_owned();
    say(name.to_bytes(), &word, errno());
    Some(EX_NOINPUT)
}

/// Deno's cache directory: .deno/dir, except under a file size limit
/// (`ulimit -f`), where Deno's cache databases, written by a thread of its
/// own while it starts, would grow past it and SIGXFSZ would kill dtee
/// before the command runs. A directory that cannot exist makes Deno keep
/// them in memory, silently (docs/architecture.md, "Limits").
fn deno_cache(root: &[u8]) -> Vec<u8> {
    let mut fsize = [RLIM_INFINITY; 2];
    // SAFETY: fsize is a live struct rlimit (two rlim_t).
    if unsafe { getrlimit(RLIMIT_FSIZE, &mut fsize) } == 0 && fsize[0] != RLIM_INFINITY {
        return b"/dev/null/deno".to_vec();
    }
    path(root, "/.deno/dir")
}

/// The signals ignored now (bit N-1 for signal N), before Deno ignores
/// SIGPIPE itself: the command must start with SIGPIPE ignored exactly
/// when dtee was (docs/behaviour.md A7), and only here can that be seen.
fn ignored_signals() -> u64 {
    const SIG_IGN: usize = 1;
    let mut mask = 0;
    for sig in 1..=64 {
        // Larger than any libc's struct sigaction, whose handler comes first.
        let mut old = [0usize; 32];
        // SAFETY: a null new action only reads the current one into `old`.
        if unsafe { sigaction(sig, std::ptr::null(), &mut old) } == 0 && old[0] == SIG_IGN {
            mask |= 1u64 << (sig - 1);
        }
    }
    mask
}

/// # Safety
/// Called by the C runtime with its argc, argv and envp.
#[no_mangle]
pub unsafe extern "C" fn main(
    argc: c_int,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> c_int {
    // First, before anything here opens a descriptor.
    let mut closed = 0;
    for fd in 0..3 {
        if fcntl(fd, F_GETFD) < 0 {
            closed |= 1 << fd;
        }
    }
    let args: Vec<&CStr> = (0..argc as usize)
        .map(|i| CStr::from_ptr(*argv.add(i)))
        .collect();
    let mut env: Vec<&CStr> = Vec::new();
    let mut at = envp;
    while !at.is_null() && !(*at).is_null() {
        env.push(CStr::from_ptr(*at));
        at = at.add(1);
    }
    let (name, rest): (&CStr, &[&CStr]) = match args.split_first() {
        Some((_, rest))
            if rest
                .first()
                .is_some_and(|a| a.to_bytes().starts_with(SCRIPT_NAME)) =>
        {
            let given = &rest[0].to_bytes_with_nul()[SCRIPT_NAME.len()..];
            // SAFETY: the tail of a C string: one NUL, at its end.
            (CStr::from_bytes_with_nul_unchecked(given), &rest[1..])
        }
        Some((first, rest)) => (first, rest),
        None => (c"dtee", &[]),
    };
    // Deno raises its soft limit of open files at start-up; the command
    // gets the one dtee was started with (docs/behaviour.md A7).
    let mut nofile = [0u64; 2];
    // SAFETY: nofile is a live struct rlimit (two rlim_t).
    let nofile_known = unsafe { getrlimit(RLIMIT_NOFILE, &mut nofile) } == 0;
    if nofile_known && nofile[0] < DENO_NOFILE {
        if let Some(status) = room_for_deno(name, rest, nofile) {
            return status;
        }
    }
    // Before the bootstrap, whose bash would complain too.
    let cwd = park_removed_cwd();

    let root = project_root();
    let modules = newest_module(&root);
    if needs_bootstrap(&root, modules)
        && !bootstrap(&root)
        && mtime(&path(&root, "/.deno/bin/deno")).is_none()
    {
        return EX_SOFTWARE;
    }
    let fresh = mtime(&path(&root, BUNDLE)).is_some_and(|at| modules <= Some(at));

    let deno = CString::new(path(&root, "/.deno/bin/deno")).unwrap_or_default();
    let main_ts =
        CString::new(path(&root, if fresh { BUNDLE } else { "/main.ts" })).unwrap_or_default();
    // NAME as Deno's argv[0] shows in ps; Deno panics on one not UTF-8.
    let shown = match name.to_str() {
        Ok(_) => name,
        Err(_) => c"dtee",
    };
    let mut deno_argv: Vec<*const c_char> = vec![shown.as_ptr()];
    // V8's code cache only costs here: looking it up in its database takes
    // longer than compiling the bundle's top level. TurboFan, V8's top
    // tier, would page in ~4 MiB of its own code and spend more time
    // compiling than it saves in a receive loop whose time goes to system
    // calls: Maglev is as far as it goes (docs/architecture.md, "Performance").
    let flags = [
        c"run",
        c"-q",
        c"--no-config",
        c"--no-lock",
        c"--no-code-cache",
        c"--v8-flags=--max-opt=2",
        c"--allow-ffi",
        c"--allow-env",
    ];
    deno_argv.extend(flags.iter().map(|f| f.as_ptr()));
    deno_argv.push(main_ts.as_ptr());
    // One memfd for both: a descriptor more while Deno starts would leave
    // one fewer to a run under a tight `ulimit -n` (docs/architecture.md, "Limits").
    let words: Vec<&CStr> = std::iter::once(name).chain(rest.iter().copied()).collect();
    let args_len: usize = words.iter().map(|w| w.to_bytes_with_nul().len()).sum();
    let memfd = memfd_of(c"dtee-start", &[&words[..], &env[..]].concat());
    // Without a memfd (no descriptor left) the words go the old way, which
    // the shim reads back from /proc/self/cmdline.
    if memfd < 0 {
        deno_argv.extend(rest.iter().map(|a| a.as_ptr()));
    }
    deno_argv.push(std::ptr::null());
    let mut deno_dir = b"DENO_DIR=".to_vec();
    deno_dir.extend_from_slice(&deno_cache(&root));
    let mut own: Vec<CString> = vec![
        CString::new(deno_dir).unwrap_or_default(),
        c"DENO_DISABLE_NODE_SHIM=1".to_owned(),
        c"DENO_NO_UPDATE_CHECK=1".to_owned(),
        CString::new(format!("{}={closed}", handover::CLOSED_FDS)).unwrap_or_default(),
        CString::new(format!("{}={}", handover::IGNORED, ignored_signals())).unwrap_or_default(),
    ];
    if nofile_known {
        own.push(CString::new(format!("{}={}", handover::NOFILE, nofile[0])).unwrap_or_default());
    }
    if memfd >= 0 {
        own.push(CString::new(format!("{}={memfd}", handover::START_FD)).unwrap_or_default());
        own.push(CString::new(format!("{}={args_len}", handover::ARGS_LEN)).unwrap_or_default());
    }
    if cwd >= 0 {
        own.push(CString::new(format!("{}={cwd}", handover::CWD_FD)).unwrap_or_default());
    }
    let mut deno_env: Vec<*const c_char> = env
        .iter()
        .filter(|e| for_deno(e.to_bytes()))
        .map(|e| e.as_ptr())
        .collect();
    deno_env.extend(own.iter().map(|e| e.as_ptr()));
    deno_env.push(std::ptr::null());

    execve(deno.as_ptr(), deno_argv.as_ptr(), deno_env.as_ptr());
    let what = format!(
        "cannot run {}",
        Path::new(OsStr::from_bytes(deno.as_bytes())).display()
    );
    fail(name.to_bytes(), &what, errno())
}
