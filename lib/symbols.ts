// Generated from rust/src/lib.rs by scripts/gen-abi.ts: do not edit.
// Change an export in rust/src/lib.rs, then run `deno run -A scripts/gen-abi.ts`.

/**
 * Every export of the shim as Deno's FFI binds it, each parameter named as in Rust
 * (lib/ffi.ts holds the typed wrappers).
 */
export const symbols = {
  dtee_abi_version: { parameters: [], result: "u32" },
  /**
   * Creates the socket directory from the mkdtemp pattern `template`
   * (NUL-terminated, rewritten in place), the input socket and the two
   * output sockets. Out: `fds` = [input, stdout, stderr]; `limits` =
   * [send buffer, receive buffer, largest single write]; on failure `fail`
   * = [who (`abi::socket_who`), op (`abi::socket_op`)].
   */
  dtee_open_sockets: {
    parameters: [
      /* template */ "buffer",
      /* fds */ "buffer",
      /* limits */ "buffer",
      /* fail */ "buffer",
    ],
    result: "i32",
  },
  /**
   * Starts the command given as `argc` NUL-terminated words in `words` with
   * `out_fd`/`err_fd` as its fd 1/2, found and run as execvp(3) would;
   * `flags`: bits of `abi::spawn_flag`.
   * Out: `ids` = [pid, pidfd or -1, stage]; stage (`abi::spawn_stage`) says
   * what failed when the result is negative, and is NONE otherwise.
   */
  dtee_spawn: {
    parameters: [
      /* words */ "buffer",
      /* words_len */ "usize",
      /* argc */ "u32",
      /* out_fd */ "i32",
      /* err_fd */ "i32",
      /* flags */ "u32",
      /* ids */ "buffer",
    ],
    result: "i32",
  },
  /**
   * Gives the command (`dtee_spawn`, `dtee_exec`) the variable `entry`
   * (NUL-terminated `NAME=VALUE`), combined with the value it would inherit
   * as `join` (`abi::env_join`) says: `-L` only, since by default the
   * command inherits dtee's environment byte for byte (docs/behaviour.md A7).
   */
  dtee_env_add: { parameters: [/* entry */ "buffer", /* join */ "i32"], result: "i32" },
  /**
   * Replaces the process with the command, found and run as execvp(3)
   * would; returns only on failure (always the exec stage).
   */
  dtee_exec: {
    parameters: [/* words */ "buffer", /* words_len */ "usize", /* argc */ "u32"],
    result: "i32",
  },
  /**
   * Receives up to `slots` queued datagrams into `buf` (`slots` slots of
   * `slot_size` bytes), with each one's length in `lens`, stream in
   * `streams` (`abi::stream`) and the time the kernel queued it in `times`
   * (nanoseconds since the Unix epoch, 0 when unknown). Waits up to
   * `timeout_ms` (-1: forever) when nothing is queued. Out: `events`, bits
   * of `abi::event`. Returns the number of datagrams received.
   */
  dtee_recv: {
    parameters: [
      /* sock */ "i32",
      /* pidfd */ "i32",
      /* buf */ "buffer",
      /* slot_size */ "u32",
      /* slots */ "u32",
      /* lens */ "buffer",
      /* streams */ "buffer",
      /* times */ "buffer",
      /* timeout_ms */ "i32",
      /* events */ "buffer",
    ],
    result: "i32",
  },
  /**
   * Writes messages `from..to` of a received batch whose stream bit
   * (`abi::mask`: 1 << stream) is set in `mask` to `fd`, in order; a
   * zero-length message is a zero-length write when it is the only one
   * (docs/behaviour.md A7). Returns how many messages that was: 0 means
   * nothing was written, not a success. On failure `done` = the index of
   * the message being written then (all wanted ones before it went out whole).
   * -EINTR: a signal caught with `disposition::INTERRUPT` is pending (or dtee
   * is stopping and the reader stalled); it stays pending for the caller.
   */
  dtee_write_batch: {
    parameters: [
      /* fd */ "i32",
      /* buf */ "buffer",
      /* slot_size */ "u32",
      /* lens */ "buffer",
      /* streams */ "buffer",
      /* from */ "u32",
      /* to */ "u32",
      /* mask */ "u32",
      /* done */ "buffer",
    ],
    result: "i32",
  },
  /**
   * Writes all `len` bytes at `buf` to `fd`; -EINTR as for `dtee_write_batch`.
   */
  dtee_write: {
    parameters: [/* fd */ "i32", /* buf */ "buffer", /* len */ "usize"],
    result: "i32",
  },
  /**
   * waitpid(): returns the pid reaped (0 with `nohang` when none is ready)
   * and stores its raw wait status.
   */
  dtee_wait: {
    parameters: [/* pid */ "i32", /* nohang */ "i32", /* status */ "buffer"],
    result: "i32",
  },
  /**
   * Sets the disposition of `sig` (`abi::disposition`); catching it or
   * restoring its default also unblocks it in the calling thread, as a
   * signal blocked when dtee started must not stay blocked
   * (docs/behaviour.md A7).
   */
  dtee_signal_set: { parameters: [/* sig */ "i32", /* disposition */ "i32"], result: "i32" },
  /**
   * Unblocks `sig` in the calling thread without changing its disposition:
   * outside cron mode a signal dtee keeps at its default action (or that it
   * inherited ignored) must not stay blocked either (docs/behaviour.md A5, A7).
   */
  dtee_signal_unblock: { parameters: [/* sig */ "i32"], result: "i32" },
  /**
   * dtee is going the interrupted way: from now on its writes give up when
   * the reader makes no room for a while, instead of waiting for it.
   */
  dtee_signal_stopping: { parameters: [], result: "i32" },
  /**
   * 1 when `sig` was ignored (SIG_IGN) when dtee started, else 0: dtee
   * does not catch such a signal only to die by it (docs/behaviour.md B3).
   */
  dtee_signal_ignored: { parameters: [/* sig */ "i32"], result: "i32" },
  /**
   * The lowest caught signal still pending (now taken), or 0.
   */
  dtee_signal_take: { parameters: [], result: "i32" },
  /**
   * Sends `sig` to process `pid` (an init process forwarding a signal).
   */
  dtee_kill: { parameters: [/* pid */ "i32", /* sig */ "i32"], result: "i32" },
  /**
   * Sends `sig` to the process group of the command `pid` (started with
   * `spawn_flag::OWN_GROUP`) and to the command itself, then SIGCONT unless
   * `sig` is SIGKILL; a group that is gone is no error.
   */
  dtee_signal_group: { parameters: [/* pid */ "i32", /* sig */ "i32"], result: "i32" },
  /**
   * Gives the terminal back to dtee's own process group if the command's
   * group took its foreground at spawn; later calls do nothing.
   */
  dtee_terminal_restore: { parameters: [], result: "i32" },
  /**
   * After a SIGCHLD: 1 when the command `pid` had stopped while its group
   * held the terminal (Ctrl-Z), and dtee stopped and was continued in turn
   * (`job::follow_stop`), else 0.
   */
  dtee_job_follow_stop: { parameters: [/* pid */ "i32"], result: "i32" },
  /**
   * Sets the time limit's deadline `ns` nanoseconds from now (0: none);
   * `dtee_recv` reports `event::TIMER` once it has passed.
   */
  dtee_timer_set: { parameters: [/* ns */ "i64"], result: "i32" },
  /**
   * Makes dtee the parent of its descendants' orphans (as an init process is
   * by nature), so that it can reap them.
   */
  dtee_set_subreaper: { parameters: [], result: "i32" },
  /**
   * Dies by `sig` with its default action, even when it is blocked; returns
   * only if that action does not end the process.
   */
  dtee_die: { parameters: [/* sig */ "i32"], result: "i32" },
  /**
   * Opens an output file (append or truncate, 0666 less umask, close-on-exec,
   * no controlling tty). Returns the descriptor.
   */
  dtee_open_output: { parameters: [/* path */ "buffer", /* append */ "i32"], result: "i32" },
  /**
   * Opens a file to read (a log to replay). Returns the descriptor.
   */
  dtee_open_input: { parameters: [/* path */ "buffer"], result: "i32" },
  /**
   * Reads up to `cap` bytes from `fd` into `buf`; returns how many (0 at the end).
   */
  dtee_read: { parameters: [/* fd */ "i32", /* buf */ "buffer", /* cap */ "usize"], result: "i32" },
  /**
   * Moves `fd`'s offset to `offset` bytes from the start; -ESPIPE for a pipe.
   */
  dtee_seek: { parameters: [/* fd */ "i32", /* offset */ "u64"], result: "i32" },
  /**
   * Waits up to `timeout_ms` for a caught signal: 1 when one is pending, else 0.
   */
  dtee_pause: { parameters: [/* timeout_ms */ "i32"], result: "i32" },
  /**
   * Creates and unlinks the cron-mode buffer file from the mkostemp pattern
   * `template` (NUL-terminated, rewritten in place). Returns the descriptor.
   */
  dtee_temp_file: { parameters: [/* template */ "buffer"], result: "i32" },
  /**
   * Copies the buffer file `src` from its start: the `count` pieces of
   * `pieces` (byte counts), piece i to `dsts[i]`, in large writes, or with
   * `whole` each piece in a write of its own. On failure `stage[0]` = the
   * step that failed (`abi::replay_stage`) and `stage[1]` = the destination
   * a WRITE failed on (else -1); a WRITE that fails with -EINTR was stopped
   * as `dtee_write_batch` is.
   */
  dtee_replay: {
    parameters: [
      /* src */ "i32",
      /* pieces */ "buffer",
      /* dsts */ "buffer",
      /* count */ "u32",
      /* whole */ "i32",
      /* stage */ "buffer",
    ],
    result: "i32",
  },
  dtee_set_blocking: { parameters: [/* fd */ "i32"], result: "i32" },
  dtee_close: { parameters: [/* fd */ "i32"], result: "i32" },
  /**
   * 1 when writes to `b` may be merged into writes to `a` without any reader
   * seeing a difference (the same description, or the same terminal, pipe,
   * socket or appended file), else 0.
   */
  dtee_same_destination: { parameters: [/* a */ "i32", /* b */ "i32"], result: "i32" },
  /**
   * What `fd` leads to: `info` = [device, inode, size]; returns its kind
   * (`abi::fd_kind`, plus KEEPS_BOUNDARIES for a datagram socket).
   */
  dtee_fd_info: { parameters: [/* fd */ "i32", /* info */ "buffer"], result: "i32" },
  /**
   * What `path` names (symlinks followed), without opening it: as
   * `dtee_fd_info`, without KEEPS_BOUNDARIES.
   */
  dtee_path_info: { parameters: [/* path */ "buffer", /* info */ "buffer"], result: "i32" },
  /**
   * Opens /dev/null on whichever of fds 0-2 are closed and makes those that
   * were closed when dtee started close-on-exec; returns the mask of those
   * opened.
   */
  dtee_ensure_std_fds: { parameters: [], result: "i32" },
  /**
   * strerror(3) text of `errnum` in the user's locale (docs/behaviour.md A6)
   * into `buf` (up to `cap` bytes); returns its length.
   */
  dtee_strerror: {
    parameters: [/* errnum */ "i32", /* buf */ "buffer", /* cap */ "usize"],
    result: "i32",
  },
  /**
   * strsignal(3) text of `sig` in the user's locale into `buf` (up to `cap`
   * bytes); returns its length.
   */
  dtee_strsignal: {
    parameters: [/* sig */ "i32", /* buf */ "buffer", /* cap */ "usize"],
    result: "i32",
  },
  /**
   * The name of the LC_MESSAGES locale those texts follow (`en_US.UTF-8`,
   * `C`...) into `buf` (up to `cap` bytes); returns its length.
   */
  dtee_messages_locale: { parameters: [/* buf */ "buffer", /* cap */ "usize"], result: "i32" },
  /**
   * dtee's own command line, argv[0] first, each word followed by a NUL
   * (rust/src/environ.rs: the native launcher's words, else the last `argc`
   * words of /proc/self/cmdline after argv[0]) into `buf` (up to `cap`
   * bytes); returns its whole length, which is larger than `cap` when the
   * buffer was too small.
   */
  dtee_invocation: {
    parameters: [/* buf */ "buffer", /* cap */ "usize", /* argc */ "u32"],
    result: "i32",
  },
  /**
   * The local time of `t` (seconds since the epoch) under TZ, as localtime_r(3)
   * gives it: `fields[10]` (see localtime.rs) and the zone's abbreviation into
   * `zone` (up to `cap` bytes); returns the abbreviation's length.
   */
  dtee_localtime: {
    parameters: [/* t */ "i64", /* fields */ "buffer", /* zone */ "buffer", /* cap */ "usize"],
    result: "i32",
  },
} as const satisfies Deno.ForeignLibraryInterface;
