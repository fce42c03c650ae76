//! Responses: heads handed over by JS (with the header-set cache), write/end, hooks, timeouts,
//! 100-continue, trailers.
use std::rc::Rc;
use std::time::Duration;

use ringhttp::{EncodedHeaders, Response};

use crate::codes::{
    EV_CLOSE, EV_DRAIN, EV_FINISH, EV_REQ_TIMEOUT, EV_RES_TIMEOUT, WF_CHUNKS, WF_DETACH,
    WF_MESSAGE, WF_NO_DATE, WF_RELEASE, WF_RM_CL, WF_RM_CONNECTION, WF_RM_DATE, WF_RM_KEEPALIVE,
    WF_RM_TE, WF_SNAPSHOT,
};
use crate::control::server;
use crate::napi_util::{
    array_len, boolean, element, get_bool, get_f64, get_string, get_u32, latin1, read_utf8_into,
    try_u32, uint, undefined, with_body, Cx, Env, JsError, JsResult, Value,
};
use crate::state::{Js, Pair};

/// Runs `f` on the live pair `(server, handle)` given as the first two arguments.
pub(crate) fn with_pair<R>(cx: &Cx, f: impl FnOnce(&Js, &mut Pair) -> JsResult<R>) -> JsResult<R> {
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
pub(crate) fn release_pair(cx: &Cx) -> JsResult<Option<Pair>> {
    let srv = server(cx, 0)?;
    let key = (get_u32(cx.env, cx.arg(1)) as usize).wrapping_sub(1);
    let p = srv.js.pairs.borrow_mut().try_remove(key);
    srv.js.kick();
    Ok(p)
}

pub(crate) fn engine_err(e: ringhttp::Error) -> JsError {
    let code = match e.kind() {
        ringhttp::ErrorKind::InvalidHeader if e.to_string().contains("Invalid character") => {
            "ERR_INVALID_CHAR"
        }
        _ => e.code(),
    };
    JsError::with_code(e.to_string(), code)
}

/// A pending head read from `(status, message, headers, flags, .., .., pairs)` at args
/// 2..=5 and 7: `headers` is one string of names and values separated by NUL
/// (`name\0value\0name\0value`), `pairs` how many pairs JS put in it. NUL is invalid in
/// names and values alike, so a NUL smuggled into a value changes the count and is
/// rejected instead of starting a header of its own.
pub(crate) struct Head {
    pub(crate) status: u16,
    pub(crate) message: Option<String>,
    pub(crate) flags: u32,
    pub(crate) pairs: usize,
    pub(crate) text: Vec<u8>,
    /// `headers` was a number: the slot of `Js::heads` holding them, encoded.
    pub(crate) cached: Option<usize>,
    /// Keep these headers encoded in this slot of `Js::heads` (pairs argument >> 16, - 1).
    pub(crate) store: Option<usize>,
}

/// Slots of `Js::heads` (JS uses fewer).
pub(crate) const HEAD_SLOTS: usize = 64;

pub(crate) fn read_head(cx: &Cx) -> JsResult<Option<Head>> {
    let env = cx.env;
    let status = get_u32(env, cx.arg(2));
    if status == 0 {
        // No head: the scratch buffer stays where it is (taking it would drop it).
        return Ok(None);
    }
    let arg = get_u32(env, cx.arg(7)) as usize;
    let (pairs, store) = (arg & 0xffff, (arg >> 16).checked_sub(1));
    let cached = try_u32(env, cx.arg(4)).map(|s| s as usize);
    // A kept set needs no text: the scratch buffer stays where it is.
    let mut text = Vec::new();
    if cached.is_none() && pairs > 0 {
        text = take_scratch(cx)?;
        if !read_utf8_into(env, cx.arg(4), &mut text) {
            put_scratch(cx, text);
            return Err(JsError::with_code(
                "ringhttp: headers expected",
                "ERR_INVALID_ARG_TYPE",
            ));
        }
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

pub(crate) fn apply_head(js: &Js, res: &mut Response, h: &Head) -> JsResult<()> {
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
pub(crate) fn take_scratch(cx: &Cx) -> JsResult<Vec<u8>> {
    Ok(std::mem::take(&mut *server(cx, 0)?.js.scratch.borrow_mut()))
}

/// Gives the scratch buffer back (a head that took none has an empty one: nothing to do).
pub(crate) fn put_scratch(cx: &Cx, text: Vec<u8>) {
    if text.capacity() == 0 {
        return;
    }
    if let Ok(srv) = server(cx, 0) {
        *srv.js.scratch.borrow_mut() = text;
    }
}

fn put_head_scratch(cx: &Cx, head: Option<Head>) {
    if let Some(h) = head {
        put_scratch(cx, h.text);
    }
}

/// Body slots (JS uses fewer).
const BODY_SLOTS: usize = 16;

/// keepBody(server, slot, string): keeps the string's UTF-8 bytes; a body argument equal to
/// `slot` stands for them from then on (strings JS sends again and again).
pub(crate) fn keep_body(cx: &Cx) -> JsResult<Value> {
    let slot = get_u32(cx.env, cx.arg(1)) as usize;
    if slot >= BODY_SLOTS {
        return Err(JsError::with_code(
            "ringhttp: body slot out of range",
            "ERR_INTERNAL_ASSERTION",
        ));
    }
    let mut text = Vec::new();
    if !read_utf8_into(cx.env, cx.arg(2), &mut text) {
        return Err(JsError::with_code(
            "ringhttp: string expected",
            "ERR_INVALID_ARG_TYPE",
        ));
    }
    let mut bodies = server(cx, 0)?.js.bodies.borrow_mut();
    if bodies.len() <= slot {
        bodies.resize(slot + 1, Vec::new());
    }
    bodies[slot] = text;
    Ok(cx.undefined())
}

/// Calls `f` with a body argument's bytes: a string, a Uint8Array, or the number of a
/// string kept by keepBody.
fn with_data<R>(env: Env, js: &Js, v: Value, f: impl FnOnce(&[u8]) -> R) -> JsResult<R> {
    if let Some(slot) = try_u32(env, v) {
        let bodies = js.bodies.borrow();
        let b = bodies.get(slot as usize).ok_or_else(|| {
            JsError::with_code("ringhttp: no such kept body", "ERR_INTERNAL_ASSERTION")
        })?;
        return Ok(f(b));
    }
    with_body(env, v, &js.body_scratch, f)
}

/// Writes the data arguments, each as its own write() (same framing as separate calls):
/// argument 6, then any past the 8 named ones (the writes JS coalesced within one
/// synchronous run), or with WF_CHUNKS every element of the array at 6. The last write's
/// backpressure verdict.
fn write_data(cx: &Cx, flags: u32, js: &Js, res: &mut Response) -> JsResult<bool> {
    let env = cx.env;
    let data = cx.arg(6);
    if flags & WF_CHUNKS != 0 {
        let mut ok = true;
        for i in 0..array_len(env, data) {
            ok = with_data(env, js, element(env, data, i), |b| res.write(b))?;
        }
        return Ok(ok);
    }
    let mut ok = with_data(env, js, data, |b| res.write(b))?;
    for i in 8..cx.argc() {
        ok = with_data(env, js, cx.arg(i), |b| res.write(b))?;
    }
    Ok(ok)
}

/// resWrite(server, handle, status, message, headers, flags, data, pairs) -> bool
pub(crate) fn res_write(cx: &Cx) -> JsResult<Value> {
    let env = cx.env;
    let head = read_head(cx)?;
    let flags = get_u32(env, cx.arg(5));
    let ok = with_pair(cx, |js, p| {
        let Some(res) = p.res.as_mut() else {
            return Ok(false);
        };
        if let Some(h) = &head {
            apply_head(js, res, h)?;
        }
        let ok = write_data(cx, flags, js, res)?;
        if !ok && !p.drain_hooked {
            p.drain_hooked = true;
            let id = get_u32(env, cx.arg(1));
            let js2 = js_rc(cx)?;
            res.on_drain(move || js2.event_id(EV_DRAIN, id));
        }
        js.kick();
        Ok(ok)
    });
    put_head_scratch(cx, head);
    Ok(boolean(env, ok?))
}

pub(crate) fn js_rc(cx: &Cx) -> JsResult<Rc<Js>> {
    Ok(server(cx, 0)?.js.clone())
}

/// resEnd(server, handle, status, message, headers, flags, data, pairs)
///   -> head snapshot | undefined
pub(crate) fn res_end(cx: &Cx) -> JsResult<Value> {
    let env = cx.env;
    let head = read_head(cx)?;
    let flags = get_u32(env, cx.arg(5));
    let data = cx.arg(6);
    let snapshot = with_pair(cx, |js, p| {
        if let Some(res) = p.res.as_mut() {
            if let Some(h) = &head {
                apply_head(js, res, h)?;
            }
            if flags & WF_CHUNKS == 0 && cx.argc() <= 8 {
                with_data(env, js, data, |b| res.end_with(b))?;
            } else {
                write_data(cx, flags, js, res)?;
                res.end();
            }
            if flags & WF_DETACH != 0 && p.hooked {
                // Zero-sized closures: replacing the hooks allocates nothing.
                res.on_finish(|| {});
                res.on_close(|| {});
                p.hooked = false;
            }
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
    put_head_scratch(cx, head);
    let snapshot = snapshot?;
    if flags & WF_RELEASE != 0 {
        drop(release_pair(cx)?);
    }
    Ok(snapshot.unwrap_or_else(|| undefined(env)))
}

/// release(server, handle, snapshot, detach) -> head snapshot | undefined. `detach`: JS
/// emits the response's 'finish'/'close' itself; the engine's hooks are dropped.
pub(crate) fn release(cx: &Cx) -> JsResult<Value> {
    let env = cx.env;
    let mut p = release_pair(cx)?;
    if get_bool(env, cx.arg(3)) {
        if let Some(res) = p.as_mut().and_then(|p| p.res.as_mut()) {
            res.on_finish(|| {});
            res.on_close(|| {});
        }
    }
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
pub(crate) fn res_hook(cx: &Cx) -> JsResult<Value> {
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
pub(crate) fn msg_timeout(cx: &Cx) -> JsResult<Value> {
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

pub(crate) fn res_continue(cx: &Cx) -> JsResult<Value> {
    with_pair(cx, |js, p| {
        if let Some(res) = p.res.as_mut() {
            res.write_continue();
        }
        js.kick();
        Ok(())
    })?;
    Ok(cx.undefined())
}

/// `[name, value, name, value, ...]` from JS as pairs of strings (a last odd entry is
/// ignored).
fn string_pairs(env: Env, list: Value) -> JsResult<Vec<(String, String)>> {
    let n = array_len(env, list);
    let mut pairs = Vec::with_capacity(n as usize / 2);
    let mut i = 0;
    while i + 1 < n {
        pairs.push((
            get_string(env, element(env, list, i))?,
            get_string(env, element(env, list, i + 1))?,
        ));
        i += 2;
    }
    Ok(pairs)
}

/// resInformational(server, handle, status, [name, value, ...]): a 1xx response now
/// (`writeEarlyHints`, `writeProcessing`).
pub(crate) fn res_informational(cx: &Cx) -> JsResult<Value> {
    let env = cx.env;
    let status = get_u32(env, cx.arg(2)) as u16;
    let h = string_pairs(env, cx.arg(3))?;
    with_pair(cx, |js, p| {
        if let Some(res) = p.res.as_mut() {
            res.write_informational(status, h.iter().map(|(n, v)| (n, v)))
                .map_err(engine_err)?;
        }
        js.kick();
        Ok(())
    })?;
    Ok(cx.undefined())
}

pub(crate) fn res_trailers(cx: &Cx) -> JsResult<Value> {
    let env = cx.env;
    let t = string_pairs(env, cx.arg(2))?;
    with_pair(cx, |_, p| {
        if let Some(res) = p.res.as_mut() {
            res.add_trailers(t).map_err(engine_err)?;
        }
        Ok(())
    })?;
    Ok(cx.undefined())
}
