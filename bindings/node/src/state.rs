//! The binding's shared state: the JS callbacks (`Js`), a listening `Server`, a live
//! request/response `Pair`, handle scopes.
use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::ptr::null_mut;
use std::rc::Rc;

use napi::sys;
use ringhttp::{EncodedHeaders, Request, Response, Shard, ShardHandle};
use slab::Slab;

use crate::codes::{RF_BODY, RF_WHOLE, WHOLE_POOL_SHIFT};
use crate::listen::BATCH_INTS;
use crate::napi_util::{
    array, array_len, element, get_ref, is_nullish, latin1, make_ref, uint, undefined, Env, Value,
};
use crate::pump::idle_cb;
use crate::request::{ChunkPool, CHUNK_MAX};
use crate::uv;

/// What the JS callbacks need; shared by the shard's handlers and live requests.
pub(crate) struct Js {
    pub(crate) env: Env,
    pub(crate) on_request: Cell<sys::napi_ref>,
    pub(crate) on_event: Cell<sys::napi_ref>,
    /// `onBatch(n, text)`: the requests of a turn, described in `batch` (see `request_cb`).
    pub(crate) on_batch: Cell<sys::napi_ref>,
    /// The JS Int32Array the request descriptions are written into, and its memory.
    pub(crate) batch_ref: Cell<sys::napi_ref>,
    pub(crate) batch_ptr: Cell<*mut i32>,
    /// Room in `batch`, in requests.
    pub(crate) batch_cap: Cell<usize>,
    /// Requests described in `batch` and not yet handed to JS.
    pub(crate) pend_n: Cell<usize>,
    /// Their custom methods and urls, one latin1 string for JS to slice.
    pub(crate) pend_text: RefCell<Vec<u8>>,
    /// Inside a shard turn: the turn's flush will pick up what JS changed.
    pub(crate) in_turn: Cell<bool>,
    /// JS changed something during the turn (it needs another to be flushed).
    pub(crate) touched: Cell<bool>,
    /// The idle handle that schedules a turn after JS acted outside one (null once closed).
    pub(crate) idle: Cell<*mut c_void>,
    pub(crate) idle_active: Cell<bool>,
    /// Exceptions thrown by JS listeners during the turn, re-raised after it.
    pub(crate) errors: RefCell<Vec<sys::napi_ref>>,
    /// Live requests, by JS handle (key + 1). JS releases them explicitly.
    pub(crate) pairs: RefCell<Slab<Pair>>,
    /// Reused buffer for the response heads JS hands over.
    pub(crate) scratch: RefCell<Vec<u8>>,
    /// Where small request body chunks are copied for JS (views of one ArrayBuffer).
    pub(crate) pool: RefCell<ChunkPool>,
    /// Reused buffer for body strings too long for the stack (kept at the largest size).
    pub(crate) body_scratch: RefCell<Vec<u8>>,
    /// Header sets JS asked to keep, encoded (`headers` = a slot number then).
    pub(crate) heads: RefCell<Vec<Option<EncodedHeaders>>>,
    /// Body strings JS asked to keep, as UTF-8 (a body argument is then a slot number).
    pub(crate) bodies: RefCell<Vec<Vec<u8>>>,
    /// Raw sockets handed to 'upgrade'/'connect' listeners, by JS id (key + 1).
    pub(crate) socks: RefCell<Slab<ringhttp::api::Socket>>,
    /// Sockets whose connection closed during the turn: freed after it.
    pub(crate) dead_socks: RefCell<Vec<usize>>,
    /// Open connections: fd -> engine connection id (for `socket.destroy()`).
    pub(crate) conn_ids: RefCell<std::collections::HashMap<i32, u64>>,
    /// Whether JS listens for 'upgrade' / 'connect' (applied to the shard between turns).
    pub(crate) want_upgrade: Cell<bool>,
    pub(crate) want_connect: Cell<bool>,
    pub(crate) have_upgrade: Cell<bool>,
    pub(crate) have_connect: Cell<bool>,
    /// The callback scope of the round `drive` runs (null outside one), with the resource
    /// and async context it was opened with (valid while the round runs).
    pub(crate) round_scope: Cell<sys::napi_callback_scope>,
    pub(crate) round_resource: Cell<Value>,
    pub(crate) round_ctx: Cell<sys::napi_async_context>,
}

impl Js {
    /// Something changed outside a turn: run one soon (next loop iteration).
    pub(crate) fn kick(&self) {
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

    /// Runs the nextTick queue and microtasks now, in the middle of a round, by closing
    /// the round's callback scope and opening another: after each full batch of requests,
    /// so a promise-based framework finishes those before the next batch starts. Without
    /// it the whole read of a turn (up to thousands of pipelined requests) is live at once
    /// and every young-generation GC copies it (Koa pipe16 spent a quarter of its time so).
    pub(crate) fn drain_ticks(&self) {
        let scope = self.round_scope.get();
        if scope.is_null() {
            return;
        }
        let env = self.env;
        let mut next = null_mut();
        // SAFETY: `scope` is the open callback scope of this round (opened by `drive`,
        // outermost, so closing it runs the tick queue); the resource and context are the
        // ones it was opened with, alive for the round.
        unsafe {
            sys::napi_close_callback_scope(env, scope);
            sys::napi_open_callback_scope(
                env,
                self.round_resource.get(),
                self.round_ctx.get(),
                &mut next,
            );
        }
        self.round_scope.set(next);
    }

    /// Calls a JS callback; a thrown exception is kept for after the turn.
    pub(crate) fn call(&self, f: sys::napi_ref, args: &[Value]) -> Option<Value> {
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

    pub(crate) fn event(&self, kind: u32, a: Value, b: Value, c: Value) -> Option<Value> {
        // Requests parsed earlier in the turn reach JS before anything that follows them.
        self.flush_requests();
        let env = self.env;
        self.call(self.on_event.get(), &[uint(env, kind), a, b, c])
    }

    /// A request body's 'data'/'end': its request is in JS already, and the requests
    /// still queued were parsed after these bytes, so they need not be handed over first
    /// (they keep the chance to take their own bodies whole at the end of the turn).
    pub(crate) fn body_event(&self, kind: u32, a: Value, b: Value, c: Value) -> Option<Value> {
        let env = self.env;
        self.call(self.on_event.get(), &[uint(env, kind), a, b, c])
    }

    /// Hands the requests queued by `request_cb` to JS in one call.
    pub(crate) fn flush_requests(&self) {
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
        let pools = self.take_whole_bodies(n);
        // onBatch returns the exceptions its listeners threw (already answered with 500).
        let errs = self.call(self.on_batch.get(), &[uint(env, n as u32), text, pools]);
        if let Some(errs) = errs {
            let len = array_len(env, errs);
            for i in 0..len {
                let e = element(env, errs, i);
                self.errors.borrow_mut().push(make_ref(env, e));
            }
        }
    }

    /// Bodies that arrived whole with their request (all of it in this turn's reads, as a
    /// small POST's usually does) go to JS with it: copied into the chunk pool, their place
    /// written into the batch (int 9: `offset << 16 | length`; flags: `RF_WHOLE` and the
    /// pool's index in the returned array `<< WHOLE_POOL_SHIFT`). The engine counts them as
    /// read, so no reqBody call, no closures and no 'data'/'end' events are needed.
    fn take_whole_bodies(&self, n: usize) -> Value {
        let env = self.env;
        let (Ok(pairs), Ok(mut pool)) = (self.pairs.try_borrow(), self.pool.try_borrow_mut())
        else {
            return undefined(env);
        };
        let mut pools: Vec<Value> = Vec::new();
        let mut gen = pool.gen;
        let batch = self.batch_ptr.get();
        for i in 0..n {
            // SAFETY: batch is the live Int32Array's memory holding n described requests
            // (n <= batch_cap, see request_cb); JS is not running.
            let ints =
                unsafe { std::slice::from_raw_parts_mut(batch.add(i * BATCH_INTS), BATCH_INTS) };
            if ints[1] as u32 & RF_BODY == 0 {
                continue;
            }
            let req = (ints[0] as usize)
                .checked_sub(1)
                .and_then(|k| pairs.get(k))
                .and_then(|p| p.req.as_ref());
            // Copied from the engine's buffer into the pool, which then keeps the buffer.
            let Some(put) = req.and_then(|r| r.with_whole_body(CHUNK_MAX, |b| pool.put(env, b)))
            else {
                continue;
            };
            ints[9] = 0;
            let mut flags = ints[1] as u32 | RF_WHOLE;
            if let Some((ab, at)) = put {
                if pools.is_empty() || pool.gen != gen {
                    gen = pool.gen;
                    pools.push(ab);
                }
                flags |= ((pools.len() - 1) as u32) << WHOLE_POOL_SHIFT;
                ints[9] = at as i32;
            }
            ints[1] = flags as i32;
        }
        array(env, &pools)
    }

    pub(crate) fn event_id(&self, kind: u32, id: u32) {
        let env = self.env;
        let _s = Scope::open(env);
        let u = undefined(env);
        self.event(kind, uint(env, id), u, u);
    }
}

/// A handle scope for values created while Rust calls into JS.
pub(crate) struct Scope(Env, sys::napi_handle_scope);

impl Scope {
    pub(crate) fn open(env: Env) -> Scope {
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
pub(crate) struct Server {
    pub(crate) js: Rc<Js>,
    pub(crate) shard: RefCell<Option<Shard>>,
    pub(crate) handle: ShardHandle,
    pub(crate) poll: Cell<*mut c_void>,
    pub(crate) timer: Cell<*mut c_void>,
    /// The External of this server, kept alive while the uv handles point at it.
    pub(crate) self_ref: Cell<sys::napi_ref>,
    pub(crate) resource: Cell<sys::napi_ref>,
    pub(crate) async_ctx: Cell<sys::napi_async_context>,
    pub(crate) closing: Cell<bool>,
    pub(crate) unrefd: Cell<bool>,
    /// The shard's counters (readable after it closed too).
    pub(crate) counters: std::sync::Arc<ringhttp::shard::stats::Counters>,
}

/// A request and its response while JS can still use them (handle = slab key + 1).
pub(crate) struct Pair {
    pub(crate) req: Option<Request>,
    pub(crate) res: Option<Response>,
    pub(crate) hooked: bool,
    pub(crate) drain_hooked: bool,
    pub(crate) body_started: bool,
}
