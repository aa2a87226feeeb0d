// Placeholder until scripts/gen-abi.ts generates this file from rust/src/abi.rs.
export const ABI_VERSION = 3;
export const Event = { child: 1, signal: 2, truncated: 4 } as const;
export const Stream = { foreign: 0, stdout: 1, stderr: 2 } as const;
export const Disposition = { default: 0, ignore: 1, catch: 2 } as const;
export const SocketWho = ["directory", "input", "stdout", "stderr"] as const;
export const SocketOp = ["open", "bind", "connect", "shutdown"] as const;
export const ReplayStage = ["seek", "read", "write"] as const;
export const SpawnStage = ["none", "fork", "exec"] as const;
export const FdKind = ["other", "pipe", "socket", "file", "terminal"] as const;
export const Errno = { ECHILD: 10, EAGAIN: 11, ENOMEM: 12, EPIPE: 32, EMSGSIZE: 90 } as const;
export const Signal = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGUSR1: 10,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGTERM: 15,
  SIGCHLD: 17,
  SIGWINCH: 28,
} as const;
