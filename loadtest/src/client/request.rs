//! Serialization of HTTP/1.1 requests.

/// A request to send: method, target path, headers and an optional body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Method token, e.g. `GET`.
    pub method: String,
    /// Request target, e.g. `/index.html?x=1`.
    pub path: String,
    /// Extra headers in order. A `Host` header here replaces the default one.
    pub headers: Vec<(String, String)>,
    /// Body bytes; a `Content-Length` header is added when non-empty or when the
    /// method usually carries a body.
    pub body: Vec<u8>,
}

impl Request {
    /// A `GET` of `path` with no extra headers.
    pub fn get(path: &str) -> Request {
        Request {
            method: "GET".into(),
            path: path.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Whether the response to this request has no body regardless of its headers.
    pub fn expects_bodiless_response(&self) -> bool {
        self.method.eq_ignore_ascii_case("HEAD")
    }

    fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// Appends the wire form to `out`; `host` is used unless a `Host` header was given.
    pub fn write_to(&self, host: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(self.method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.path.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        if !self.has_header("host") {
            header(out, "Host", host);
        }
        for (n, v) in &self.headers {
            header(out, n, v);
        }
        let needs_length = !self.body.is_empty()
            || matches!(
                self.method.to_ascii_uppercase().as_str(),
                "POST" | "PUT" | "PATCH"
            );
        if needs_length && !self.has_header("content-length") {
            header(out, "Content-Length", &self.body.len().to_string());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
    }

    /// The wire form as a new buffer.
    pub fn to_bytes(&self, host: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.body.len());
        self.write_to(host, &mut out);
        out
    }
}

fn header(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}
