//! Local time as the C library computes it from TZ (annotated output's time
//! stamps, docs/behaviour.md B5): POSIX TZ strings (`CET-1CEST,M3.5.0,M10.5.0/3`),
//! `:Area/City`, TZDIR and /etc/localtime mean here what they mean to
//! `date(1)`, which the runtime's own time zone support does not promise.

use crate::sys;
use std::ffi::CStr;
use std::sync::Once;

/// How many numbers `broken_down` fills.
pub const FIELDS: usize = 10;

static TZSET: Once = Once::new();

/// The local time of `t` (seconds since the epoch): year, month 1-12, day,
/// hour, minute, second, weekday (Sunday 0), day of the year (0-365), DST
/// flag, offset east of UTC in seconds into `fields`; the zone's
/// abbreviation into `zone`, truncated to fit. Returns the abbreviation's
/// length, or EOVERFLOW when the year does not fit the C library's `int`.
pub fn broken_down(t: i64, fields: &mut [i64], zone: &mut [u8]) -> Result<usize, i32> {
    if fields.len() < FIELDS {
        return Err(sys::EINVAL);
    }
    // SAFETY: tzset only reads the environment and the zone files; localtime_r
    // calls it again only while it never ran (POSIX leaves that open), so it
    // is done once here, before the first conversion.
    TZSET.call_once(|| unsafe { sys::tzset() });
    // SAFETY: an all-zero `tm` is valid (integers and a null pointer).
    let mut tm: sys::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to live locals of the right types.
    if unsafe { sys::localtime_r(&t, &mut tm) }.is_null() {
        return Err(sys::EOVERFLOW);
    }
    let values = [
        i64::from(tm.tm_year) + 1900,
        i64::from(tm.tm_mon) + 1,
        i64::from(tm.tm_mday),
        i64::from(tm.tm_hour),
        i64::from(tm.tm_min),
        i64::from(tm.tm_sec),
        i64::from(tm.tm_wday),
        i64::from(tm.tm_yday),
        i64::from(tm.tm_isdst),
        tm.tm_gmtoff as i64,
    ];
    fields[..FIELDS].copy_from_slice(&values);
    if tm.tm_zone.is_null() {
        return Ok(0);
    }
    // SAFETY: tm_zone points to a NUL-terminated name the C library keeps
    // for as long as the zone data it came from (not freed before the next tzset).
    let name = unsafe { CStr::from_ptr(tm.tm_zone) }.to_bytes();
    let n = name.len().min(zone.len());
    zone[..n].copy_from_slice(&name[..n]);
    Ok(n)
}
