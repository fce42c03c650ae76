//! `listen()`: options, the shard and its uv handles, and the engine listeners that hand
//! requests, events and raw sockets to JS.
use std::cell::{Cell, RefCell};
use std::ffi::{c_void, CStr};
use std::ptr::null_mut;
use std::rc::Rc;
use std::time::Duration;

use napi::sys;
use ringhttp::{BackendKind, ConnInfo, LiveConfig, Request, Response, ServerBuilder, Shard};
use slab::Slab;

use crate::codes::{
    EV_CLIENT_ERROR, EV_CONNECTION, EV_CONN_CLOSE, EV_SOCK_CLOSE, EV_SOCK_DATA, EV_SOCK_DRAIN,
    EV_SOCK_END, EV_TIMEOUT, RF_BODY, RF_CONNECT, RF_CONTINUE, RF_DROP, RF_EXPECTATION, RF_HTTP11,
    RF_KEEPALIVE, RF_UPGRADE,
};
use crate::napi_util::{
    array, buffer_copy, get_bool, get_f64, get_string, int, int32_array, is_nullish, latin1,
    make_ref, named, type_of, uint, undefined, utf8, with_bytes, Cx, Env, JsError, JsResult, Value,
};
use crate::pump::{finalize_server, poll_cb};
use crate::request::ChunkPool;
use crate::state::{Js, Pair, Scope, Server};
use crate::uv;

/// Installs or removes the engine's 'upgrade'/'connect' listeners as JS wants them: the
/// engine's Node-compatible defaults apply while JS has none.
pub(crate) fn sync_raw(js: &Rc<Js>, shard: &mut Shard) {
    let (wu, wc) = (js.want_upgrade.get(), js.want_connect.get());
    if wu != js.have_upgrade.get() {
        js.have_upgrade.set(wu);
        let h = shard.handlers_mut();
        if wu {
            let j = js.clone();
            *h = std::mem::take(h)
                .on_upgrade(move |req, sock, head| raw_cb(&j, req, sock, head, RF_UPGRADE));
        } else {
            h.remove_upgrade();
        }
    }
    if wc != js.have_connect.get() {
        js.have_connect.set(wc);
        let h = shard.handlers_mut();
        if wc {
            let j = js.clone();
            *h = std::mem::take(h)
                .on_connect(move |req, sock, head| raw_cb(&j, req, sock, head, RF_CONNECT));
        } else {
            h.remove_connect();
        }
    }
}

/// 'upgrade'/'connect': the request goes into the slab as a pair without a response, the
/// socket into `socks`; JS gets both ids and the head bytes through `onRequest`.
pub(crate) fn raw_cb(
    js: &Rc<Js>,
    req: Request,
    sock: ringhttp::api::Socket,
    head: Vec<u8>,
    kind: u32,
) {
    js.flush_requests();
    let env = js.env;
    let _s = Scope::open(env);
    let method = latin1(env, req.method().as_bytes());
    let url = latin1(env, req.url_bytes());
    let mut flags = kind;
    if req.http_version_minor() == 1 {
        flags |= RF_HTTP11;
    }
    let fd = req.conn_fd();
    let sid = register_sock(js, sock);
    let pkey = js.pairs.borrow_mut().insert(Pair {
        req: Some(req),
        res: None,
        hooked: false,
        drain_hooked: false,
        body_started: false,
    });
    js.call(
        js.on_request.get(),
        &[
            uint(env, pkey as u32 + 1),
            method,
            url,
            uint(env, flags),
            int(env, fd.into()),
            uint(env, sid),
            buffer_copy(env, &head),
        ],
    );
}

/// Puts a raw socket into `socks` with its events going to JS (EV_SOCK_*, by its id);
/// returns the id (slab key + 1).
pub(crate) fn register_sock(js: &Rc<Js>, sock: ringhttp::api::Socket) -> u32 {
    let key = js.socks.borrow().vacant_key();
    let sid = key as u32 + 1;
    let j = js.clone();
    sock.on_data(move |chunk| {
        let env = j.env;
        let _s = Scope::open(env);
        let u = undefined(env);
        j.event(EV_SOCK_DATA, uint(env, sid), buffer_copy(env, chunk), u);
    });
    let j = js.clone();
    sock.on_end(move || j.event_id(EV_SOCK_END, sid));
    let j = js.clone();
    sock.on_drain(move || j.event_id(EV_SOCK_DRAIN, sid));
    let j = js.clone();
    sock.on_close(move || {
        j.dead_socks.borrow_mut().push(key);
        j.event_id(EV_SOCK_CLOSE, sid);
    });
    let k2 = js.socks.borrow_mut().insert(sock);
    debug_assert_eq!(k2, key);
    sid
}

// listen(options, address, onRequest, onEvent) -> [handle, port, backend]

fn opt_ms(env: Env, opts: Value, name: &CStr) -> Option<Duration> {
    get_f64(env, named(env, opts, name)).map(|n| Duration::from_millis(n.max(0.0) as u64))
}

fn opt_n(env: Env, opts: Value, name: &CStr) -> Option<usize> {
    get_f64(env, named(env, opts, name)).map(|n| n.max(0.0) as usize)
}

/// The options Node reads per connection or request, as `listen()` and `setOptions()`
/// get them from `Server#_liveOptions()` (an absent or non-numeric one is zero: off).
pub(crate) fn live_options(env: Env, opts: Value) -> LiveConfig {
    let ms = |name| opt_ms(env, opts, name).unwrap_or_default();
    let n = |name| opt_n(env, opts, name).unwrap_or_default();
    LiveConfig {
        timeout: ms(c"timeout"),
        keep_alive_timeout: ms(c"keepAliveTimeout"),
        keep_alive_timeout_buffer: ms(c"keepAliveTimeoutBuffer"),
        headers_timeout: ms(c"headersTimeout"),
        request_timeout: ms(c"requestTimeout"),
        max_headers_count: n(c"maxHeadersCount"),
        max_requests_per_socket: n(c"maxRequestsPerSocket"),
    }
}

pub(crate) fn errno_code(e: &ringhttp::Error) -> Option<(&'static str, i32)> {
    let io = std::error::Error::source(e)?.downcast_ref::<std::io::Error>()?;
    let n = io.raw_os_error()?;
    let name = match n {
        libc::EADDRINUSE => "EADDRINUSE",
        libc::EACCES => "EACCES",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::EINVAL => "EINVAL",
        libc::ENOENT => "ENOENT",
        libc::EPERM => "EPERM",
        _ => "ERR_SYSTEM_ERROR",
    };
    Some((name, n))
}

pub(crate) fn listen(cx: &Cx) -> JsResult<Value> {
    let env = cx.env;
    let opts = cx.arg(0);
    let addr = get_string(env, cx.arg(1))?;
    let (on_req, on_ev, on_batch, batch) = (cx.arg(2), cx.arg(3), cx.arg(4), cx.arg(5));
    let (batch_ptr, batch_len) = int32_array(env, batch).unwrap_or((null_mut(), 0));
    if type_of(env, on_req) != sys::ValueType::napi_function
        || type_of(env, on_ev) != sys::ValueType::napi_function
        || type_of(env, on_batch) != sys::ValueType::napi_function
        || batch_len < BATCH_INTS
    {
        return Err(JsError::with_code(
            "listen: callbacks expected",
            "ERR_INVALID_ARG_TYPE",
        ));
    }
    let mut b = ServerBuilder::new();
    if type_of(env, opts) == sys::ValueType::napi_object {
        b = b.live_config(live_options(env, opts));
        if let Some(n) = opt_n(env, opts, c"maxHeaderSize") {
            b = b.max_header_size(n);
        }
        if let Some(n) = opt_n(env, opts, c"backlog") {
            b = b.config(|c| c.backlog = n.min(i32::MAX as usize) as i32);
        }
        b = b.reuse_port(get_bool(env, named(env, opts, c"reusePort")));
        let be = named(env, opts, c"backend");
        if type_of(env, be) == sys::ValueType::napi_string {
            b = b.backend(match get_string(env, be)?.as_str() {
                "uring" | "io_uring" => BackendKind::Uring,
                "epoll" => BackendKind::Epoll,
                _ => BackendKind::Auto,
            });
        }
    }
    let (mut shard, bound) = b
        .build_shard(addr.as_str())
        .map_err(|e| match errno_code(&e) {
            Some((code, _)) => JsError::with_code(format!("listen {code}: {e}"), code),
            None => JsError::with_code(e.to_string(), e.code()),
        })?;

    let mut lp = null_mut();
    // SAFETY: the loop of this env's thread.
    unsafe { sys::napi_get_uv_event_loop(env, &mut lp) };
    if lp.is_null() {
        return Err(JsError::new("ringhttp: no libuv loop"));
    }
    let lp = lp as *mut c_void;
    let idle = uv::alloc(uv::UV_IDLE);
    let js = Rc::new(Js {
        env,
        on_request: Cell::new(make_ref(env, on_req)),
        on_event: Cell::new(make_ref(env, on_ev)),
        on_batch: Cell::new(make_ref(env, on_batch)),
        batch_ref: Cell::new(make_ref(env, batch)),
        batch_ptr: Cell::new(batch_ptr),
        batch_cap: Cell::new(batch_len / BATCH_INTS),
        pend_n: Cell::new(0),
        pend_text: RefCell::new(Vec::with_capacity(4096)),
        in_turn: Cell::new(false),
        touched: Cell::new(false),
        idle: Cell::new(idle),
        idle_active: Cell::new(false),
        errors: RefCell::new(Vec::new()),
        pairs: RefCell::new(Slab::with_capacity(256)),
        scratch: RefCell::new(Vec::with_capacity(2048)),
        heads: RefCell::new(Vec::new()),
        bodies: RefCell::new(Vec::new()),
        body_scratch: RefCell::new(Vec::new()),
        pool: RefCell::new(ChunkPool::default()),
        socks: RefCell::new(Slab::new()),
        dead_socks: RefCell::new(Vec::new()),
        conn_ids: RefCell::new(std::collections::HashMap::new()),
        want_upgrade: Cell::new(false),
        want_connect: Cell::new(false),
        have_upgrade: Cell::new(false),
        have_connect: Cell::new(false),
        round_scope: Cell::new(null_mut()),
        round_resource: Cell::new(null_mut()),
        round_ctx: Cell::new(null_mut()),
    });
    install_handlers(&mut shard, &js);
    let backend = shard.backend().to_string();
    let fd = shard.pollable_fd();
    let srv = Box::new(Server {
        js: js.clone(),
        handle: shard.handle(),
        counters: shard.counters(),
        shard: RefCell::new(Some(shard)),
        poll: Cell::new(uv::alloc(uv::UV_POLL)),
        timer: Cell::new(uv::alloc(uv::UV_TIMER)),
        self_ref: Cell::new(null_mut()),
        resource: Cell::new(null_mut()),
        async_ctx: Cell::new(null_mut()),
        closing: Cell::new(false),
        unrefd: Cell::new(false),
    });
    let raw = Box::into_raw(srv);
    // SAFETY: raw is a valid Server for as long as its External lives; handles are
    // initialised on this loop and point back at it.
    unsafe {
        let srv = &*raw;
        let (p, t) = (srv.poll.get(), srv.timer.get());
        uv::uv_poll_init(lp, p, fd);
        uv::set_data(p, raw as *mut c_void);
        uv::uv_poll_start(p, uv::UV_READABLE, poll_cb);
        uv::uv_timer_init(lp, t);
        uv::set_data(t, raw as *mut c_void);
        uv::uv_unref(t);
        uv::uv_idle_init(lp, idle);
        uv::set_data(idle, raw as *mut c_void);
        uv::uv_unref(idle);

        let mut ext = null_mut();
        sys::napi_create_external(
            env,
            raw as *mut c_void,
            Some(finalize_server),
            null_mut(),
            &mut ext,
        );
        srv.self_ref.set(make_ref(env, ext));
        let mut res_obj = null_mut();
        sys::napi_create_object(env, &mut res_obj);
        srv.resource.set(make_ref(env, res_obj));
        let mut ctx = null_mut();
        sys::napi_async_init(env, res_obj, utf8(env, "HTTPSERVER"), &mut ctx);
        srv.async_ctx.set(ctx);
        // A first turn soon: timers (headersTimeout) and anything already pending.
        js.kick();
        let port = match bound {
            Some(a) => int(env, i64::from(a.port())),
            None => int(env, -1),
        };
        Ok(array(env, &[ext, port, utf8(env, &backend)]))
    }
}

pub(crate) fn install_handlers(shard: &mut Shard, js: &Rc<Js>) {
    let h = shard.handlers_mut();
    let (j1, j2, j3) = (js.clone(), js.clone(), js.clone());
    *h = std::mem::take(h)
        .on_request(move |req, res| request_cb(&j1, req, Some(res), 0))
        .on_check_continue(move |req, res| request_cb(&j2, req, Some(res), RF_CONTINUE))
        .on_check_expectation(move |req, res| request_cb(&j3, req, Some(res), RF_EXPECTATION));
    let j = js.clone();
    *h = std::mem::take(h).on_drop_request(move |req, _| request_cb(&j, req, None, RF_DROP));
    let j = js.clone();
    *h = std::mem::take(h).on_connection(move |c: &ConnInfo| {
        j.conn_ids.borrow_mut().insert(c.fd(), c.id());
        let env = j.env;
        let _s = Scope::open(env);
        let u = undefined(env);
        j.event(EV_CONNECTION, int(env, c.fd().into()), u, u);
    });
    let j = js.clone();
    *h = std::mem::take(h).on_connection_close(move |c: &ConnInfo| {
        {
            let mut ids = j.conn_ids.borrow_mut();
            if ids.get(&c.fd()) == Some(&c.id()) {
                ids.remove(&c.fd());
            }
        }
        let env = j.env;
        let _s = Scope::open(env);
        let u = undefined(env);
        j.event(EV_CONN_CLOSE, int(env, c.fd().into()), u, u);
    });
    let j = js.clone();
    *h = std::mem::take(h).on_timeout(move |c: &ConnInfo| {
        let env = j.env;
        let _s = Scope::open(env);
        let u = undefined(env);
        j.event(EV_TIMEOUT, int(env, c.fd().into()), u, u);
    });
    let j = js.clone();
    *h = std::mem::take(h).on_client_error(move |e, c: &ConnInfo| {
        let env = j.env;
        let _s = Scope::open(env);
        let r = j.event(
            EV_CLIENT_ERROR,
            int(env, c.fd().into()),
            utf8(env, e.code()),
            utf8(env, &e.to_string()),
        )?;
        if is_nullish(env, r) {
            return None;
        }
        with_bytes(env, r, |b| b.to_vec()).ok()
    });
}

/// Ints per request in the batch array: handle, flags, fd, method index (0: custom, the
/// text at [start, head start)), start, url start, url end, head start, head end, whole
/// body (`offset << 16 | length` in a pool, with `RF_WHOLE`; see `take_whole_bodies`).
/// The request head's bytes go into the batch text whole (JS slices the url out of them
/// and keeps them for reading headers after the engine's request is released).
pub(crate) const BATCH_INTS: usize = 10;

/// Methods JS has as constants (index in `METHOD_NAMES` of lib/server.js).
pub(crate) fn method_index(m: &str) -> i32 {
    match m {
        "GET" => 1,
        "HEAD" => 2,
        "POST" => 3,
        "PUT" => 4,
        "DELETE" => 5,
        "OPTIONS" => 6,
        "PATCH" => 7,
        _ => 0,
    }
}

/// Queues a request for JS: its pair goes into the slab, its description into the batch
/// array (no JS values are made here); `flush_requests` hands the batch over after the
/// engine's dispatch, or before any other event.
pub(crate) fn request_cb(js: &Js, req: Request, res: Option<Response>, kind: u32) {
    if js.pend_n.get() >= js.batch_cap.get() {
        js.flush_requests();
        js.drain_ticks();
        if js.batch_cap.get() == 0 {
            return; // the server is gone
        }
    }
    let mut flags = kind;
    if req.http_version_minor() == 1 {
        flags |= RF_HTTP11;
    }
    if req.has_body() && kind != RF_DROP {
        flags |= RF_BODY;
    }
    if req.keep_alive() {
        flags |= RF_KEEPALIVE;
    }
    let fd = req.conn_fd();
    let m = method_index(req.method());
    let (start, url_start, url_end, head_start, head_end) = {
        let mut t = js.pend_text.borrow_mut();
        let start = t.len();
        if m == 0 {
            t.extend_from_slice(req.method().as_bytes());
        }
        let head = req.raw_head();
        let url = req.url_bytes();
        let hs = t.len();
        t.extend_from_slice(head);
        let he = t.len();
        // The url is a span of the head; copy it apart if it ever is not.
        let off = (url.as_ptr() as usize).wrapping_sub(head.as_ptr() as usize);
        if off <= head.len() && url.len() <= head.len() - off {
            (start, hs + off, hs + off + url.len(), hs, he)
        } else {
            t.extend_from_slice(url);
            (start, he, t.len(), hs, he)
        }
    };
    let key = js.pairs.borrow_mut().insert(Pair {
        req: Some(req),
        res,
        hooked: false,
        drain_hooked: false,
        body_started: false,
    });
    let n = js.pend_n.get();
    let vals = [
        key as i32 + 1,
        flags as i32,
        fd,
        m,
        start as i32,
        url_start as i32,
        url_end as i32,
        head_start as i32,
        head_end as i32,
        0,
    ];
    // SAFETY: batch_ptr is the live Int32Array's memory (we hold a reference to it) with
    // room for batch_cap * BATCH_INTS ints, and n < batch_cap; JS is not running.
    unsafe {
        std::ptr::copy_nonoverlapping(
            vals.as_ptr(),
            js.batch_ptr.get().add(n * BATCH_INTS),
            BATCH_INTS,
        )
    };
    js.pend_n.set(n + 1);
}
