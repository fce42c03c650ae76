//! The few libuv functions the binding needs. Node exports libuv's symbols, so declaring
//! them is enough; handles are allocated with `uv_handle_size` so their layout is libuv's.
use std::ffi::{c_int, c_void};

#[allow(non_camel_case_types)]
pub type uv_loop_t = c_void;
#[allow(non_camel_case_types)]
pub type uv_handle_t = c_void;

pub const UV_IDLE: c_int = 6;
pub const UV_POLL: c_int = 8;
pub const UV_TIMER: c_int = 13;
pub const UV_READABLE: c_int = 1;

pub type PollCb = unsafe extern "C" fn(handle: *mut uv_handle_t, status: c_int, events: c_int);
pub type HandleCb = unsafe extern "C" fn(handle: *mut uv_handle_t);

extern "C" {
    pub fn uv_handle_size(t: c_int) -> usize;
    pub fn uv_poll_init(lp: *mut uv_loop_t, handle: *mut uv_handle_t, fd: c_int) -> c_int;
    pub fn uv_poll_start(handle: *mut uv_handle_t, events: c_int, cb: PollCb) -> c_int;
    pub fn uv_poll_stop(handle: *mut uv_handle_t) -> c_int;
    pub fn uv_timer_init(lp: *mut uv_loop_t, handle: *mut uv_handle_t) -> c_int;
    pub fn uv_timer_start(
        handle: *mut uv_handle_t,
        cb: HandleCb,
        timeout: u64,
        repeat: u64,
    ) -> c_int;
    pub fn uv_timer_stop(handle: *mut uv_handle_t) -> c_int;
    pub fn uv_idle_init(lp: *mut uv_loop_t, handle: *mut uv_handle_t) -> c_int;
    pub fn uv_idle_start(handle: *mut uv_handle_t, cb: HandleCb) -> c_int;
    pub fn uv_idle_stop(handle: *mut uv_handle_t) -> c_int;
    pub fn uv_close(handle: *mut uv_handle_t, cb: Option<HandleCb>);
    pub fn uv_ref(handle: *mut uv_handle_t);
    pub fn uv_unref(handle: *mut uv_handle_t);
}

/// Allocates zeroed memory for a handle of type `t` (freed by [`free_on_close`]).
pub fn alloc(t: c_int) -> *mut uv_handle_t {
    // SAFETY: uv_handle_size is a pure query; calloc returns zeroed memory or null.
    unsafe { libc::calloc(1, uv_handle_size(t)) }
}

/// The handle's `data` field (libuv puts `void* data` first in every handle).
///
/// # Safety
/// `h` must be a handle allocated by [`alloc`].
pub unsafe fn set_data(h: *mut uv_handle_t, data: *mut c_void) {
    // SAFETY: `data` is the first field of uv_handle_t (UV_HANDLE_FIELDS).
    unsafe { *(h as *mut *mut c_void) = data };
}

/// # Safety
/// `h` must be a handle allocated by [`alloc`].
pub unsafe fn data(h: *mut uv_handle_t) -> *mut c_void {
    // SAFETY: as in set_data.
    unsafe { *(h as *mut *mut c_void) }
}

/// Frees a closed handle's memory.
///
/// # Safety
/// Called by libuv once the handle, allocated by [`alloc`], is closed.
unsafe extern "C" fn free_cb(h: *mut uv_handle_t) {
    // SAFETY: libuv is done with the handle; it was allocated with calloc.
    unsafe { libc::free(h) };
}

/// Closes a handle and frees its memory once libuv is done with it.
///
/// # Safety
/// `h` must be an initialised handle allocated by [`alloc`], closed only once.
pub unsafe fn close_and_free(h: *mut uv_handle_t) {
    // SAFETY: per the contract; no callback of the handle runs after uv_close.
    unsafe {
        set_data(h, std::ptr::null_mut());
        uv_close(h, Some(free_cb));
    }
}
