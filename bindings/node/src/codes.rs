//! Event kinds and flags shared with the JS side (exported to it as `codes`). The JS side reads
//! them from `native.codes()` (lib/codes.js), so the two cannot drift.
use std::ptr::null_mut;

use napi::sys;

use crate::napi_util::{set_named, uint, Cx, JsResult, Value};

// Event kinds passed to the JS `onEvent(kind, a, b, c)` callback.
pub(crate) const EV_CONNECTION: u32 = 1;
pub(crate) const EV_CONN_CLOSE: u32 = 2;
pub(crate) const EV_CLIENT_ERROR: u32 = 3;
pub(crate) const EV_TIMEOUT: u32 = 4;
pub(crate) const EV_DATA: u32 = 5;
pub(crate) const EV_END: u32 = 6;
pub(crate) const EV_ABORTED: u32 = 7;
pub(crate) const EV_FINISH: u32 = 8;
pub(crate) const EV_CLOSE: u32 = 9;
pub(crate) const EV_DRAIN: u32 = 10;
pub(crate) const EV_SERVER_CLOSE: u32 = 11;
pub(crate) const EV_SOCK_DATA: u32 = 12;
pub(crate) const EV_SOCK_END: u32 = 13;
pub(crate) const EV_SOCK_DRAIN: u32 = 14;
pub(crate) const EV_SOCK_CLOSE: u32 = 15;
pub(crate) const EV_REQ_TIMEOUT: u32 = 16;
pub(crate) const EV_RES_TIMEOUT: u32 = 17;

// Flags of `onRequest(handle, method, url, flags)`.
pub(crate) const RF_HTTP11: u32 = 1;
pub(crate) const RF_BODY: u32 = 2;
pub(crate) const RF_KEEPALIVE: u32 = 4;
pub(crate) const RF_CONTINUE: u32 = 8;
pub(crate) const RF_EXPECTATION: u32 = 16;
pub(crate) const RF_UPGRADE: u32 = 32;
pub(crate) const RF_CONNECT: u32 = 64;
/// The whole body came with the request (batch int 9: its place in a pool, the pool's
/// index in `onBatch`'s array at `flags >>> WHOLE_POOL_SHIFT`); no 'data'/'end' events follow.
pub(crate) const RF_WHOLE: u32 = 128;
/// Over maxRequestsPerSocket: the engine answers 503; JS emits 'dropRequest' (no response,
/// no body).
pub(crate) const RF_DROP: u32 = 256;
pub(crate) const WHOLE_POOL_SHIFT: u32 = 16;
pub(crate) const WF_NO_DATE: u32 = 1;
pub(crate) const WF_RM_DATE: u32 = 2;
pub(crate) const WF_RM_CONNECTION: u32 = 4;
pub(crate) const WF_RM_KEEPALIVE: u32 = 8;
pub(crate) const WF_RM_CL: u32 = 16;
pub(crate) const WF_RM_TE: u32 = 32;

/// end(): release the pair afterwards.
pub(crate) const WF_RELEASE: u32 = 64;

/// end() with release: return the request head's bytes (JS had not read the headers).
pub(crate) const WF_SNAPSHOT: u32 = 128;

/// A status message other than the standard one is at arg 3.
pub(crate) const WF_MESSAGE: u32 = 256;

/// end() of a hooked response: JS emits its 'finish'/'close' itself; drop the engine's.
pub(crate) const WF_DETACH: u32 = 512;

/// write()/end(): the data argument is an array of chunks, each written as one write()
/// (the writes JS coalesced within one synchronous run, more than fit as arguments).
pub(crate) const WF_CHUNKS: u32 = 1024;

/// `native.codes()`: every constant above by name, read once by lib/*.js.
pub(crate) fn codes(cx: &Cx) -> JsResult<Value> {
    let env = cx.env;
    let mut obj = null_mut();
    // SAFETY: creates a plain object on the running callback's env.
    unsafe { sys::napi_create_object(env, &mut obj) };
    for (name, code) in [
        (c"EV_CONNECTION", EV_CONNECTION),
        (c"EV_CONN_CLOSE", EV_CONN_CLOSE),
        (c"EV_CLIENT_ERROR", EV_CLIENT_ERROR),
        (c"EV_TIMEOUT", EV_TIMEOUT),
        (c"EV_DATA", EV_DATA),
        (c"EV_END", EV_END),
        (c"EV_ABORTED", EV_ABORTED),
        (c"EV_FINISH", EV_FINISH),
        (c"EV_CLOSE", EV_CLOSE),
        (c"EV_DRAIN", EV_DRAIN),
        (c"EV_SERVER_CLOSE", EV_SERVER_CLOSE),
        (c"EV_SOCK_DATA", EV_SOCK_DATA),
        (c"EV_SOCK_END", EV_SOCK_END),
        (c"EV_SOCK_DRAIN", EV_SOCK_DRAIN),
        (c"EV_SOCK_CLOSE", EV_SOCK_CLOSE),
        (c"EV_REQ_TIMEOUT", EV_REQ_TIMEOUT),
        (c"EV_RES_TIMEOUT", EV_RES_TIMEOUT),
        (c"RF_HTTP11", RF_HTTP11),
        (c"RF_BODY", RF_BODY),
        (c"RF_KEEPALIVE", RF_KEEPALIVE),
        (c"RF_CONTINUE", RF_CONTINUE),
        (c"RF_EXPECTATION", RF_EXPECTATION),
        (c"RF_DROP", RF_DROP),
        (c"RF_UPGRADE", RF_UPGRADE),
        (c"RF_CONNECT", RF_CONNECT),
        (c"RF_WHOLE", RF_WHOLE),
        (c"WHOLE_POOL_SHIFT", WHOLE_POOL_SHIFT),
        (c"WF_NO_DATE", WF_NO_DATE),
        (c"WF_RM_DATE", WF_RM_DATE),
        (c"WF_RM_CONNECTION", WF_RM_CONNECTION),
        (c"WF_RM_KEEPALIVE", WF_RM_KEEPALIVE),
        (c"WF_RM_CL", WF_RM_CL),
        (c"WF_RM_TE", WF_RM_TE),
        (c"WF_RELEASE", WF_RELEASE),
        (c"WF_SNAPSHOT", WF_SNAPSHOT),
        (c"WF_MESSAGE", WF_MESSAGE),
        (c"WF_DETACH", WF_DETACH),
        (c"WF_CHUNKS", WF_CHUNKS),
    ] {
        set_named(env, obj, name, uint(env, code));
    }
    Ok(obj)
}
