//! Server controls: close, closeIdle/closeAll, ref/unref, connection count, counters.
use crate::listen::live_options;
use crate::napi_util::{array, external, get_bool, int, Cx, JsResult, Value};
use crate::state::Server;
use crate::uv;

pub(crate) fn server<'a>(cx: &Cx, i: usize) -> JsResult<&'a Server> {
    let p = if i == 0 {
        cx.external0::<Server>()?
    } else {
        external::<Server>(cx.env, cx.arg(i))?
    };
    // SAFETY: the External holds a live Server (freed only by its finalizer).
    Ok(unsafe { &*p })
}

/// close(server): the listening half of Node's `server.close()` (the JS side closes idle
/// connections first): busy connections stay keep-alive, and 'close' comes when the last
/// connection is gone.
pub(crate) fn close(cx: &Cx) -> JsResult<Value> {
    let srv = server(cx, 0)?;
    if !srv.closing.replace(true) {
        match srv.shard.try_borrow_mut() {
            Ok(mut g) => {
                if let Some(s) = g.as_mut() {
                    s.stop_accepting();
                }
            }
            Err(_) => {
                srv.handle.stop_accepting();
            }
        }
        srv.js.kick();
    }
    Ok(cx.undefined())
}

pub(crate) fn close_idle(cx: &Cx) -> JsResult<Value> {
    let srv = server(cx, 0)?;
    srv.handle.post(|st| st.close_idle_connections());
    Ok(cx.undefined())
}

/// setOptions(server, opts): `timeout`, `keepAliveTimeout`, `headersTimeout`,
/// `requestTimeout`, `maxHeadersCount`, `maxRequestsPerSocket` changed after listen()
/// (Node reads them per connection); applied by the shard at its next turn.
pub(crate) fn set_options(cx: &Cx) -> JsResult<Value> {
    let srv = server(cx, 0)?;
    let live = live_options(cx.env, cx.arg(1));
    srv.handle.post(move |st| st.set_live_config(live));
    Ok(cx.undefined())
}

pub(crate) fn close_all(cx: &Cx) -> JsResult<Value> {
    let srv = server(cx, 0)?;
    srv.handle.post(|st| st.close_all_connections());
    Ok(cx.undefined())
}

pub(crate) fn set_ref(cx: &Cx) -> JsResult<Value> {
    let srv = server(cx, 0)?;
    let on = get_bool(cx.env, cx.arg(1));
    let p = srv.poll.get();
    if !p.is_null() && srv.unrefd.get() == on {
        srv.unrefd.set(!on);
        // SAFETY: our live poll handle.
        unsafe {
            if on {
                uv::uv_ref(p)
            } else {
                uv::uv_unref(p)
            }
        }
    }
    Ok(cx.undefined())
}

pub(crate) fn connections(cx: &Cx) -> JsResult<Value> {
    let srv = server(cx, 0)?;
    let n = srv
        .shard
        .try_borrow()
        .ok()
        .and_then(|g| g.as_ref().map(|s| s.connections()))
        .unwrap_or(0);
    Ok(int(cx.env, n as i64))
}

// stats(handle) -> [open, accepted, requests, 1xx..5xx, client errors (6), timeouts (5),
// bytes in, bytes out]: lib/server.js names them.
pub(crate) fn stats(cx: &Cx) -> JsResult<Value> {
    let srv = server(cx, 0)?;
    let s = srv.counters.snapshot();
    let mut v = vec![s.open_connections, s.accepted, s.requests];
    v.extend(s.responses);
    v.extend(s.client_errors);
    v.extend(s.timeouts);
    v.extend([s.bytes_in, s.bytes_out]);
    let items: Vec<Value> = v.into_iter().map(|n| int(cx.env, n as i64)).collect();
    Ok(array(cx.env, &items))
}
