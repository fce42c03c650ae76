//! Requests: raw headers and trailers, the body stream, pause/resume.
use std::ptr::null_mut;

use napi::sys;

use crate::codes::{EV_ABORTED, EV_DATA, EV_END};
use crate::napi_util::{
    array, boolean, buffer_copy, delete_ref, get_bool, get_ref, get_u32, latin1, make_ref, uint,
    undefined, Cx, Env, JsResult, Value,
};
use crate::response::{js_rc, with_pair};
use crate::state::Scope;

/// Request body chunks up to `CHUNK_MAX` bytes are copied into a shared 64 KiB ArrayBuffer
/// and handed to JS as (buffer, offset, length) for a `Buffer` view, as Node slices its
/// socket reads out of a pool: no allocation, backing store or finalizer per chunk. A
/// view keeps its pool alive; a full pool is dropped (JS's views keep it) for a new one.
#[derive(Default)]
pub(crate) struct ChunkPool {
    pub(crate) ab: sys::napi_ref,
    pub(crate) data: usize,
    pub(crate) used: usize,
    /// How many pools there have been (a batch of whole bodies spans at most two).
    pub(crate) gen: u32,
}

pub(crate) const POOL_SIZE: usize = 65536;
pub(crate) const CHUNK_MAX: usize = 16384;

impl ChunkPool {
    /// Copies `chunk` into the pool: the pool's ArrayBuffer and `offset << 16 | length`.
    pub(crate) fn put(&mut self, env: Env, chunk: &[u8]) -> Option<(Value, u32)> {
        if chunk.is_empty() || chunk.len() > CHUNK_MAX {
            return None;
        }
        if self.ab.is_null() || self.used + chunk.len() > POOL_SIZE {
            let (ab, data) = new_pool(env)?;
            delete_ref(env, std::mem::replace(&mut self.ab, make_ref(env, ab)));
            self.data = data;
            self.used = 0;
            self.gen = self.gen.wrapping_add(1);
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

/// A new pool: an ArrayBuffer of POOL_SIZE bytes and its memory. Made as a Buffer, whose
/// memory Node does not zero (an ArrayBuffer's it does: 64 KiB of memset per pool), then
/// its ArrayBuffer is taken; bytes are only ever read where they were written.
fn new_pool(env: Env) -> Option<(Value, usize)> {
    let (mut data, mut buf) = (null_mut(), null_mut());
    // SAFETY: a new Buffer of POOL_SIZE bytes.
    let st = unsafe { sys::napi_create_buffer(env, POOL_SIZE, &mut data, &mut buf) };
    if st == sys::Status::napi_ok && !data.is_null() {
        let (mut ty, mut len, mut d, mut ab, mut off) = (0, 0usize, null_mut(), null_mut(), 0);
        // SAFETY: buf is the Uint8Array just made; data lives as long as its ArrayBuffer
        // (kept by our reference or JS's views).
        let st = unsafe {
            sys::napi_get_typedarray_info(env, buf, &mut ty, &mut len, &mut d, &mut ab, &mut off)
        };
        // Offsets into the pool are its ArrayBuffer's: only a Buffer that owns its whole
        // ArrayBuffer will do (Node's are; a pooled one would not be).
        if st == sys::Status::napi_ok && off == 0 && len == POOL_SIZE && !ab.is_null() {
            return Some((ab, data as usize));
        }
    }
    let (mut data, mut ab) = (null_mut(), null_mut());
    // SAFETY: a new ArrayBuffer of POOL_SIZE bytes; data points at its memory, which lives
    // as long as the ArrayBuffer (kept by our reference or JS's views).
    let st = unsafe { sys::napi_create_arraybuffer(env, POOL_SIZE, &mut data, &mut ab) };
    (st == sys::Status::napi_ok && !data.is_null()).then_some((ab, data as usize))
}

/// reqRawHeaders(server, handle) -> [name, value, ...] in wire order and case.
pub(crate) fn req_raw_headers(cx: &Cx) -> JsResult<Value> {
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

pub(crate) fn req_raw_trailers(cx: &Cx) -> JsResult<Value> {
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
pub(crate) fn req_body(cx: &Cx) -> JsResult<Value> {
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
            // The pool is not borrowed while JS runs (its listeners may flush requests).
            let slice = j.pool.borrow_mut().put(env, chunk);
            match slice {
                // A slice of the pool: (ArrayBuffer, offset << 16 | length).
                Some((ab, at)) => j.body_event(EV_DATA, uint(env, id), ab, uint(env, at)),
                None => j.body_event(EV_DATA, uint(env, id), buffer_copy(env, chunk), u),
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
            j.body_event(EV_END, uint(env, id), boolean(env, trailers), u);
        });
        let j = js_owned;
        req.on_aborted(move || j.event_id(EV_ABORTED, id));
        js.kick();
        Ok(())
    })?;
    Ok(cx.undefined())
}

pub(crate) fn req_pause(cx: &Cx) -> JsResult<Value> {
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
