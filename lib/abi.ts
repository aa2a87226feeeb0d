// Generated from rust/src/abi.rs by scripts/gen-abi.ts: do not edit.
// Change rust/src/abi.rs, then run `deno run -A scripts/gen-abi.ts`.

/** Must equal what the shim's dtee_abi_version() returns. */
export const ABI_VERSION = 14;

/**
 * `join` of `dtee_env_add`: how a value meets the one the command would
 * otherwise inherit.
 */
export const EnvJoin = {
  /** An inherited non-empty value is kept; otherwise the variable is set. */
  keep: 0,
  /** Added after the inherited value and a colon (LD_PRELOAD). */
  colon: 1,
  /** Added after the inherited value and a space (PERL5OPT, RUBYOPT). */
  space: 2,
} as const;

/** Bits of the `events` word of `dtee_recv`. */
export const Event = {
  /** The child's pidfd is readable: it has exited. */
  child: 1,
  /** A caught signal is pending (`dtee_signal_take`). */
  signal: 2,
  /** A message from the command was larger than a slot and is lost. */
  truncated: 4,
  /** The deadline of `dtee_timer_set` has passed (reported once). */
  timer: 8,
} as const;

/** Who sent a received message (`streams[i]` of `dtee_recv`). */
export const Stream = {
  /** Any sender but the two output sockets: ignored (docs/behaviour.md A7). */
  foreign: 0,
  stdout: 1,
  stderr: 2,
} as const;

/** `mask` of `dtee_write_batch`: a message goes out when bit `1 << stream` is set. */
export const Mask = {
  stdout: 2,
  stderr: 4,
  combined: 6,
} as const;

/** `disposition` of `dtee_signal_set`. */
export const Disposition = {
  default: 0,
  ignore: 1,
  /** The signal becomes pending and wakes `dtee_recv`. */
  catch: 2,
  /**
   * As CATCH, and while it is pending dtee's own writes stop short with
   * EINTR instead of waiting for a reader (docs/behaviour.md A7): a
   * signal whose policy is to stop dtee.
   */
  interrupt: 3,
} as const;

/** `fail[0]` of `dtee_open_sockets`: what a setup failure is about. */
export const SocketWho = {
  directory: 0,
  input: 1,
  stdout: 2,
  stderr: 3,
} as const;

/**
 * `fail[1]` of `dtee_open_sockets`: the step that failed, named as in
 * docs/behaviour.md A6.
 */
export const SocketOp = {
  open: 0,
  bind: 1,
  connect: 2,
  shutdown: 3,
} as const;

/**
 * `stage` of `dtee_replay`: the step of writing out held cron output that
 * failed, named as in docs/behaviour.md A6.
 */
export const ReplayStage = {
  seek: 0,
  read: 1,
  write: 2,
} as const;

/**
 * `ids[2]` of `dtee_spawn` after a failure:
 * `NAME: fork: ...` (71) or `NAME: COMMAND: ...` (66), docs/behaviour.md A5.
 */
export const SpawnStage = {
  /** Nothing failed. */
  none: 0,
  /** No process could be made, or its descriptors could not be set up. */
  fork: 1,
  /** The command could not be executed (not found, not executable...). */
  exec: 2,
} as const;

/** `flags` of `dtee_spawn`. */
export const SpawnFlag = {
  /**
   * The command runs in a process group of its own (a time limit is
   * set), which takes the terminal's foreground when dtee's group has it.
   */
  ownGroup: 1,
} as const;

/**
 * The result of `dtee_fd_info`: what a descriptor leads to, which decides
 * how outputs are grouped and which can meet a broken pipe
 * (docs/behaviour.md A3).
 */
export const FdKind = {
  other: 0,
  /** A pipe or FIFO. */
  pipe: 1,
  socket: 2,
  /** A regular file. */
  file: 3,
  /** A character or block device (a terminal, /dev/null). */
  device: 4,
  /** Added to the kind: a datagram or seqpacket socket, where each message needs a write of its own. */
  keepsBoundaries: 256,
} as const;

/** The errno values (Linux) that the front end compares results against. C names. */
export const Errno = {
  EINTR: 4,
  EIO: 5,
  ECHILD: 10,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EINVAL: 22,
  EPIPE: 32,
  ENAMETOOLONG: 36,
  EMSGSIZE: 90,
  ENOTRECOVERABLE: 131,
} as const;

/** The signal numbers (Linux) the front end names. C names. */
export const Signal = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGTERM: 15,
  SIGCHLD: 17,
  SIGWINCH: 28,
} as const;
