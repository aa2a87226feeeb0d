//! Careful writes (docs/behaviour.md A7): every byte of a batch's wanted
//! messages in as few system calls as possible, and a reader that stalls or
//! a signal that stops dtee never holds it in the kernel.

use crate::batch::Batch;
use crate::failable;
use crate::identity::keeps_boundaries;
use crate::recv::MAX_SLOTS;
use crate::signals;
use crate::sys::{self, iovec};
use std::ffi::{c_int, c_void};

/// A write that failed: `at` is the message (or iovec) being written then,
/// every one before it having gone out whole, and `errno` why.
pub struct WriteError {
    pub at: usize,
    pub errno: c_int,
}

impl WriteError {
    fn new(at: usize, errno: c_int) -> Self {
        WriteError { at, errno }
    }
}

/// How long a write may make no progress once dtee is stopping before it
/// gives up (`signals::stopping`): a reader that reads at all keeps it
/// going, one that does not cannot hold dtee (docs/behaviour.md A7).
const STALL_MS: c_int = 200;

/// The most a careful write asks for: PIPE_BUF, the size a pipe that poll()
/// calls writable takes without blocking.
const CAREFUL_CHUNK: usize = 4096;

/// Waits until `fd` takes more data: false when `timeout_ms` (>= 0) passes
/// first, and at once when it does not take any while a signal that stops
/// dtee is pending. A descriptor dtee made blocking can be made
/// non-blocking again by the command through a shared description (its
/// stdin on the same terminal or socket).
fn wait_writable(fd: c_int, timeout_ms: c_int) -> Result<bool, c_int> {
    let mut fds = [
        sys::pollfd {
            fd,
            events: sys::POLLOUT,
            revents: 0,
        },
        sys::pollfd {
            fd: signals::wake_fd(),
            events: sys::POLLIN,
            revents: 0,
        },
    ];
    loop {
        let timeout = if signals::interrupt_due() {
            0
        } else {
            timeout_ms
        };
        // SAFETY: fds is a live array of the length given; poll ignores a negative fd.
        let ready = unsafe { sys::poll(fds.as_mut_ptr(), fds.len() as u64, timeout) };
        match ready {
            0 => return Ok(false),
            n if n > 0 && fds[0].revents != 0 => return Ok(true),
            // Only a wake-up byte: the receive loop looks at the pending set
            // itself, so the byte is not needed any more.
            n if n > 0 => signals::drain_wake_fd(),
            _ if sys::errno() == sys::EINTR => {}
            _ => return Err(sys::errno()),
        }
    }
}

/// Writes every byte of `iovs`, going on after short writes, EINTR and
/// EAGAIN. Nothing but empty iovecs is one zero-length write: to a datagram
/// socket that is a message of its own (docs/behaviour.md A7). That one
/// goes through write(2): Linux's writev returns at once when there is
/// nothing to write, without a word to the socket.
/// A failure says how many of the iovecs were written whole first. EINTR:
/// it would have had to wait for the reader while a signal that stops dtee
/// is pending, or (dtee stopping) the reader took nothing for STALL_MS;
/// a file or a reader that keeps up still gets everything.
///
/// The usual write is one plain writev, one system call. Once a write came
/// back short, interrupted or with EAGAIN (the reader is behind), while a
/// stop is pending and once dtee is stopping, it is careful instead: poll()
/// on the fd and the signal self-pipe, then at most PIPE_BUF at a time,
/// which a pipe that poll() calls writable takes without sleeping, so that
/// a signal cannot find it asleep in the kernel with nothing to wake it
/// (whole writes where that would split a datagram, or where EAGAIN showed
/// that the description does not sleep).
/// The plain writev sleeps in the kernel when the reader is behind, and a
/// signal that stops dtee ends that sleep (it is caught without SA_RESTART,
/// signals.rs); one that lands in the instant between the check and that
/// sleep is seen when the reader makes room or another signal comes.
fn write_all_vectored(fd: c_int, mut iovs: &mut [iovec]) -> Result<(), WriteError> {
    if iovs.is_empty() {
        return Ok(());
    }
    let mut written = 0;
    let mut left: usize = iovs.iter().map(|iov| iov.iov_len).sum();
    let empty = left == 0;
    let stopping = signals::stopping();
    let mut behind = false;
    // The most one careful write asks for, decided at the first one: a
    // message to a datagram socket must go whole (its boundaries are the
    // messages), and a non-blocking description (EAGAIN) never sleeps.
    let mut limit: Option<usize> = None;
    loop {
        let careful = behind || stopping || signals::interrupt_due();
        if careful {
            let timeout = if stopping { STALL_MS } else { -1 };
            if !wait_writable(fd, timeout).map_err(|e| WriteError::new(written, e))? {
                return Err(WriteError::new(written, sys::EINTR));
            }
        }
        let count = iovs.len().min(sys::IOV_MAX) as c_int;
        let most = if careful {
            *limit.get_or_insert_with(|| {
                if keeps_boundaries(fd) {
                    usize::MAX
                } else {
                    CAREFUL_CHUNK
                }
            })
        } else {
            usize::MAX
        };
        // SAFETY: iovs describes live, readable memory; an empty write reads none.
        let mut done = unsafe {
            if empty {
                sys::write(fd, iovs[0].iov_base, 0)
            } else if most < usize::MAX {
                let first = iovs.iter().find(|iov| iov.iov_len > 0).unwrap_or(&iovs[0]);
                sys::write(fd, first.iov_base, first.iov_len.min(most))
            } else {
                failable::writev(fd, iovs.as_ptr(), count)
            }
        };
        if done < 0 {
            match sys::errno() {
                sys::EAGAIN => {
                    behind = true;
                    limit = Some(usize::MAX);
                    continue;
                }
                sys::EINTR => {
                    behind = true;
                    continue;
                }
                e => return Err(WriteError::new(written, e)),
            }
        }
        if done == 0 && left > 0 {
            return Err(WriteError::new(written, sys::EIO));
        }
        left -= done as usize;
        if left == 0 {
            return Ok(());
        }
        behind = true;
        while let Some(first) = iovs.first_mut() {
            if (done as usize) < first.iov_len {
                // SAFETY: advancing within the same iovec's memory.
                first.iov_base =
                    unsafe { (first.iov_base as *mut u8).add(done as usize) } as *mut c_void;
                first.iov_len -= done as usize;
                break;
            }
            done -= first.iov_len as isize;
            iovs = &mut iovs[1..];
            written += 1;
        }
    }
}

pub fn write_all(fd: c_int, buf: &[u8]) -> Result<(), c_int> {
    let mut iov = [iovec {
        iov_base: buf.as_ptr() as *mut c_void,
        iov_len: buf.len(),
    }];
    write_all_vectored(fd, &mut iov).map_err(|failed| failed.errno)
}

/// Writes the messages `from..to` of a batch whose stream bit is in `mask`
/// (bit 1 << stream), in order, in as few system calls as possible.
/// Returns how many messages that was; a failure says at which message it
/// happened (every wanted one before it was written whole).
pub fn write_batch(
    fd: c_int,
    batch: &Batch,
    from: usize,
    to: usize,
    mask: u32,
) -> Result<usize, WriteError> {
    if to > batch.slots() || to > MAX_SLOTS || from > to {
        return Err(WriteError::new(from, sys::EINVAL));
    }
    let mut index = [0usize; MAX_SLOTS];
    let mut iovs: [iovec; MAX_SLOTS] = std::array::from_fn(|_| iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    });
    let mut used = 0;
    for i in from..to {
        let len = batch.lens[i] as usize;
        if mask.checked_shr(batch.streams[i] as u32).unwrap_or(0) & 1 == 0 {
            continue;
        }
        iovs[used].iov_base = batch.slot(i) as *mut c_void;
        iovs[used].iov_len = len.min(batch.slot_size());
        index[used] = i;
        used += 1;
    }
    write_all_vectored(fd, &mut iovs[..used])
        .map(|_| used)
        .map_err(|failed| WriteError::new(index[failed.at], failed.errno))
}
