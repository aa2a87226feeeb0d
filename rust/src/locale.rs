//! The C library's error and signal texts in the user's locale, as the C
//! tool's `setlocale(LC_ALL, "")` gives them (docs/behaviour.md A6), without
//! changing the runtime's global locale: one locale object built from the
//! environment, used per call (strerror_l, and uselocale around strsignal,
//! which has no _l form). gettext inside the C library then also follows
//! LANGUAGE, as it does for the C tool.

use crate::sys::{self, locale_t};
use std::ffi::{c_char, CStr};
use std::sync::OnceLock;

/// The locale object, made once; kept as an address to be Sync.
static LOCALE: OnceLock<usize> = OnceLock::new();

fn locale() -> locale_t {
    *LOCALE.get_or_init(|| {
        // SAFETY: newlocale reads LC_ALL, LC_* and LANG like setlocale(LC_ALL,
        // ""); like setlocale it fails as a whole when one category cannot
        // be loaded, and the C tool then stays in the "C" locale, which
        // always exists.
        unsafe {
            let mut loc = sys::newlocale(sys::LC_ALL_MASK, c"".as_ptr(), std::ptr::null_mut());
            if loc.is_null() {
                loc = sys::newlocale(sys::LC_ALL_MASK, c"C".as_ptr(), std::ptr::null_mut());
            }
            loc as usize
        }
    }) as locale_t
}

/// Copies a C string into `out`, truncated to fit; returns the bytes copied.
fn copy_text(text: *const c_char, out: &mut [u8]) -> usize {
    if text.is_null() {
        return 0;
    }
    // SAFETY: the C library returned a NUL-terminated string.
    let bytes = unsafe { CStr::from_ptr(text) }.to_bytes();
    let n = bytes.len().min(out.len());
    out[..n].copy_from_slice(&bytes[..n]);
    n
}

pub fn strerror(errnum: i32, out: &mut [u8]) -> usize {
    let loc = locale();
    if loc.is_null() {
        return 0;
    }
    // SAFETY: strerror_l returns a NUL-terminated string that stays valid
    // until the next strerror_l call of this thread; it is copied at once.
    copy_text(unsafe { sys::strerror_l(errnum, loc) }, out)
}

pub fn strsignal(sig: i32, out: &mut [u8]) -> usize {
    let loc = locale();
    if loc.is_null() {
        return 0;
    }
    // SAFETY: uselocale changes this thread's locale only, and it is put
    // back before returning; strsignal's text (thread-local for unknown
    // signals) is copied before any other call could replace it.
    unsafe {
        let previous = sys::uselocale(loc);
        let n = copy_text(sys::strsignal(sig), out);
        sys::uselocale(previous);
        n
    }
}

/// The name of the LC_MESSAGES category of the locale in effect.
pub fn messages_name(out: &mut [u8]) -> usize {
    let loc = locale();
    if loc.is_null() {
        return 0;
    }
    // SAFETY: the name lives as long as the locale object, which is never freed.
    copy_text(
        unsafe { sys::nl_langinfo_l(sys::NL_LOCALE_NAME_MESSAGES, loc) },
        out,
    )
}
