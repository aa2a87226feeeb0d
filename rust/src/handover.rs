//! What the native launcher (rust/src/bin/dtee.rs) hands over to the shim
//! (rust/src/environ.rs): the names of the variables it sets in Deno's
//! environment and the seals of its memfd. Both crates compile this one
//! file, so the two sides cannot drift apart.

use std::ffi::c_int;

/// The sealed memfd holding the launcher's arguments, then its environment.
pub const START_FD: &str = "DTEE_START_FD";
/// How many bytes of that memfd are the arguments.
pub const ARGS_LEN: &str = "DTEE_ARGS_LEN";
/// A working directory that had been removed, as a descriptor.
pub const CWD_FD: &str = "DTEE_CWD_FD";
/// The mask of fds 0-2 the launcher found closed.
pub const CLOSED_FDS: &str = "DTEE_CLOSED_FDS";
/// The launcher's RLIMIT_NOFILE soft limit before it raised it for Deno.
pub const NOFILE: &str = "DTEE_NOFILE";
/// The signals the launcher found ignored.
pub const IGNORED: &str = "DTEE_IGNORED";
/// Every name above: none of them comes from the launcher's environment
/// (only the launcher filters its environment by name).
#[allow(dead_code)]
pub const ALL: [&str; 6] = [START_FD, ARGS_LEN, CWD_FD, CLOSED_FDS, NOFILE, IGNORED];
/// F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE: what marks the
/// launcher's memfd; no file that was not made so can carry them.
pub const SEALS: c_int = 0xf;
