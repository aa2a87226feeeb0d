//! Opening dtee's files (output files, the log to replay, the cron-mode
//! buffer file) and the chores on its descriptors: blocking mode, closing,
//! fds 0-2 kept usable for dtee and closed for the command.

use crate::failable;
use crate::sys;
use std::ffi::{c_char, c_int, c_void, CStr};

/// An output file's mode before the umask, as the C tool creates it.
const OUTPUT_MODE: sys::mode_t = 0o666;

pub fn open_output(path: &CStr, append: bool) -> Result<c_int, c_int> {
    let mode = if append { sys::O_APPEND } else { sys::O_TRUNC };
    let flags = sys::O_WRONLY | sys::O_CREAT | sys::O_CLOEXEC | sys::O_NOCTTY | mode;
    // SAFETY: path is NUL-terminated.
    sys::check(unsafe { sys::open(path.as_ptr(), flags, OUTPUT_MODE) })
}

/// Opens a file to read (a log to replay); a directory is refused here
/// (EISDIR) rather than at the first read.
pub fn open_input(path: &CStr) -> Result<c_int, c_int> {
    // SAFETY: path is NUL-terminated.
    let fd = sys::check(unsafe { sys::open(path.as_ptr(), sys::O_CLOEXEC, 0) })?;
    let mut st = sys::statx_t::zeroed();
    // SAFETY: the path is an empty NUL-terminated string and st is a live statx_t.
    let ok = unsafe {
        sys::statx(
            fd,
            c"".as_ptr(),
            sys::AT_EMPTY_PATH,
            sys::STATX_TYPE,
            &mut st,
        )
    };
    if ok == 0 && st.stx_mode & sys::S_IFMT == sys::S_IFDIR {
        close(fd)?;
        return Err(sys::EISDIR);
    }
    Ok(fd)
}

/// Moves `fd`'s offset to `offset` bytes from the start (a log read again
/// from a run's start record); ESPIPE for a pipe.
pub fn seek(fd: c_int, offset: u64) -> Result<(), c_int> {
    let offset = i64::try_from(offset).map_err(|_| sys::EINVAL)?;
    // SAFETY: a plain system call on a descriptor number.
    let at = unsafe { failable::lseek(fd, offset, sys::SEEK_SET) };
    if at < 0 {
        return Err(sys::errno());
    }
    Ok(())
}

/// Reads what is there (up to `buf.len()` bytes; 0 at the end), going on after EINTR.
pub fn read(fd: c_int, buf: &mut [u8]) -> Result<usize, c_int> {
    loop {
        // SAFETY: buf is writable for its length.
        let n = unsafe { sys::read(fd, buf.as_mut_ptr() as *mut c_void, buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        match sys::errno() {
            sys::EINTR => continue,
            e => return Err(e),
        }
    }
}

pub fn set_blocking(fd: c_int) -> Result<(), c_int> {
    // SAFETY: fcntl with integer arguments on any descriptor number.
    let flags = sys::check(unsafe { failable::fcntl(fd, sys::F_GETFL, 0) })?;
    if flags & sys::O_NONBLOCK != 0 {
        // SAFETY: as above.
        sys::check(unsafe { failable::fcntl(fd, sys::F_SETFL, flags & !sys::O_NONBLOCK) })?;
    }
    Ok(())
}

pub fn close(fd: c_int) -> Result<(), c_int> {
    // SAFETY: closing a descriptor the caller owns.
    sys::check(unsafe { failable::close(fd) }).map(|_| ())
}

/// Creates the cron-mode buffer file from `template` (rewritten in place to
/// the name used) and unlinks it at once, so nothing is left behind.
pub fn temp_file(template: &mut [u8]) -> Result<c_int, c_int> {
    // SAFETY: the caller guarantees template is NUL-terminated and writable.
    let fd = sys::check(unsafe {
        failable::mkostemp(template.as_mut_ptr() as *mut c_char, sys::O_CLOEXEC)
    })?;
    // SAFETY: mkostemp left the NUL-terminated name of the file it created.
    unsafe { sys::unlink(template.as_ptr() as *const c_char) };
    Ok(fd)
}

/// Opens /dev/null on whichever of fds 0-2 are closed, so that no file or
/// socket dtee opens later lands on one of them, and marks every one that was closed when dtee started
/// close-on-exec, so that the command finds it closed (docs/behaviour.md
/// A7). Returns the mask of those opened here.
pub fn ensure_std_fds() -> Result<c_int, c_int> {
    let closed_at_start = crate::environ::closed_std_fds() as c_int;
    let mut opened = 0;
    for fd in 0..3 {
        // SAFETY: F_GETFD only inspects the descriptor.
        if unsafe { failable::fcntl(fd, sys::F_GETFD, 0) } < 0 {
            let flags = if fd == 0 {
                sys::O_RDONLY
            } else {
                sys::O_WRONLY
            };
            // SAFETY: the path is NUL-terminated; open takes the lowest free
            // descriptor, which is `fd` since all lower ones are open.
            let got = sys::check(unsafe { sys::open(c"/dev/null".as_ptr(), flags, 0) })?;
            if got != fd {
                close(got)?;
                return Err(sys::EIO);
            }
            opened |= 1 << fd;
        }
        if (opened | closed_at_start) & (1 << fd) != 0 {
            // SAFETY: fcntl with integer arguments on an open descriptor.
            sys::check(unsafe { failable::fcntl(fd, sys::F_SETFD, sys::FD_CLOEXEC) })?;
        }
    }
    Ok(opened)
}
