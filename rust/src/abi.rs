//! Every number of the C ABI that TypeScript interprets, written once.
//!
//! `scripts/gen-abi.ts` reads this file and writes `lib/abi.ts` from it
//! (`scripts/check` fails when the two differ), so the grammar here is kept
//! simple on purpose: one `pub mod` per group, holding `pub const NAME: TYPE
//! = EXPR;` lines, where EXPR is an integer, a constant of this file (`NAME`
//! or `super::group::NAME`), `<<`, `|` and parentheses. A group becomes a `const`
//! object named in PascalCase with camelCase keys; a group whose doc comment
//! says "C names" keeps the names as they are (`Errno.EPIPE`).

/// Bumped whenever an export's meaning or signature changes (docs/architecture.md, "The C ABI").
pub const ABI_VERSION: u32 = 14;

/// `join` of `dtee_env_add`: how a value meets the one the command would
/// otherwise inherit.
pub mod env_join {
    /// An inherited non-empty value is kept; otherwise the variable is set.
    pub const KEEP: i32 = 0;
    /// Added after the inherited value and a colon (LD_PRELOAD).
    pub const COLON: i32 = 1;
    /// Added after the inherited value and a space (PERL5OPT, RUBYOPT).
    pub const SPACE: i32 = 2;
}

/// Bits of the `events` word of `dtee_recv`.
pub mod event {
    /// The child's pidfd is readable: it has exited.
    pub const CHILD: u32 = 1;
    /// A caught signal is pending (`dtee_signal_take`).
    pub const SIGNAL: u32 = 2;
    /// A message from the command was larger than a slot and is lost.
    pub const TRUNCATED: u32 = 4;
    /// The deadline of `dtee_timer_set` has passed (reported once).
    pub const TIMER: u32 = 8;
}

/// Who sent a received message (`streams[i]` of `dtee_recv`).
pub mod stream {
    /// Any sender but the two output sockets: ignored (docs/behaviour.md A7).
    pub const FOREIGN: u8 = 0;
    pub const STDOUT: u8 = 1;
    pub const STDERR: u8 = 2;
}

/// `mask` of `dtee_write_batch`: a message goes out when bit `1 << stream` is set.
pub mod mask {
    pub const STDOUT: u32 = 1 << super::stream::STDOUT;
    pub const STDERR: u32 = 1 << super::stream::STDERR;
    pub const COMBINED: u32 = STDOUT | STDERR;
}

/// `disposition` of `dtee_signal_set`.
pub mod disposition {
    pub const DEFAULT: i32 = 0;
    pub const IGNORE: i32 = 1;
    /// The signal becomes pending and wakes `dtee_recv`.
    pub const CATCH: i32 = 2;
    /// As CATCH, and while it is pending dtee's own writes stop short with
    /// EINTR instead of waiting for a reader (docs/behaviour.md A7): a
    /// signal whose policy is to stop dtee.
    pub const INTERRUPT: i32 = 3;
}

/// `fail[0]` of `dtee_open_sockets`: what a setup failure is about.
pub mod socket_who {
    pub const DIRECTORY: i32 = 0;
    pub const INPUT: i32 = 1;
    pub const STDOUT: i32 = 2;
    pub const STDERR: i32 = 3;
}

/// `fail[1]` of `dtee_open_sockets`: the step that failed, named as in
/// docs/behaviour.md A6.
pub mod socket_op {
    pub const OPEN: i32 = 0;
    pub const BIND: i32 = 1;
    pub const CONNECT: i32 = 2;
    pub const SHUTDOWN: i32 = 3;
}

/// `stage` of `dtee_replay`: the step of writing out held cron output that
/// failed, named as in docs/behaviour.md A6.
pub mod replay_stage {
    pub const SEEK: i32 = 0;
    pub const READ: i32 = 1;
    pub const WRITE: i32 = 2;
}

/// `ids[2]` of `dtee_spawn` after a failure:
/// `NAME: fork: ...` (71) or `NAME: COMMAND: ...` (66), docs/behaviour.md A5.
pub mod spawn_stage {
    /// Nothing failed.
    pub const NONE: i32 = 0;
    /// No process could be made, or its descriptors could not be set up.
    pub const FORK: i32 = 1;
    /// The command could not be executed (not found, not executable...).
    pub const EXEC: i32 = 2;
}

/// `flags` of `dtee_spawn`.
pub mod spawn_flag {
    /// The command runs in a process group of its own (a time limit is
    /// set), which takes the terminal's foreground when dtee's group has it.
    pub const OWN_GROUP: u32 = 1;
}

/// The result of `dtee_fd_info`: what a descriptor leads to, which decides
/// how outputs are grouped and which can meet a broken pipe
/// (docs/behaviour.md A3).
pub mod fd_kind {
    pub const OTHER: i32 = 0;
    /// A pipe or FIFO.
    pub const PIPE: i32 = 1;
    pub const SOCKET: i32 = 2;
    /// A regular file.
    pub const FILE: i32 = 3;
    /// A character or block device (a terminal, /dev/null).
    pub const DEVICE: i32 = 4;
    /// Added to the kind: a datagram or seqpacket socket, where each message needs a write of its own.
    pub const KEEPS_BOUNDARIES: i32 = 256;
}

/// The errno values (Linux) that the front end compares results against. C names.
pub mod errno {
    pub const EINTR: i32 = 4;
    pub const EIO: i32 = 5;
    pub const ECHILD: i32 = 10;
    pub const EAGAIN: i32 = 11;
    pub const ENOMEM: i32 = 12;
    pub const EACCES: i32 = 13;
    pub const EINVAL: i32 = 22;
    pub const EPIPE: i32 = 32;
    pub const ENAMETOOLONG: i32 = 36;
    pub const EMSGSIZE: i32 = 90;
    pub const ENOTRECOVERABLE: i32 = 131;
}

/// The signal numbers (Linux) the front end names. C names.
pub mod signal {
    pub const SIGHUP: i32 = 1;
    pub const SIGINT: i32 = 2;
    pub const SIGQUIT: i32 = 3;
    pub const SIGKILL: i32 = 9;
    pub const SIGUSR1: i32 = 10;
    pub const SIGUSR2: i32 = 12;
    pub const SIGPIPE: i32 = 13;
    pub const SIGTERM: i32 = 15;
    pub const SIGCHLD: i32 = 17;
    pub const SIGWINCH: i32 = 28;
}
