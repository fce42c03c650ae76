//! Connections by fd (valid until their connection-close event) and the raw sockets of
//! 'upgrade'/'connect': destroy, write/end, pause, addresses.
use std::time::Duration;

use crate::control::server;
use crate::listen::sync_raw;
use crate::napi_util::{
    array, boolean, get_bool, get_f64, get_u32, int, uint, undefined, utf8, with_bytes, Cx,
    JsResult, Value,
};
use crate::state::Pair;

/// connDestroy(server, fd, handle): `socket.destroy()`. Through the request's own
/// connection when the pair is live, else by the engine's connection id.
pub(crate) fn conn_destroy(cx: &Cx) -> JsResult<Value> {
    let srv = server(cx, 0)?;
    let env = cx.env;
    let fd = get_f64(env, cx.arg(1)).unwrap_or(-1.0) as i32;
    let key = (get_u32(env, cx.arg(2)) as usize).wrapping_sub(1);
    let done = match srv.js.pairs.borrow().get(key) {
        Some(Pair { req: Some(r), .. }) => {
            r.destroy();
            true
        }
        Some(Pair { res: Some(r), .. }) => {
            r.destroy();
            true
        }
        _ => false,
    };
    if !done {
        if let Some(&id) = srv.js.conn_ids.borrow().get(&fd) {
            srv.handle.post(move |st| {
                st.destroy_connection(id);
            });
        }
    }
    srv.js.kick();
    Ok(cx.undefined())
}

/// connEnd(server, fd): `socket.end()` with no live request or response on the
/// connection (nothing to take over): the responses under way finish, then FIN.
pub(crate) fn conn_end(cx: &Cx) -> JsResult<Value> {
    let srv = server(cx, 0)?;
    let fd = get_f64(cx.env, cx.arg(1)).unwrap_or(-1.0) as i32;
    if let Some(&id) = srv.js.conn_ids.borrow().get(&fd) {
        srv.handle.post(move |st| {
            st.end_connection(id);
        });
    }
    srv.js.kick();
    Ok(cx.undefined())
}

/// connTimeout(server, fd, ms): `req.socket.setTimeout(ms)`, the connection's inactivity
/// timeout from now on (zero disables); expiry comes back as EV_TIMEOUT.
pub(crate) fn conn_timeout(cx: &Cx) -> JsResult<Value> {
    let srv = server(cx, 0)?;
    let env = cx.env;
    let fd = get_f64(env, cx.arg(1)).unwrap_or(-1.0) as i32;
    let d = Duration::from_millis(get_f64(env, cx.arg(2)).unwrap_or(0.0).max(0.0) as u64);
    if let Some(&id) = srv.js.conn_ids.borrow().get(&fd) {
        srv.handle.post(move |st| {
            st.set_connection_timeout(id, d);
        });
    }
    srv.js.kick();
    Ok(cx.undefined())
}

/// sockTakeOver(server, handle) -> id: `req.socket.write()`/`end()` in a request handler.
/// The connection of the live pair `handle` becomes a raw stream (the engine's
/// `take_over_socket`); its socket is registered like an 'upgrade' one. 0 when the pair
/// is gone or the connection is closed or already taken.
pub(crate) fn sock_take_over(cx: &Cx) -> JsResult<Value> {
    let srv = server(cx, 0)?;
    let env = cx.env;
    let key = (get_u32(env, cx.arg(1)) as usize).wrapping_sub(1);
    let sock = match srv.js.pairs.borrow().get(key) {
        Some(Pair { res: Some(r), .. }) => r.take_over_socket(),
        Some(Pair { req: Some(r), .. }) => r.take_over_socket(),
        _ => None,
    };
    let sid = match sock {
        Some(s) => crate::listen::register_sock(&srv.js, s),
        None => 0,
    };
    srv.js.kick();
    Ok(uint(env, sid))
}

/// Runs `f` on the raw socket `(server, id)` of the first two arguments (no-op once gone).
pub(crate) fn with_sock<R>(
    cx: &Cx,
    f: impl FnOnce(&ringhttp::api::Socket) -> R,
) -> JsResult<Option<R>> {
    let srv = server(cx, 0)?;
    let key = (get_u32(cx.env, cx.arg(1)) as usize).wrapping_sub(1);
    let out = srv.js.socks.borrow().get(key).map(f);
    srv.js.kick();
    Ok(out)
}

/// sockWrite(server, id, data) -> bool ('drain' follows false)
pub(crate) fn sock_write(cx: &Cx) -> JsResult<Value> {
    let env = cx.env;
    let data = cx.arg(2);
    let ok = match with_sock(cx, |s| with_bytes(env, data, |b| s.write(b)))? {
        Some(r) => r?,
        None => false,
    };
    Ok(boolean(env, ok))
}

pub(crate) fn sock_end(cx: &Cx) -> JsResult<Value> {
    with_sock(cx, |s| s.end())?;
    Ok(cx.undefined())
}

pub(crate) fn sock_destroy(cx: &Cx) -> JsResult<Value> {
    with_sock(cx, |s| s.destroy())?;
    Ok(cx.undefined())
}

/// sockPause(server, id, pause)
pub(crate) fn sock_pause(cx: &Cx) -> JsResult<Value> {
    let pause = get_bool(cx.env, cx.arg(2));
    with_sock(cx, |s| if pause { s.pause() } else { s.resume() })?;
    Ok(cx.undefined())
}

/// setRaw(server, upgrade, connect): whether JS listens for 'upgrade' / 'connect'.
pub(crate) fn set_raw(cx: &Cx) -> JsResult<Value> {
    let srv = server(cx, 0)?;
    srv.js.want_upgrade.set(get_bool(cx.env, cx.arg(1)));
    srv.js.want_connect.set(get_bool(cx.env, cx.arg(2)));
    if let Ok(mut g) = srv.shard.try_borrow_mut() {
        if let Some(shard) = g.as_mut() {
            sync_raw(&srv.js, shard);
        }
    }
    Ok(cx.undefined())
}

/// fdAddress(fd) -> [remoteAddress, remotePort, remoteFamily, localAddress, localPort]
pub(crate) fn fd_address(cx: &Cx) -> JsResult<Value> {
    let env = cx.env;
    let fd = get_f64(env, cx.arg(0)).unwrap_or(-1.0) as i32;
    let mut out = Vec::with_capacity(5);
    let u = undefined(env);
    match ringhttp::socket_peer_addr(fd) {
        Some(a) => out.extend([
            utf8(env, &a.ip().to_string()),
            int(env, a.port().into()),
            utf8(env, if a.is_ipv4() { "IPv4" } else { "IPv6" }),
        ]),
        None => out.extend([u, u, u]),
    }
    match ringhttp::socket_local_addr(fd) {
        Some(a) => out.extend([utf8(env, &a.ip().to_string()), int(env, a.port().into())]),
        None => out.extend([u, u]),
    }
    Ok(array(env, &out))
}
