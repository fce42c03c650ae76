//! Thin helpers over the raw Node-API (`napi::sys`). The hot path uses these directly:
//! no per-call allocation beyond what the values themselves need.
use std::ffi::c_void;
use std::ptr::null_mut;

use napi::sys;

pub type Env = sys::napi_env;
pub type Value = sys::napi_value;

/// An error to throw into JS: a message and an optional Node-style `code`.
pub struct JsError {
    pub msg: String,
    pub code: Option<String>,
}

impl JsError {
    pub fn new(msg: impl Into<String>) -> JsError {
        JsError {
            msg: msg.into(),
            code: None,
        }
    }
    pub fn with_code(msg: impl Into<String>, code: impl Into<String>) -> JsError {
        JsError {
            msg: msg.into(),
            code: Some(code.into()),
        }
    }
}

pub type JsResult<T> = Result<T, JsError>;

fn check(status: sys::napi_status, what: &str) -> JsResult<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(JsError::new(format!(
            "ringhttp: {what} failed (napi status {status})"
        )))
    }
}

/// The arguments of one JS call into Rust.
pub struct Cx {
    pub env: Env,
    argv: [Value; 12],
    argc: usize,
    /// The `External` pointer of argument 0 once read (a call reads it several times).
    ext0: std::cell::Cell<*mut c_void>,
}

impl Cx {
    /// # Safety
    /// `env` and `info` must be the ones Node passed to the running callback.
    pub unsafe fn new(env: Env, info: sys::napi_callback_info) -> Cx {
        let mut argv = [null_mut(); 12];
        let mut argc = argv.len();
        // SAFETY: argv has room for argc values; this and data are optional (null).
        unsafe {
            sys::napi_get_cb_info(
                env,
                info,
                &mut argc,
                argv.as_mut_ptr(),
                null_mut(),
                null_mut(),
            );
        }
        Cx {
            env,
            argv,
            argc: argc.min(12),
            ext0: std::cell::Cell::new(null_mut()),
        }
    }

    /// [`external`] of argument 0, read once per call. Every caller of one function reads
    /// argument 0 as the same `T`.
    pub fn external0<T>(&self) -> JsResult<*mut T> {
        let c = self.ext0.get();
        if !c.is_null() {
            return Ok(c as *mut T);
        }
        let p = external::<T>(self.env, self.arg(0))?;
        self.ext0.set(p as *mut c_void);
        Ok(p)
    }

    /// How many arguments were passed (at most 12 are kept).
    pub fn argc(&self) -> usize {
        self.argc
    }

    pub fn arg(&self, i: usize) -> Value {
        if i < self.argc {
            self.argv[i]
        } else {
            self.undefined()
        }
    }

    pub fn undefined(&self) -> Value {
        undefined(self.env)
    }
}

pub fn undefined(env: Env) -> Value {
    let mut v = null_mut();
    // SAFETY: plain value creation on a valid env.
    unsafe { sys::napi_get_undefined(env, &mut v) };
    v
}

pub fn type_of(env: Env, v: Value) -> sys::napi_valuetype {
    let mut t = 0;
    // SAFETY: v is a live value of this env's current scope.
    unsafe { sys::napi_typeof(env, v, &mut t) };
    t
}

pub fn is_nullish(env: Env, v: Value) -> bool {
    let t = type_of(env, v);
    t == sys::ValueType::napi_undefined || t == sys::ValueType::napi_null
}

pub fn get_f64(env: Env, v: Value) -> Option<f64> {
    if type_of(env, v) != sys::ValueType::napi_number {
        return None;
    }
    let mut n = 0.0;
    // SAFETY: v is a number (checked above).
    unsafe { sys::napi_get_value_double(env, v, &mut n) };
    Some(n)
}

/// A number as u32, or None for anything else.
pub fn try_u32(env: Env, v: Value) -> Option<u32> {
    let mut n = 0u32;
    // SAFETY: a non-number returns an error status and leaves n alone.
    (unsafe { sys::napi_get_value_uint32(env, v, &mut n) } == sys::Status::napi_ok).then_some(n)
}

pub fn get_u32(env: Env, v: Value) -> u32 {
    let mut n = 0u32;
    // SAFETY: a non-number leaves n at 0 and returns an error status we ignore.
    unsafe { sys::napi_get_value_uint32(env, v, &mut n) };
    n
}

pub fn get_bool(env: Env, v: Value) -> bool {
    let mut b = false;
    // SAFETY: a non-boolean leaves b false.
    unsafe { sys::napi_get_value_bool(env, v, &mut b) };
    b
}

/// A JS string as UTF-8.
pub fn get_string(env: Env, v: Value) -> JsResult<String> {
    if type_of(env, v) != sys::ValueType::napi_string {
        return Err(JsError::with_code(
            "expected a string",
            "ERR_INVALID_ARG_TYPE",
        ));
    }
    let mut stack = [0u8; 256];
    let mut len = 0usize;
    check(
        // SAFETY: the buffer pointer and its length are consistent; napi NUL-terminates.
        unsafe {
            sys::napi_get_value_string_utf8(
                env,
                v,
                stack.as_mut_ptr() as *mut _,
                stack.len(),
                &mut len,
            )
        },
        "reading a string",
    )?;
    if len + 1 < stack.len() {
        // napi wrote valid UTF-8.
        return Ok(match std::str::from_utf8(&stack[..len]) {
            Ok(s) => s.to_owned(),
            Err(_) => String::from_utf8_lossy(&stack[..len]).into_owned(),
        });
    }
    // Possibly truncated: ask for the length, then read it whole.
    // SAFETY: a null buffer asks napi for the length only.
    unsafe { sys::napi_get_value_string_utf8(env, v, null_mut(), 0, &mut len) };
    let mut buf = vec![0u8; len + 1];
    // SAFETY: buf has len + 1 bytes for the string and its NUL.
    unsafe {
        sys::napi_get_value_string_utf8(env, v, buf.as_mut_ptr() as *mut _, buf.len(), &mut len)
    };
    buf.truncate(len);
    Ok(String::from_utf8(buf).unwrap_or_default())
}

/// Reads a JS string as UTF-8 into `out` (cleared first). Returns false if it is no string.
pub fn read_utf8_into(env: Env, v: Value, out: &mut Vec<u8>) -> bool {
    out.clear();
    if out.capacity() < 1024 {
        out.reserve(1024);
    }
    let mut len = 0usize;
    // SAFETY: out has capacity() writable bytes; napi writes at most that many (with NUL)
    // and reports how many bytes of UTF-8 it wrote (whole characters only).
    let st = unsafe {
        sys::napi_get_value_string_utf8(
            env,
            v,
            out.as_mut_ptr() as *mut _,
            out.capacity(),
            &mut len,
        )
    };
    if st != sys::Status::napi_ok {
        return false;
    }
    if len + 1 >= out.capacity() {
        // Possibly truncated: ask for the length, then read it whole.
        // SAFETY: a null buffer asks napi for the length only.
        unsafe { sys::napi_get_value_string_utf8(env, v, null_mut(), 0, &mut len) };
        // Room for the NUL and one more byte, so that the next string of this length is
        // read in one pass (a full buffer is ambiguous: it may have been truncated).
        out.reserve(len + 2);
        // SAFETY: out now has room for len bytes and the NUL.
        unsafe {
            sys::napi_get_value_string_utf8(
                env,
                v,
                out.as_mut_ptr() as *mut _,
                out.capacity(),
                &mut len,
            )
        };
    }
    // SAFETY: napi initialised the first len bytes.
    unsafe { out.set_len(len) };
    true
}

/// [`with_bytes`] for response bodies: a string too long for the stack is read into
/// `scratch`, which keeps its size, so a body of a size seen before costs one UTF-8 pass and
/// no allocation.
pub fn with_body<R>(
    env: Env,
    v: Value,
    scratch: &std::cell::RefCell<Vec<u8>>,
    f: impl FnOnce(&[u8]) -> R,
) -> JsResult<R> {
    let mut stack = std::mem::MaybeUninit::<[u8; 1024]>::uninit();
    let mut len = 0usize;
    // SAFETY: the buffer pointer and its length are consistent; napi NUL-terminates and
    // writes whole UTF-8 characters only.
    let st = unsafe {
        sys::napi_get_value_string_utf8(env, v, stack.as_mut_ptr() as *mut _, 1024, &mut len)
    };
    if st != sys::Status::napi_ok {
        return with_bytes(env, v, f);
    }
    if len + 1 < 1024 {
        // SAFETY: napi initialised the first len bytes.
        let b = unsafe { std::slice::from_raw_parts(stack.as_ptr() as *const u8, len) };
        return Ok(f(b));
    }
    let mut buf = std::mem::take(&mut *scratch.borrow_mut());
    read_utf8_into(env, v, &mut buf);
    let out = f(&buf);
    *scratch.borrow_mut() = buf;
    Ok(out)
}

/// Body bytes from a JS string (UTF-8) or any Uint8Array/Buffer; calls `f` with them.
pub fn with_bytes<R>(env: Env, v: Value, f: impl FnOnce(&[u8]) -> R) -> JsResult<R> {
    // Strings first, without a typeof: napi says when it is not one.
    let mut stack = std::mem::MaybeUninit::<[u8; 1024]>::uninit();
    let mut len = 0usize;
    // SAFETY: the buffer pointer and its length are consistent; napi NUL-terminates and
    // writes whole UTF-8 characters only.
    let st = unsafe {
        sys::napi_get_value_string_utf8(env, v, stack.as_mut_ptr() as *mut _, 1024, &mut len)
    };
    if st == sys::Status::napi_ok && len + 1 < 1024 {
        // SAFETY: napi initialised the first len bytes.
        let b = unsafe { std::slice::from_raw_parts(stack.as_ptr() as *const u8, len) };
        return Ok(f(b));
    }
    match type_of(env, v) {
        t if t == sys::ValueType::napi_string => {
            let mut stack = [0u8; 1024];
            let mut len = 0usize;
            // SAFETY: as in get_string.
            unsafe {
                sys::napi_get_value_string_utf8(
                    env,
                    v,
                    stack.as_mut_ptr() as *mut _,
                    stack.len(),
                    &mut len,
                )
            };
            if len + 1 < stack.len() {
                return Ok(f(&stack[..len]));
            }
            let s = get_string(env, v)?;
            Ok(f(s.as_bytes()))
        }
        t if t == sys::ValueType::napi_undefined || t == sys::ValueType::napi_null => Ok(f(&[])),
        _ => {
            let mut is_ta = false;
            // SAFETY: type query on a live value.
            unsafe { sys::napi_is_typedarray(env, v, &mut is_ta) };
            if !is_ta {
                return Err(JsError::with_code(
                    "The \"chunk\" argument must be of type string or an instance of Buffer or Uint8Array",
                    "ERR_INVALID_ARG_TYPE",
                ));
            }
            let (mut ty, mut len, mut data, mut ab, mut off) =
                (0, 0usize, null_mut(), null_mut(), 0);
            check(
                // SAFETY: v is a typed array; data points at its first element (offset applied).
                unsafe {
                    sys::napi_get_typedarray_info(
                        env, v, &mut ty, &mut len, &mut data, &mut ab, &mut off,
                    )
                },
                "reading a typed array",
            )?;
            let elem = match ty {
                sys::TypedarrayType::int16_array | sys::TypedarrayType::uint16_array => 2,
                sys::TypedarrayType::int32_array
                | sys::TypedarrayType::uint32_array
                | sys::TypedarrayType::float32_array => 4,
                sys::TypedarrayType::float64_array
                | sys::TypedarrayType::bigint64_array
                | sys::TypedarrayType::biguint64_array => 8,
                _ => 1,
            };
            if data.is_null() || len == 0 {
                return Ok(f(&[]));
            }
            // SAFETY: the typed array's memory is valid for len*elem bytes while `v` is alive
            // (it is, for this call), and JS cannot run during `f`.
            let s = unsafe { std::slice::from_raw_parts(data as *const u8, len * elem) };
            Ok(f(s))
        }
    }
}

pub fn latin1(env: Env, b: &[u8]) -> Value {
    let mut v = null_mut();
    // SAFETY: b is valid for b.len() bytes.
    unsafe { sys::napi_create_string_latin1(env, b.as_ptr() as *const _, b.len(), &mut v) };
    v
}

pub fn utf8(env: Env, s: &str) -> Value {
    let mut v = null_mut();
    // SAFETY: s is valid UTF-8 of s.len() bytes.
    unsafe { sys::napi_create_string_utf8(env, s.as_ptr() as *const _, s.len(), &mut v) };
    v
}

pub fn int(env: Env, n: i64) -> Value {
    let mut v = null_mut();
    // SAFETY: plain value creation.
    unsafe { sys::napi_create_double(env, n as f64, &mut v) };
    v
}

pub fn uint(env: Env, n: u32) -> Value {
    let mut v = null_mut();
    // SAFETY: plain value creation.
    unsafe { sys::napi_create_uint32(env, n, &mut v) };
    v
}

pub fn boolean(env: Env, b: bool) -> Value {
    let mut v = null_mut();
    // SAFETY: plain value creation.
    unsafe { sys::napi_get_boolean(env, b, &mut v) };
    v
}

pub fn buffer_copy(env: Env, b: &[u8]) -> Value {
    let mut v = null_mut();
    let mut data = null_mut();
    // SAFETY: b is valid for b.len() bytes; napi copies them.
    unsafe {
        sys::napi_create_buffer_copy(env, b.len(), b.as_ptr() as *const c_void, &mut data, &mut v)
    };
    v
}

pub fn array(env: Env, items: &[Value]) -> Value {
    let mut a = null_mut();
    // SAFETY: array creation then element stores of live values.
    unsafe {
        sys::napi_create_array_with_length(env, items.len(), &mut a);
        for (i, &it) in items.iter().enumerate() {
            sys::napi_set_element(env, a, i as u32, it);
        }
    }
    a
}

pub fn array_len(env: Env, v: Value) -> u32 {
    let mut is = false;
    let mut n = 0;
    // SAFETY: type check before reading the length.
    unsafe {
        sys::napi_is_array(env, v, &mut is);
        if is {
            sys::napi_get_array_length(env, v, &mut n);
        }
    }
    n
}

pub fn element(env: Env, a: Value, i: u32) -> Value {
    let mut v = null_mut();
    // SAFETY: a is an array (callers check); out of range gives undefined.
    unsafe { sys::napi_get_element(env, a, i, &mut v) };
    v
}

pub fn named(env: Env, obj: Value, name: &std::ffi::CStr) -> Value {
    let mut v = null_mut();
    // SAFETY: obj is an object (callers check); name is NUL-terminated.
    unsafe { sys::napi_get_named_property(env, obj, name.as_ptr(), &mut v) };
    v
}

pub fn set_named(env: Env, obj: Value, name: &std::ffi::CStr, v: Value) {
    // SAFETY: obj is an object; name is NUL-terminated.
    unsafe { sys::napi_set_named_property(env, obj, name.as_ptr(), v) };
}

pub fn get_ref(env: Env, r: sys::napi_ref) -> Value {
    let mut v = null_mut();
    // SAFETY: r is a live reference of this env.
    unsafe { sys::napi_get_reference_value(env, r, &mut v) };
    v
}

pub fn make_ref(env: Env, v: Value) -> sys::napi_ref {
    let mut r = null_mut();
    // SAFETY: v is a live value; the reference is deleted by its owner.
    unsafe { sys::napi_create_reference(env, v, 1, &mut r) };
    r
}

pub fn delete_ref(env: Env, r: sys::napi_ref) {
    if !r.is_null() {
        // SAFETY: r was created by make_ref and is deleted once.
        unsafe { sys::napi_delete_reference(env, r) };
    }
}

/// Throws `e` as a JS Error (with `code` when given).
pub fn throw(env: Env, e: &JsError) {
    let msg = utf8(env, &e.msg);
    let mut err = null_mut();
    // SAFETY: creating and throwing an Error on a valid env.
    unsafe {
        sys::napi_create_error(env, null_mut(), msg, &mut err);
        if let Some(code) = &e.code {
            set_named(env, err, c"code", utf8(env, code));
        }
        sys::napi_throw(env, err);
    }
}

/// Runs a JS→Rust call: catches panics and errors and turns them into JS exceptions.
pub fn guard(env: Env, f: impl FnOnce() -> JsResult<Value>) -> Value {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            throw(env, &e);
            null_mut()
        }
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            throw(
                env,
                &JsError::with_code(
                    format!("ringhttp: internal panic: {msg}"),
                    "ERR_INTERNAL_ASSERTION",
                ),
            );
            null_mut()
        }
    }
}

/// A value's own `External` pointer.
pub fn external<T>(env: Env, v: Value) -> JsResult<*mut T> {
    if type_of(env, v) != sys::ValueType::napi_external {
        return Err(JsError::with_code(
            "expected a ringhttp handle",
            "ERR_INVALID_ARG_TYPE",
        ));
    }
    let mut p = null_mut();
    // SAFETY: v is an External (checked); its pointer is what we stored.
    unsafe { sys::napi_get_value_external(env, v, &mut p) };
    if p.is_null() {
        return Err(JsError::new("ringhttp: null handle"));
    }
    Ok(p as *mut T)
}

/// The memory of an Int32Array: (data, length in ints).
pub fn int32_array(env: Env, v: Value) -> Option<(*mut i32, usize)> {
    let mut is_ta = false;
    // SAFETY: type query on a live value.
    unsafe { sys::napi_is_typedarray(env, v, &mut is_ta) };
    if !is_ta {
        return None;
    }
    let (mut ty, mut len, mut data, mut ab, mut off) = (0, 0usize, null_mut(), null_mut(), 0);
    // SAFETY: v is a typed array.
    let st = unsafe {
        sys::napi_get_typedarray_info(env, v, &mut ty, &mut len, &mut data, &mut ab, &mut off)
    };
    if st != sys::Status::napi_ok || ty != sys::TypedarrayType::int32_array || data.is_null() {
        return None;
    }
    Some((data as *mut i32, len))
}
