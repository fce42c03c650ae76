//! ringhttp for Node.js: one engine shard driven from the JS thread's own libuv loop.
//!
//! The shard's pollable fd is watched with a `uv_poll_t`; its next deadline with a
//! `uv_timer_t`; JS that touches a request or response outside a shard turn (an async
//! handler, a stream callback) starts a `uv_idle_t` so the next loop iteration runs one
//! `run_ready()` for everything that was queued. Every call into JS happens inside that
//! turn, on this thread: no thread hops. JS listeners' exceptions are caught per call,
//! kept, and re-raised as `uncaughtException` once the turn is over.
//!
//! The JS side (`index.js`, `lib/*.js`) builds Node's objects; this file only moves bytes
//! and events. Per request, Rust calls one JS function with an `External` holding the
//! engine's `Request` and `Response`.
mod napi_util;
mod uv;

use std::cell::{Cell, RefCell};
use std::ffi::{c_int, c_void, CStr};
use std::ptr::null_mut;
use std::rc::Rc;
use std::time::Duration;

use napi::sys;
use napi_util::*;
use ringhttp::{
    BackendKind, ConnInfo, EncodedHeaders, LiveConfig, Request, Response, ServerBuilder, Shard,
    ShardHandle,
};
use slab::Slab;

// Event kinds passed to the JS `onEvent(kind, a, b, c)` callback.
const EV_CONNECTION: u32 = 1;
const EV_CONN_CLOSE: u32 = 2;
const EV_CLIENT_ERROR: u32 = 3;
const EV_TIMEOUT: u32 = 4;
const EV_DATA: u32 = 5;
const EV_END: u32 = 6;
const EV_ABORTED: u32 = 7;
const EV_FINISH: u32 = 8;
const EV_CLOSE: u32 = 9;
const EV_DRAIN: u32 = 10;
const EV_SERVER_CLOSE: u32 = 11;
const EV_SOCK_DATA: u32 = 12;
const EV_SOCK_END: u32 = 13;
const EV_SOCK_DRAIN: u32 = 14;
const EV_SOCK_CLOSE: u32 = 15;
const EV_REQ_TIMEOUT: u32 = 16;
const EV_RES_TIMEOUT: u32 = 17;

// Flags of `onRequest(handle, method, url, flags)`.
const RF_HTTP11: u32 = 1;
const RF_BODY: u32 = 2;
const RF_KEEPALIVE: u32 = 4;
const RF_CONTINUE: u32 = 8;
const RF_EXPECTATION: u32 = 16;
const RF_UPGRADE: u32 = 32;
const RF_CONNECT: u32 = 64;

/// What the JS callbacks need; shared by the shard's handlers and live requests.
struct Js {
    env: Env,
    on_request: Cell<sys::napi_ref>,
    on_event: Cell<sys::napi_ref>,
    /// `onBatch(n, text)`: the requests of a turn, described in `batch` (see `request_cb`).
    on_batch: Cell<sys::napi_ref>,
    /// The JS Int32Array the request descriptions are written into, and its memory.
    batch_ref: Cell<sys::napi_ref>,
    batch_ptr: Cell<*mut i32>,
    /// Room in `batch`, in requests.
    batch_cap: Cell<usize>,
    /// Requests described in `batch` and not yet handed to JS.
    pend_n: Cell<usize>,
    /// Their custom methods and urls, one latin1 string for JS to slice.
    pend_text: RefCell<Vec<u8>>,
    /// Inside a shard turn: the turn's flush will pick up what JS changed.
    in_turn: Cell<bool>,
    /// JS changed something during the turn (it needs another to be flushed).
    touched: Cell<bool>,
    /// The idle handle that schedules a turn after JS acted outside one (null once closed).
    idle: Cell<*mut c_void>,
    idle_active: Cell<bool>,
    /// Exceptions thrown by JS listeners during the turn, re-raised after it.
    errors: RefCell<Vec<sys::napi_ref>>,
    /// Live requests, by JS handle (key + 1). JS releases them explicitly.
    pairs: RefCell<Slab<Pair>>,
    /// Reused buffer for the response heads JS hands over.
    scratch: RefCell<Vec<u8>>,
    /// Where small request body chunks are copied for JS (views of one ArrayBuffer).
    pool: RefCell<ChunkPool>,
    /// Reused buffer for body strings too long for the stack (kept at the largest size).
    body_scratch: RefCell<Vec<u8>>,
    /// Header sets JS asked to keep, encoded (`headers` = a slot number then).
    heads: RefCell<Vec<Option<EncodedHeaders>>>,
    /// Raw sockets handed to 'upgrade'/'connect' listeners, by JS id (key + 1).
    socks: RefCell<Slab<ringhttp::api::Socket>>,
    /// Sockets whose connection closed during the turn: freed after it.
    dead_socks: RefCell<Vec<usize>>,
    /// Open connections: fd -> engine connection id (for `socket.destroy()`).
    conn_ids: RefCell<std::collections::HashMap<i32, u64>>,
    /// Whether JS listens for 'upgrade' / 'connect' (applied to the shard between turns).
    want_upgrade: Cell<bool>,
    want_connect: Cell<bool>,
    have_upgrade: Cell<bool>,
    have_connect: Cell<bool>,
}

impl Js {
    /// Something changed outside a turn: run one soon (next loop iteration).
    fn kick(&self) {
        if self.in_turn.get() {
            // The turn may already be past its flush: `drive` runs another one.
            self.touched.set(true);
            return;
        }
        if self.idle_active.get() {
            return;
        }
        let h = self.idle.get();
        if !h.is_null() {
            // SAFETY: h is our live idle handle (nulled before it is closed).
            unsafe { uv::uv_idle_start(h, idle_cb) };
            self.idle_active.set(true);
        }
    }

    /// Calls a JS callback; a thrown exception is kept for after the turn.
    fn call(&self, f: sys::napi_ref, args: &[Value]) -> Option<Value> {
        if f.is_null() {
            return None;
        }
        let env = self.env;
        let func = get_ref(env, f);
        let mut out = null_mut();
        // SAFETY: func is a function we hold a reference to; args are live values.
        let st = unsafe {
            sys::napi_call_function(
                env,
                undefined(env),
                func,
                args.len(),
                args.as_ptr(),
                &mut out,
            )
        };
        if st == sys::Status::napi_ok {
            return Some(out);
        }
        let mut exc = null_mut();
        // SAFETY: fetches (and clears) the pending exception, if any.
        unsafe { sys::napi_get_and_clear_last_exception(env, &mut exc) };
        if !exc.is_null() && !is_nullish(env, exc) {
            self.errors.borrow_mut().push(make_ref(env, exc));
        }
        None
    }

    fn event(&self, kind: u32, a: Value, b: Value, c: Value) -> Option<Value> {
        // Requests parsed earlier in the turn reach JS before anything that follows them.
        self.flush_requests();
        let env = self.env;
        self.call(self.on_event.get(), &[uint(env, kind), a, b, c])
    }

    /// Hands the requests queued by `request_cb` to JS in one call.
    fn flush_requests(&self) {
        let n = self.pend_n.replace(0);
        if n == 0 {
            return;
        }
        let env = self.env;
        let _s = Scope::open(env);
        let text = {
            let mut t = self.pend_text.borrow_mut();
            let v = latin1(env, &t);
            t.clear();
            v
        };
        // onBatch returns the exceptions its listeners threw (already answered with 500).
        let errs = self.call(self.on_batch.get(), &[uint(env, n as u32), text]);
        if let Some(errs) = errs {
            let len = array_len(env, errs);
            for i in 0..len {
                let e = element(env, errs, i);
                self.errors.borrow_mut().push(make_ref(env, e));
            }
        }
    }

    fn event_id(&self, kind: u32, id: u32) {
        let env = self.env;
        let _s = Scope::open(env);
        let u = undefined(env);
        self.event(kind, uint(env, id), u, u);
    }
}

/// Request body chunks up to `CHUNK_MAX` bytes are copied into a shared 64 KiB ArrayBuffer
/// and handed to JS as (buffer, offset, length) for a `Buffer` view, as Node slices its
/// socket reads out of a pool: no allocation, backing store or finalizer per chunk. A
/// view keeps its pool alive; a full pool is dropped (JS's views keep it) for a new one.
#[derive(Default)]
struct ChunkPool {
    ab: sys::napi_ref,
    data: usize,
    used: usize,
}

const POOL_SIZE: usize = 65536;
const CHUNK_MAX: usize = 16384;

impl ChunkPool {
    /// Copies `chunk` into the pool: the pool's ArrayBuffer and `offset << 16 | length`.
    fn put(&mut self, env: Env, chunk: &[u8]) -> Option<(Value, u32)> {
        if chunk.is_empty() || chunk.len() > CHUNK_MAX {
            return None;
        }
        if self.ab.is_null() || self.used + chunk.len() > POOL_SIZE {
            let mut data = null_mut();
            let mut ab = null_mut();
            // SAFETY: a new ArrayBuffer of POOL_SIZE bytes; data points at its memory,
            // which lives as long as the ArrayBuffer (kept by our reference or JS's views).
            let st = unsafe { sys::napi_create_arraybuffer(env, POOL_SIZE, &mut data, &mut ab) };
            if st != sys::Status::napi_ok || data.is_null() {
                return None;
            }
            delete_ref(env, std::mem::replace(&mut self.ab, make_ref(env, ab)));
            self.data = data as usize;
            self.used = 0;
        }
        let at = self.used;
        // SAFETY: data is the live pool's memory (we hold a reference to its ArrayBuffer)
        // with room for chunk.len() bytes at `at` (checked above).
        unsafe {
            std::ptr::copy_nonoverlapping(
                chunk.as_ptr(),
                (self.data as *mut u8).add(at),
                chunk.len(),
            )
        };
        // Views start 8-byte aligned, as Node's pool slices do.
        self.used = (at + chunk.len() + 7) & !7;
        Some((
            get_ref(env, self.ab),
            ((at as u32) << 16) | chunk.len() as u32,
        ))
    }
}

/// A handle scope for values created while Rust calls into JS.
struct Scope(Env, sys::napi_handle_scope);

impl Scope {
    fn open(env: Env) -> Scope {
        let mut s = null_mut();
        // SAFETY: opened on the JS thread; closed in Drop in LIFO order.
        unsafe { sys::napi_open_handle_scope(env, &mut s) };
        Scope(env, s)
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        // SAFETY: the scope opened in `open`.
        unsafe { sys::napi_close_handle_scope(self.0, self.1) };
    }
}

/// One listening server: the shard and the libuv handles that drive it.
struct Server {
    js: Rc<Js>,
    shard: RefCell<Option<Shard>>,
    handle: ShardHandle,
    poll: Cell<*mut c_void>,
    timer: Cell<*mut c_void>,
    /// The External of this server, kept alive while the uv handles point at it.
    self_ref: Cell<sys::napi_ref>,
    resource: Cell<sys::napi_ref>,
    async_ctx: Cell<sys::napi_async_context>,
    closing: Cell<bool>,
    unrefd: Cell<bool>,
    /// The shard's counters (readable after it closed too).
    counters: std::sync::Arc<ringhttp::shard::stats::Counters>,
}

/// A request and its response while JS can still use them (handle = slab key + 1).
struct Pair {
    req: Option<Request>,
    res: Option<Response>,
    hooked: bool,
    drain_hooked: bool,
    body_started: bool,
}

/// N-API finalizer of the server's External.
///
/// # Safety
/// Called by Node once, on the JS thread, with `data` the `Box<Server>` leaked in
/// `listen` after its uv handles were closed.
unsafe extern "C" fn finalize_server(env: Env, data: *mut c_void, _hint: *mut c_void) {
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: data is the Box<Server> leaked in `listen`; the uv handles are closed
        // (self_ref kept the External alive until then).
        let s = unsafe { Box::from_raw(data as *mut Server) };
        teardown(&s);
        delete_ref(env, s.resource.get());
        let ctx = s.async_ctx.replace(null_mut());
        if !ctx.is_null() {
            // SAFETY: the context created in `listen`, destroyed once.
            unsafe { sys::napi_async_destroy(env, ctx) };
        }
    });
}

// ---------------------------------------------------------------------------------------
// Driving the shard from libuv.

/// libuv poll callback: the shard's pollable fd is readable.
///
/// # Safety
/// Called by libuv on the JS thread with a live handle whose data is the `Server` (or null
/// once the server is being torn down).
unsafe extern "C" fn poll_cb(h: *mut c_void, _status: c_int, _events: c_int) {
    // SAFETY: the handle's data is the Server (nulled before close).
    let srv = unsafe { uv::data(h) } as *const Server;
    if !srv.is_null() {
        // SAFETY: the Server outlives its handles (see `Server::self_ref`).
        drive(unsafe { &*srv });
    }
}

/// libuv timer callback: the shard's next deadline.
///
/// # Safety
/// As [`poll_cb`]: a live handle whose data is the `Server` or null.
unsafe extern "C" fn timer_cb(h: *mut c_void) {
    // SAFETY: the timer handle's data is the Server too, with the same contract as poll_cb.
    unsafe { poll_cb(h, 0, 0) }
}

/// libuv idle callback: work is queued that the pollable fd will not signal.
///
/// # Safety
/// As [`poll_cb`]: a live idle handle whose data is the `Server` or null.
unsafe extern "C" fn idle_cb(h: *mut c_void) {
    // SAFETY: idle handle data is the Server too.
    unsafe { uv::uv_idle_stop(h) };
    // SAFETY: libuv passes the live idle handle; its data is the Server or null.
    let srv = unsafe { uv::data(h) } as *const Server;
    if !srv.is_null() {
        // SAFETY: as in poll_cb.
        let srv = unsafe { &*srv };
        srv.js.idle_active.set(false);
        drive(srv);
    }
}

/// One shard turn inside a callback scope (so nextTicks and microtasks run after it),
/// then timer re-arm, close detection, and re-raising listener exceptions.
fn drive(srv: &Server) {
    let env = srv.js.env;
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _scope = Scope::open(env);
        let resource = get_ref(env, srv.resource.get());
        let open = || {
            let mut cb_scope = null_mut();
            // SAFETY: resource and context were created in `listen` on this env.
            unsafe {
                sys::napi_open_callback_scope(env, resource, srv.async_ctx.get(), &mut cb_scope)
            };
            cb_scope
        };
        let mut next = None;
        let mut finished = false;
        // Rounds until one leaves nothing to send: each runs the shard (reads, dispatch,
        // sends), hands the requests to JS, then closes its callback scope, which runs the
        // nextTick queue and microtasks. What those write (a promise-based framework's
        // end(), a body's 'end' listener) is sent by the next round, in this same wakeup,
        // not a loop iteration later. The shard is not borrowed while they run.
        for round in 0.. {
            let cb_scope = open();
            srv.js.touched.set(false);
            srv.js.in_turn.set(true);
            if let Ok(mut guard) = srv.shard.try_borrow_mut() {
                if let Some(shard) = guard.as_mut() {
                    if round == 0 {
                        sync_raw(&srv.js, shard);
                    }
                    match shard.run_ready() {
                        Ok(n) => next = n,
                        Err(e) => eprintln!("ringhttp: shard turn failed: {e}"),
                    }
                    srv.js.flush_requests();
                    free_dead_socks(&srv.js);
                }
            }
            // SAFETY: closes the scope opened above; runs the nextTick queue and microtasks.
            unsafe { sys::napi_close_callback_scope(env, cb_scope) };
            srv.js.in_turn.set(false);
            if !srv.js.touched.get() {
                break;
            }
            if round == 8 {
                srv.js.kick();
                break;
            }
        }
        let cb_scope = open();
        if let Ok(guard) = srv.shard.try_borrow() {
            finished = guard.as_ref().is_some_and(|s| s.is_finished());
        }
        let t = srv.timer.get();
        if !t.is_null() {
            // SAFETY: t is our live timer handle.
            unsafe {
                match next {
                    Some(d) => {
                        let ms =
                            d.as_millis() as u64 + u64::from(d.subsec_nanos() % 1_000_000 != 0);
                        uv::uv_timer_start(t, timer_cb, ms, 0);
                    }
                    None => {
                        uv::uv_timer_stop(t);
                    }
                }
            }
        }
        if finished {
            teardown(srv);
            let u = undefined(env);
            let cb = srv.js.on_event.get();
            srv.js.call(cb, &[uint(env, EV_SERVER_CLOSE), u, u, u]);
            delete_ref(env, srv.js.on_request.replace(null_mut()));
            delete_ref(env, srv.js.on_event.replace(null_mut()));
            delete_ref(env, srv.js.on_batch.replace(null_mut()));
            srv.js.batch_ptr.set(null_mut());
            srv.js.batch_cap.set(0);
            delete_ref(env, srv.js.batch_ref.replace(null_mut()));
            delete_ref(env, srv.self_ref.replace(null_mut()));
        }
        // SAFETY: closes the scope opened above; runs the nextTick queue and microtasks.
        unsafe { sys::napi_close_callback_scope(env, cb_scope) };
        rethrow(&srv.js);
    }));
    if res.is_err() {
        eprintln!("ringhttp: internal panic while driving the shard");
    }
}

/// Re-raises exceptions thrown by JS listeners as `uncaughtException`.
fn rethrow(js: &Js) {
    let errs = std::mem::take(&mut *js.errors.borrow_mut());
    for r in errs {
        let e = get_ref(js.env, r);
        delete_ref(js.env, r);
        // SAFETY: e is a live value; triggers process 'uncaughtException'.
        unsafe { sys::napi_fatal_exception(js.env, e) };
    }
}

/// Stops watching, drops the shard (closing its listeners) and closes the uv handles.
fn teardown(srv: &Server) {
    let p = srv.poll.replace(null_mut());
    if !p.is_null() {
        // SAFETY: stop watching the fd before the shard closes it; then close the handle.
        unsafe {
            uv::uv_poll_stop(p);
            uv::close_and_free(p);
        }
    }
    let t = srv.timer.replace(null_mut());
    if !t.is_null() {
        // SAFETY: our timer handle, closed once.
        unsafe { uv::close_and_free(t) };
    }
    let i = srv.js.idle.replace(null_mut());
    if !i.is_null() {
        // SAFETY: our idle handle, closed once.
        unsafe { uv::close_and_free(i) };
    }
    if let Ok(mut g) = srv.shard.try_borrow_mut() {
        if let Some(shard) = g.take() {
            srv.js.in_turn.set(true);
            drop(shard);
            srv.js.in_turn.set(false);
        }
    }
    srv.js.pend_n.set(0);
    let pool = std::mem::take(&mut *srv.js.pool.borrow_mut());
    delete_ref(srv.js.env, pool.ab);
    // Raw sockets hold callbacks that hold the Js: break the cycle.
    let socks = std::mem::take(&mut *srv.js.socks.borrow_mut());
    drop(socks);
    srv.js.dead_socks.borrow_mut().clear();
}

/// Frees the raw sockets whose connection closed (not from inside their own callback).
fn free_dead_socks(js: &Js) {
    let dead = std::mem::take(&mut *js.dead_socks.borrow_mut());
    if dead.is_empty() {
        return;
    }
    let mut socks = js.socks.borrow_mut();
    let gone: Vec<_> = dead
        .into_iter()
        .filter_map(|k| socks.try_remove(k))
        .collect();
    drop(socks);
    drop(gone);
}

/// Installs or removes the engine's 'upgrade'/'connect' listeners as JS wants them: the
/// engine's Node-compatible defaults apply while JS has none.
fn sync_raw(js: &Rc<Js>, shard: &mut Shard) {
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
fn raw_cb(js: &Rc<Js>, req: Request, sock: ringhttp::api::Socket, head: Vec<u8>, kind: u32) {
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

// ---------------------------------------------------------------------------------------
// listen(options, address, onRequest, onEvent) -> [handle, port, backend]

fn opt_ms(env: Env, opts: Value, name: &CStr) -> Option<Duration> {
    get_f64(env, named(env, opts, name)).map(|n| Duration::from_millis(n.max(0.0) as u64))
}

fn opt_n(env: Env, opts: Value, name: &CStr) -> Option<usize> {
    get_f64(env, named(env, opts, name)).map(|n| n.max(0.0) as usize)
}

fn errno_code(e: &ringhttp::Error) -> Option<(&'static str, i32)> {
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

fn listen(cx: &Cx) -> JsResult<Value> {
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
        if let Some(d) = opt_ms(env, opts, c"keepAliveTimeout") {
            b = b.keep_alive_timeout(d);
        }
        if let Some(d) = opt_ms(env, opts, c"headersTimeout") {
            b = b.headers_timeout(d);
        }
        if let Some(d) = opt_ms(env, opts, c"requestTimeout") {
            b = b.request_timeout(d);
        }
        if let Some(d) = opt_ms(env, opts, c"timeout") {
            b = b.timeout(d);
        }
        if let Some(n) = opt_n(env, opts, c"maxHeadersCount") {
            b = b.max_headers_count(n);
        }
        if let Some(n) = opt_n(env, opts, c"maxRequestsPerSocket") {
            b = b.max_requests_per_socket(n);
        }
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
        body_scratch: RefCell::new(Vec::new()),
        pool: RefCell::new(ChunkPool::default()),
        socks: RefCell::new(Slab::new()),
        dead_socks: RefCell::new(Vec::new()),
        conn_ids: RefCell::new(std::collections::HashMap::new()),
        want_upgrade: Cell::new(false),
        want_connect: Cell::new(false),
        have_upgrade: Cell::new(false),
        have_connect: Cell::new(false),
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

fn install_handlers(shard: &mut Shard, js: &Rc<Js>) {
    let h = shard.handlers_mut();
    let (j1, j2, j3) = (js.clone(), js.clone(), js.clone());
    *h = std::mem::take(h)
        .on_request(move |req, res| request_cb(&j1, req, res, 0))
        .on_check_continue(move |req, res| request_cb(&j2, req, res, RF_CONTINUE))
        .on_check_expectation(move |req, res| request_cb(&j3, req, res, RF_EXPECTATION));
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
/// text at [start, head start)), start, url start, url end, head start, head end. The
/// request head's bytes go into the batch text whole (JS slices the url out of them and
/// keeps them for reading headers after the engine's request is released).
const BATCH_INTS: usize = 9;

/// Methods JS has as constants (index in `METHOD_NAMES` of lib/server.js).
fn method_index(m: &str) -> i32 {
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
fn request_cb(js: &Js, req: Request, res: Response, kind: u32) {
    if js.pend_n.get() >= js.batch_cap.get() {
        js.flush_requests();
        if js.batch_cap.get() == 0 {
            return; // the server is gone
        }
    }
    let mut flags = kind;
    if req.http_version_minor() == 1 {
        flags |= RF_HTTP11;
    }
    if req.has_body() {
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
        res: Some(res),
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

// ---------------------------------------------------------------------------------------
// Server controls.

fn server<'a>(cx: &Cx, i: usize) -> JsResult<&'a Server> {
    let p = if i == 0 {
        cx.external0::<Server>()?
    } else {
        external::<Server>(cx.env, cx.arg(i))?
    };
    // SAFETY: the External holds a live Server (freed only by its finalizer).
    Ok(unsafe { &*p })
}

fn close(cx: &Cx) -> JsResult<Value> {
    let srv = server(cx, 0)?;
    if !srv.closing.replace(true) {
        match srv.shard.try_borrow_mut() {
            Ok(mut g) => {
                if let Some(s) = g.as_mut() {
                    s.close();
                }
            }
            Err(_) => {
                srv.handle.close();
            }
        }
        srv.js.kick();
    }
    Ok(cx.undefined())
}

fn close_idle(cx: &Cx) -> JsResult<Value> {
    let srv = server(cx, 0)?;
    srv.handle.post(|st| st.close_idle_connections());
    Ok(cx.undefined())
}

/// setOptions(server, opts): `timeout`, `keepAliveTimeout`, `headersTimeout`,
/// `requestTimeout`, `maxHeadersCount`, `maxRequestsPerSocket` changed after listen()
/// (Node reads them per connection); applied by the shard at its next turn.
fn set_options(cx: &Cx) -> JsResult<Value> {
    let srv = server(cx, 0)?;
    let (env, opts) = (cx.env, cx.arg(1));
    let ms = |name| opt_ms(env, opts, name).unwrap_or_default();
    let n = |name| opt_n(env, opts, name).unwrap_or_default();
    let live = LiveConfig {
        timeout: ms(c"timeout"),
        keep_alive_timeout: ms(c"keepAliveTimeout"),
        headers_timeout: ms(c"headersTimeout"),
        request_timeout: ms(c"requestTimeout"),
        max_headers_count: n(c"maxHeadersCount"),
        max_requests_per_socket: n(c"maxRequestsPerSocket"),
    };
    srv.handle.post(move |st| st.set_live_config(live));
    Ok(cx.undefined())
}

fn close_all(cx: &Cx) -> JsResult<Value> {
    let srv = server(cx, 0)?;
    srv.handle.post(|st| st.close_all_connections());
    Ok(cx.undefined())
}

fn set_ref(cx: &Cx) -> JsResult<Value> {
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

fn connections(cx: &Cx) -> JsResult<Value> {
    let srv = server(cx, 0)?;
    let n = srv
        .shard
        .try_borrow()
        .ok()
        .and_then(|g| g.as_ref().map(|s| s.connections()))
        .unwrap_or(0);
    Ok(int(cx.env, n as i64))
}

// stats(handle) -> [open, accepted, requests, 1xx..5xx, client errors (6), timeouts (4),
// bytes in, bytes out]: lib/server.js names them.
fn stats(cx: &Cx) -> JsResult<Value> {
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

// ---------------------------------------------------------------------------------------
// Responses.

/// Runs `f` on the live pair `(server, handle)` given as the first two arguments.
fn with_pair<R>(cx: &Cx, f: impl FnOnce(&Js, &mut Pair) -> JsResult<R>) -> JsResult<R> {
    let srv = server(cx, 0)?;
    let key = (get_u32(cx.env, cx.arg(1)) as usize).wrapping_sub(1);
    let mut pairs = srv.js.pairs.borrow_mut();
    let p = pairs.get_mut(key).ok_or_else(|| {
        JsError::with_code(
            "ringhttp: request already released",
            "ERR_INTERNAL_ASSERTION",
        )
    })?;
    f(&srv.js, p)
}

/// Frees a pair (dropping an unread request body discards it, as Node's `_dump()`).
fn release_pair(cx: &Cx) -> JsResult<Option<Pair>> {
    let srv = server(cx, 0)?;
    let key = (get_u32(cx.env, cx.arg(1)) as usize).wrapping_sub(1);
    let p = srv.js.pairs.borrow_mut().try_remove(key);
    srv.js.kick();
    Ok(p)
}

fn engine_err(e: ringhttp::Error) -> JsError {
    let code = match e.kind() {
        ringhttp::ErrorKind::InvalidHeader if e.to_string().contains("Invalid character") => {
            "ERR_INVALID_CHAR"
        }
        _ => e.code(),
    };
    JsError::with_code(e.to_string(), code)
}

const WF_NO_DATE: u32 = 1;
const WF_RM_DATE: u32 = 2;
const WF_RM_CONNECTION: u32 = 4;
const WF_RM_KEEPALIVE: u32 = 8;
const WF_RM_CL: u32 = 16;
const WF_RM_TE: u32 = 32;
/// end(): release the pair afterwards.
const WF_RELEASE: u32 = 64;
/// end() with release: return the request head's bytes (JS had not read the headers).
const WF_SNAPSHOT: u32 = 128;
/// A status message other than the standard one is at arg 3.
const WF_MESSAGE: u32 = 256;

/// A pending head read from `(status, message, headers, flags, .., .., pairs)` at args
/// 2..=5 and 7: `headers` is one string of names and values separated by NUL
/// (`name\0value\0name\0value`), `pairs` how many pairs JS put in it. NUL is invalid in
/// names and values alike, so a NUL smuggled into a value changes the count and is
/// rejected instead of starting a header of its own.
struct Head {
    status: u16,
    message: Option<String>,
    flags: u32,
    pairs: usize,
    text: Vec<u8>,
    /// `headers` was a number: the slot of `Js::heads` holding them, encoded.
    cached: Option<usize>,
    /// Keep these headers encoded in this slot of `Js::heads` (pairs argument >> 16, - 1).
    store: Option<usize>,
}

/// Slots of `Js::heads` (JS uses fewer).
const HEAD_SLOTS: usize = 64;

fn read_head(cx: &Cx, text: Vec<u8>) -> JsResult<Option<Head>> {
    let env = cx.env;
    let status = get_u32(env, cx.arg(2));
    if status == 0 {
        return Ok(None);
    }
    let mut text = text;
    let arg = get_u32(env, cx.arg(7)) as usize;
    let (pairs, store) = (arg & 0xffff, (arg >> 16).checked_sub(1));
    let cached = (type_of(env, cx.arg(4)) == sys::ValueType::napi_number)
        .then(|| get_u32(env, cx.arg(4)) as usize);
    if cached.is_none() && pairs > 0 && !read_utf8_into(env, cx.arg(4), &mut text) {
        return Err(JsError::with_code(
            "ringhttp: headers expected",
            "ERR_INVALID_ARG_TYPE",
        ));
    }
    let flags = get_u32(env, cx.arg(5));
    let message = if flags & WF_MESSAGE == 0 {
        None
    } else {
        Some(get_string(env, cx.arg(3))?)
    };
    Ok(Some(Head {
        status: status as u16,
        message,
        flags,
        pairs,
        text,
        cached,
        store: store.filter(|&s| s < HEAD_SLOTS),
    }))
}

fn apply_head(js: &Js, res: &mut Response, h: &Head) -> JsResult<()> {
    if h.flags & WF_NO_DATE != 0 {
        res.set_send_date(false);
    }
    for (bit, name) in [
        (WF_RM_DATE, "date"),
        (WF_RM_CONNECTION, "connection"),
        (WF_RM_KEEPALIVE, "keep-alive"),
        (WF_RM_CL, "content-length"),
        (WF_RM_TE, "transfer-encoding"),
    ] {
        if h.flags & bit != 0 {
            res.remove_header(name).map_err(engine_err)?;
        }
    }
    if let Some(slot) = h.cached {
        let heads = js.heads.borrow();
        let enc = heads.get(slot).and_then(Option::as_ref).ok_or_else(|| {
            JsError::with_code("ringhttp: no such header set", "ERR_INTERNAL_ASSERTION")
        })?;
        res.write_head_encoded(h.status, h.message.as_deref(), enc)
            .map_err(engine_err)?;
        return Ok(());
    }
    let bad = || JsError::with_code("Invalid character in header content", "ERR_INVALID_CHAR");
    let text = std::str::from_utf8(&h.text).map_err(|_| bad())?;
    let mut stack: [(&str, &str); 16] = [("", ""); 16];
    let mut heap = Vec::new();
    let list: &[(&str, &str)] = if h.pairs == 0 {
        &[]
    } else {
        let mut it = text.split('\0');
        let mut n = 0;
        while let Some(name) = it.next() {
            let value = it.next().ok_or_else(bad)?;
            if n < stack.len() {
                stack[n] = (name, value);
            } else {
                if n == stack.len() {
                    heap.extend_from_slice(&stack);
                }
                heap.push((name, value));
            }
            n += 1;
        }
        if n != h.pairs {
            return Err(bad());
        }
        if n <= stack.len() {
            &stack[..n]
        } else {
            &heap
        }
    };
    if let Some(slot) = h.store {
        let enc = EncodedHeaders::new(list.iter().copied()).map_err(engine_err)?;
        res.write_head_encoded(h.status, h.message.as_deref(), &enc)
            .map_err(engine_err)?;
        let mut heads = js.heads.borrow_mut();
        if heads.len() <= slot {
            heads.resize(slot + 1, None);
        }
        heads[slot] = Some(enc);
        return Ok(());
    }
    res.write_head_borrowed(h.status, h.message.as_deref(), list)
        .map_err(engine_err)?;
    Ok(())
}

/// Takes the server's scratch buffer for a head (given back with `put_scratch`).
fn take_scratch(cx: &Cx) -> JsResult<Vec<u8>> {
    Ok(std::mem::take(&mut *server(cx, 0)?.js.scratch.borrow_mut()))
}

fn put_scratch(cx: &Cx, head: Option<Head>) {
    if let (Some(h), Ok(srv)) = (head, server(cx, 0)) {
        *srv.js.scratch.borrow_mut() = h.text;
    }
}

/// resWrite(server, handle, status, message, headers, flags, data, pairs) -> bool
fn res_write(cx: &Cx) -> JsResult<Value> {
    let env = cx.env;
    let head = read_head(cx, take_scratch(cx)?)?;
    let data = cx.arg(6);
    let ok = with_pair(cx, |js, p| {
        let Some(res) = p.res.as_mut() else {
            return Ok(false);
        };
        if let Some(h) = &head {
            apply_head(js, res, h)?;
        }
        let ok = with_body(env, data, &js.body_scratch, |b| res.write(b))?;
        if !ok && !p.drain_hooked {
            p.drain_hooked = true;
            let id = get_u32(env, cx.arg(1));
            let js2 = js_rc(cx)?;
            res.on_drain(move || js2.event_id(EV_DRAIN, id));
        }
        js.kick();
        Ok(ok)
    });
    put_scratch(cx, head);
    Ok(boolean(env, ok?))
}

fn js_rc(cx: &Cx) -> JsResult<Rc<Js>> {
    Ok(server(cx, 0)?.js.clone())
}

/// resEnd(server, handle, status, message, headers, flags, data, pairs)
///   -> head snapshot | undefined
fn res_end(cx: &Cx) -> JsResult<Value> {
    let env = cx.env;
    let head = read_head(cx, take_scratch(cx)?)?;
    let flags = get_u32(env, cx.arg(5));
    let data = cx.arg(6);
    let snapshot = with_pair(cx, |js, p| {
        if let Some(res) = p.res.as_mut() {
            if let Some(h) = &head {
                apply_head(js, res, h)?;
            }
            with_body(env, data, &js.body_scratch, |b| res.end_with(b))?;
        }
        if !p.hooked {
            // Nobody listens for 'finish'/'close': let the engine recycle the response now.
            p.res = None;
        }
        js.kick();
        Ok((flags & WF_SNAPSHOT != 0).then(|| {
            p.req
                .as_ref()
                .map(|r| latin1(env, r.raw_head()))
                .unwrap_or_else(|| undefined(env))
        }))
    });
    put_scratch(cx, head);
    let snapshot = snapshot?;
    if flags & WF_RELEASE != 0 {
        drop(release_pair(cx)?);
    }
    Ok(snapshot.unwrap_or_else(|| undefined(env)))
}

/// release(server, handle, snapshot) -> head snapshot | undefined
fn release(cx: &Cx) -> JsResult<Value> {
    let env = cx.env;
    let p = release_pair(cx)?;
    let out = match (&p, get_bool(env, cx.arg(2))) {
        (Some(Pair { req: Some(r), .. }), true) => latin1(env, r.raw_head()),
        _ => undefined(env),
    };
    drop(p);
    Ok(out)
}

/// resHook(server, handle) -> 0 (no response any more), 1 ('finish' and 'close' events
/// for this response follow), 2 (hooked, but its connection is already gone: no 'close'
/// will come, JS closes it itself).
fn res_hook(cx: &Cx) -> JsResult<Value> {
    let id = get_u32(cx.env, cx.arg(1));
    let js_owned = js_rc(cx)?;
    let state = with_pair(cx, |_, p| {
        let Some(res) = p.res.as_mut() else {
            return Ok(0);
        };
        if !p.hooked {
            p.hooked = true;
            let js = js_owned.clone();
            res.on_finish(move || js.event_id(EV_FINISH, id));
            let js = js_owned;
            res.on_close(move || js.event_id(EV_CLOSE, id));
        }
        Ok(if res.is_connected() { 1 } else { 2 })
    })?;
    Ok(uint(cx.env, state))
}

/// msgTimeout(server, handle, msecs, response): `req.setTimeout` / `res.setTimeout`: the
/// connection's inactivity timeout, and a 'timeout' event for the message (the engine then
/// leaves the connection open; JS destroys it if nobody listened).
fn msg_timeout(cx: &Cx) -> JsResult<Value> {
    let env = cx.env;
    let id = get_u32(env, cx.arg(1));
    let ms = Duration::from_millis(get_f64(env, cx.arg(2)).unwrap_or(0.0).max(0.0) as u64);
    let on_res = get_bool(env, cx.arg(3));
    let j = js_rc(cx)?;
    with_pair(cx, |js, p| {
        if on_res {
            if let Some(res) = p.res.as_mut() {
                res.set_timeout(ms, move |_| j.event_id(EV_RES_TIMEOUT, id));
            }
        } else if let Some(req) = &p.req {
            req.set_timeout(ms, move |_| j.event_id(EV_REQ_TIMEOUT, id));
        }
        js.kick();
        Ok(())
    })?;
    Ok(cx.undefined())
}

fn res_continue(cx: &Cx) -> JsResult<Value> {
    with_pair(cx, |js, p| {
        if let Some(res) = p.res.as_mut() {
            res.write_continue();
        }
        js.kick();
        Ok(())
    })?;
    Ok(cx.undefined())
}

fn res_trailers(cx: &Cx) -> JsResult<Value> {
    let env = cx.env;
    let list = cx.arg(2);
    let n = array_len(env, list);
    let mut t = Vec::new();
    let mut i = 0;
    while i + 1 < n {
        t.push((
            get_string(env, element(env, list, i))?,
            get_string(env, element(env, list, i + 1))?,
        ));
        i += 2;
    }
    with_pair(cx, |_, p| {
        if let Some(res) = p.res.as_mut() {
            res.add_trailers(t).map_err(engine_err)?;
        }
        Ok(())
    })?;
    Ok(cx.undefined())
}

// ---------------------------------------------------------------------------------------
// Requests.

/// reqRawHeaders(server, handle) -> [name, value, ...] in wire order and case.
fn req_raw_headers(cx: &Cx) -> JsResult<Value> {
    let env = cx.env;
    with_pair(cx, |_, p| {
        let mut vals = Vec::new();
        if let Some(req) = &p.req {
            for (n, v) in &req.raw_headers() {
                vals.push(latin1(env, n.as_bytes()));
                vals.push(latin1(env, v.as_bytes()));
            }
        }
        Ok(array(env, &vals))
    })
}

fn req_raw_trailers(cx: &Cx) -> JsResult<Value> {
    let env = cx.env;
    with_pair(cx, |_, p| {
        let mut vals = Vec::new();
        if let Some(req) = &p.req {
            for t in req.raw_trailers() {
                vals.push(latin1(env, &t.name));
                vals.push(latin1(env, &t.value));
            }
        }
        Ok(array(env, &vals))
    })
}

/// reqBody(server, handle): start delivering 'data'/'end'/'aborted' events.
fn req_body(cx: &Cx) -> JsResult<Value> {
    let id = get_u32(cx.env, cx.arg(1));
    let js_owned = js_rc(cx)?;
    with_pair(cx, |js, p| {
        let Some(req) = &p.req else { return Ok(()) };
        if p.body_started {
            return Ok(());
        }
        p.body_started = true;
        let j = js_owned.clone();
        req.on_data(move |chunk| {
            let env = j.env;
            let _s = Scope::open(env);
            let u = undefined(env);
            match j.pool.borrow_mut().put(env, chunk) {
                // A slice of the pool: (ArrayBuffer, offset << 16 | length).
                Some((ab, at)) => j.event(EV_DATA, uint(env, id), ab, uint(env, at)),
                None => j.event(EV_DATA, uint(env, id), buffer_copy(env, chunk), u),
            };
        });
        let j = js_owned.clone();
        req.on_end(move || {
            // Whether there are trailers to read (JS asks for them only then).
            let key = (id as usize).wrapping_sub(1);
            let trailers = j.pairs.try_borrow().map_or(true, |pairs| {
                pairs
                    .get(key)
                    .and_then(|p| p.req.as_ref())
                    .is_none_or(|r| !r.raw_trailers().is_empty())
            });
            let env = j.env;
            let _s = Scope::open(env);
            let u = undefined(env);
            j.event(EV_END, uint(env, id), boolean(env, trailers), u);
        });
        let j = js_owned;
        req.on_aborted(move || j.event_id(EV_ABORTED, id));
        js.kick();
        Ok(())
    })?;
    Ok(cx.undefined())
}

fn req_pause(cx: &Cx) -> JsResult<Value> {
    let pause = get_bool(cx.env, cx.arg(2));
    with_pair(cx, |js, p| {
        if let Some(req) = &p.req {
            if pause {
                req.pause();
            } else {
                req.resume();
            }
        }
        js.kick();
        Ok(())
    })?;
    Ok(cx.undefined())
}

// ---------------------------------------------------------------------------------------
// Connections (by fd, valid until the connection-close event).

/// connDestroy(server, fd, handle): `socket.destroy()`. Through the request's own
/// connection when the pair is live, else by the engine's connection id.
fn conn_destroy(cx: &Cx) -> JsResult<Value> {
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

/// connTimeout(server, fd, ms): `req.socket.setTimeout(ms)`, the connection's inactivity
/// timeout from now on (zero disables); expiry comes back as EV_TIMEOUT.
fn conn_timeout(cx: &Cx) -> JsResult<Value> {
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

/// Runs `f` on the raw socket `(server, id)` of the first two arguments (no-op once gone).
fn with_sock<R>(cx: &Cx, f: impl FnOnce(&ringhttp::api::Socket) -> R) -> JsResult<Option<R>> {
    let srv = server(cx, 0)?;
    let key = (get_u32(cx.env, cx.arg(1)) as usize).wrapping_sub(1);
    let out = srv.js.socks.borrow().get(key).map(f);
    srv.js.kick();
    Ok(out)
}

/// sockWrite(server, id, data) -> bool ('drain' follows false)
fn sock_write(cx: &Cx) -> JsResult<Value> {
    let env = cx.env;
    let data = cx.arg(2);
    let ok = match with_sock(cx, |s| with_bytes(env, data, |b| s.write(b)))? {
        Some(r) => r?,
        None => false,
    };
    Ok(boolean(env, ok))
}

fn sock_end(cx: &Cx) -> JsResult<Value> {
    with_sock(cx, |s| s.end())?;
    Ok(cx.undefined())
}

fn sock_destroy(cx: &Cx) -> JsResult<Value> {
    with_sock(cx, |s| s.destroy())?;
    Ok(cx.undefined())
}

/// sockPause(server, id, pause)
fn sock_pause(cx: &Cx) -> JsResult<Value> {
    let pause = get_bool(cx.env, cx.arg(2));
    with_sock(cx, |s| if pause { s.pause() } else { s.resume() })?;
    Ok(cx.undefined())
}

/// setRaw(server, upgrade, connect): whether JS listens for 'upgrade' / 'connect'.
fn set_raw(cx: &Cx) -> JsResult<Value> {
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

fn sockaddr_parts(ss: &libc::sockaddr_storage) -> Option<(String, u16, &'static str)> {
    match ss.ss_family as i32 {
        libc::AF_INET => {
            // SAFETY: the family says this is a sockaddr_in.
            let a = unsafe { &*(ss as *const _ as *const libc::sockaddr_in) };
            let ip = std::net::Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some((ip.to_string(), u16::from_be(a.sin_port), "IPv4"))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says this is a sockaddr_in6.
            let a = unsafe { &*(ss as *const _ as *const libc::sockaddr_in6) };
            let ip = std::net::Ipv6Addr::from(a.sin6_addr.s6_addr);
            Some((ip.to_string(), u16::from_be(a.sin6_port), "IPv6"))
        }
        _ => None,
    }
}

/// fdAddress(fd) -> [remoteAddress, remotePort, remoteFamily, localAddress, localPort]
fn fd_address(cx: &Cx) -> JsResult<Value> {
    let env = cx.env;
    let fd = get_f64(env, cx.arg(0)).unwrap_or(-1.0) as i32;
    let mut out = Vec::new();
    for peer in [true, false] {
        // SAFETY: sockaddr_storage is plain data; the kernel fills at most len bytes.
        let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        // SAFETY: valid out-pointers of the right size.
        let r = unsafe {
            if peer {
                libc::getpeername(fd, &mut ss as *mut _ as *mut _, &mut len)
            } else {
                libc::getsockname(fd, &mut ss as *mut _ as *mut _, &mut len)
            }
        };
        match (r, sockaddr_parts(&ss)) {
            (0, Some((ip, port, fam))) => {
                out.push(utf8(env, &ip));
                out.push(int(env, port.into()));
                if peer {
                    out.push(utf8(env, fam));
                }
            }
            _ => {
                let u = undefined(env);
                out.push(u);
                out.push(u);
                if peer {
                    out.push(u);
                }
            }
        }
    }
    Ok(array(env, &out))
}

// ---------------------------------------------------------------------------------------
// Module registration.

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
    c"reqRawHeaders" => req_raw_headers,
    c"reqRawTrailers" => req_raw_trailers,
    c"reqBody" => req_body,
    c"reqPause" => req_pause,
    c"release" => release,
    c"connDestroy" => conn_destroy,
    c"connTimeout" => conn_timeout,
    c"sockWrite" => sock_write,
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
