//! The environment the command is started with (docs/behaviour.md A7).

use std::ffi::c_char;

/// The envp to give the command.
pub fn command_env() -> *const *const c_char {
    // SAFETY: reading the C library's environment pointer.
    unsafe { crate::sys::environ }
}
