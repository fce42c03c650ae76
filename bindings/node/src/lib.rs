//! ringhttp for Node.js: one engine shard driven from the JS thread's own libuv loop.
//!
//! The shard's pollable fd is watched with a `uv_poll_t`; its next deadline with a
//! `uv_timer_t`; JS that touches a request or response outside a shard turn (an async
//! handler, a stream callback) starts a `uv_idle_t` so the next loop iteration runs one
//! `run_ready()` for everything that was queued. Every call into JS happens inside that
//! turn, on this thread: no thread hops. JS listeners' exceptions are caught per call,
//! kept, and re-raised as `uncaughtException` once the turn is over.
//!
//! The JS side (`index.js`, `lib/*.js`) builds Node's objects; this crate only moves bytes
//! and events, by concern: `state` (what the callbacks share), `pump` (libuv driving),
//! `listen`, `control`, `request`, `response`, `sockets`, `codes` (shared with the JS).
//! Per request, Rust calls one JS function with an `External` holding the engine's
//! `Request` and `Response`.
mod codes;
mod control;
mod listen;
mod napi_util;
mod pump;
mod request;
mod response;
mod sockets;
mod state;
mod uv;

use std::ffi::CStr;
use std::ptr::null_mut;

use napi::sys;
use napi_util::{guard, set_named, Cx, Env, JsResult, Value};

use codes::codes;
use control::{close, close_all, close_idle, connections, set_options, set_ref, stats};
use listen::listen;
use request::{req_body, req_pause, req_raw_headers, req_raw_trailers};
use response::{
    keep_body, msg_timeout, release, res_continue, res_end, res_hook, res_informational,
    res_trailers, res_write,
};
use sockets::{
    conn_destroy, conn_end, conn_timeout, fd_address, set_raw, sock_destroy, sock_end, sock_pause,
    sock_take_over, sock_write,
};

type Body = fn(&Cx) -> JsResult<Value>;

macro_rules! exports {
    ($($name:literal => $f:ident),* $(,)?) => {
        fn register(env: Env, exports: Value) {
            $(
                {
                    /// # Safety
                    /// Called by Node with this function's env and callback info.
                    unsafe extern "C" fn tramp(env: Env, info: sys::napi_callback_info) -> Value {
                        // SAFETY: called by Node with this callback's env and info.
                        let cx = unsafe { Cx::new(env, info) };
                        let f: Body = $f;
                        guard(env, || f(&cx))
                    }
                    let mut func = null_mut();
                    let name: &CStr = $name;
                    // SAFETY: creating a function from a valid callback on this env.
                    unsafe {
                        sys::napi_create_function(env, name.as_ptr(), usize::MAX, Some(tramp), null_mut(), &mut func)
                    };
                    set_named(env, exports, name, func);
                }
            )*
        }
    };
}

exports! {
    c"codes" => codes,
    c"listen" => listen,
    c"close" => close,
    c"closeIdle" => close_idle,
    c"closeAll" => close_all,
    c"setOptions" => set_options,
    c"setRef" => set_ref,
    c"connections" => connections,
    c"stats" => stats,
    c"resWrite" => res_write,
    c"resEnd" => res_end,
    c"resHook" => res_hook,
    c"resContinue" => res_continue,
    c"msgTimeout" => msg_timeout,
    c"resTrailers" => res_trailers,
    c"resInformational" => res_informational,
    c"reqRawHeaders" => req_raw_headers,
    c"reqRawTrailers" => req_raw_trailers,
    c"reqBody" => req_body,
    c"reqPause" => req_pause,
    c"release" => release,
    c"keepBody" => keep_body,
    c"connDestroy" => conn_destroy,
    c"connTimeout" => conn_timeout,
    c"sockWrite" => sock_write,
    c"sockTakeOver" => sock_take_over,
    c"connEnd" => conn_end,
    c"sockEnd" => sock_end,
    c"sockDestroy" => sock_destroy,
    c"sockPause" => sock_pause,
    c"setRaw" => set_raw,
    c"fdAddress" => fd_address,
}

#[napi_derive::module_exports]
fn init(exports: napi::JsObject, env: napi::Env) -> napi::Result<()> {
    use napi::NapiRaw;
    // SAFETY: raw handles of the env and exports object Node gave us.
    register(env.raw(), unsafe { exports.raw() });
    Ok(())
}
