//! Driving a shard from libuv: the poll/timer/idle callbacks, one turn inside a callback scope,
//! exceptions re-raised after it, teardown.
use std::ffi::{c_int, c_void};
use std::ptr::null_mut;

use napi::sys;

use crate::codes::EV_SERVER_CLOSE;
use crate::listen::sync_raw;
use crate::napi_util::{delete_ref, get_ref, uint, undefined, Env};
use crate::state::{Js, Scope, Server};
use crate::uv;

/// N-API finalizer of the server's External.
///
/// # Safety
/// Called by Node once, on the JS thread, with `data` the `Box<Server>` leaked in
/// `listen` after its uv handles were closed.
pub(crate) unsafe extern "C" fn finalize_server(env: Env, data: *mut c_void, _hint: *mut c_void) {
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

/// libuv poll callback: the shard's pollable fd is readable.
///
/// # Safety
/// Called by libuv on the JS thread with a live handle whose data is the `Server` (or null
/// once the server is being torn down).
pub(crate) unsafe extern "C" fn poll_cb(h: *mut c_void, _status: c_int, _events: c_int) {
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
pub(crate) unsafe extern "C" fn timer_cb(h: *mut c_void) {
    // SAFETY: the timer handle's data is the Server too, with the same contract as poll_cb.
    unsafe { poll_cb(h, 0, 0) }
}

/// libuv idle callback: work is queued that the pollable fd will not signal.
///
/// # Safety
/// As [`poll_cb`]: a live idle handle whose data is the `Server` or null.
pub(crate) unsafe extern "C" fn idle_cb(h: *mut c_void) {
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
pub(crate) fn drive(srv: &Server) {
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
        srv.js.round_resource.set(resource);
        srv.js.round_ctx.set(srv.async_ctx.get());
        let mut next = None;
        let mut finished = false;
        // Rounds until one leaves nothing to send: each runs the shard (reads, dispatch,
        // sends), hands the requests to JS, then closes its callback scope, which runs the
        // nextTick queue and microtasks. What those write (a promise-based framework's
        // end(), a body's 'end' listener) is sent by the next round, in this same wakeup,
        // not a loop iteration later. The shard is not borrowed while they run.
        for round in 0.. {
            // (Kept in `round_scope`: a full batch of requests reopens it, see drain_ticks.)
            srv.js.round_scope.set(open());
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
            let cb_scope = srv.js.round_scope.replace(null_mut());
            // SAFETY: closes the round's scope; runs the nextTick queue and microtasks.
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
pub(crate) fn rethrow(js: &Js) {
    let errs = std::mem::take(&mut *js.errors.borrow_mut());
    for r in errs {
        let e = get_ref(js.env, r);
        delete_ref(js.env, r);
        // SAFETY: e is a live value; triggers process 'uncaughtException'.
        unsafe { sys::napi_fatal_exception(js.env, e) };
    }
}

/// Stops watching, drops the shard (closing its listeners) and closes the uv handles.
pub(crate) fn teardown(srv: &Server) {
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
pub(crate) fn free_dead_socks(js: &Js) {
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
