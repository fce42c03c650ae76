//! Header collections with Node's semantics: `req.headers` for requests (lower-cased,
//! duplicates joined or dropped per Node's rules) and the outgoing header list of a
//! response (`setHeader` and friends).
use std::borrow::Cow;

use crate::proto::h1::framing::{special, Suppressed};

/// A header value as Node stores it: one string, or a list (`set-cookie` on requests;
/// any header set with a list on responses, sent as repeated lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderValue {
    One(Cow<'static, str>),
    List(Vec<Cow<'static, str>>),
}

impl HeaderValue {
    /// The value as one string: a list is joined with ", ".
    pub fn joined(&self) -> Cow<'_, str> {
        match self {
            HeaderValue::One(s) => Cow::Borrowed(s),
            HeaderValue::List(v) => Cow::Owned(v.join(", ")),
        }
    }

    /// Every line's value.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        let (one, list) = match self {
            HeaderValue::One(s) => (Some(s.as_ref()), &[][..]),
            HeaderValue::List(v) => (None, &v[..]),
        };
        one.into_iter().chain(list.iter().map(|s| s.as_ref()))
    }
}

impl From<&'static str> for HeaderValue {
    fn from(s: &'static str) -> Self {
        HeaderValue::One(Cow::Borrowed(s))
    }
}
impl From<String> for HeaderValue {
    fn from(s: String) -> Self {
        HeaderValue::One(Cow::Owned(s))
    }
}
impl From<Cow<'static, str>> for HeaderValue {
    fn from(s: Cow<'static, str>) -> Self {
        HeaderValue::One(s)
    }
}
impl From<u64> for HeaderValue {
    fn from(n: u64) -> Self {
        HeaderValue::One(Cow::Owned(n.to_string()))
    }
}
impl From<usize> for HeaderValue {
    fn from(n: usize) -> Self {
        HeaderValue::One(Cow::Owned(n.to_string()))
    }
}
impl From<Vec<String>> for HeaderValue {
    fn from(v: Vec<String>) -> Self {
        HeaderValue::List(v.into_iter().map(Cow::Owned).collect())
    }
}
impl From<Vec<&'static str>> for HeaderValue {
    fn from(v: Vec<&'static str>) -> Self {
        HeaderValue::List(v.into_iter().map(Cow::Borrowed).collect())
    }
}

/// Headers Node keeps only the first of (`matchKnownFields` in Node's `_http_incoming.js`).
const FIRST_WINS: &[&str] = &[
    "age",
    "authorization",
    "content-length",
    "content-type",
    "etag",
    "expires",
    "from",
    "host",
    "if-modified-since",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "proxy-authorization",
    "referer",
    "retry-after",
    "server",
    "user-agent",
];

/// Header bytes as Node decodes them (latin1: one char per byte).
pub(crate) fn latin1(b: &[u8]) -> Cow<'_, str> {
    if b.is_ascii() {
        // ASCII is valid UTF-8.
        Cow::Borrowed(std::str::from_utf8(b).unwrap_or_default())
    } else {
        Cow::Owned(b.iter().map(|&c| c as char).collect())
    }
}

/// `req.headers`: names lower-cased, in first-seen order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    entries: Vec<(String, HeaderValue)>,
}

impl Headers {
    /// Builds Node's view from wire-order (name, value) pairs.
    pub fn from_raw<'a>(raw: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> Headers {
        let mut h = Headers {
            entries: Vec::new(),
        };
        for (name, value) in raw {
            h.add(
                &latin1(name).to_ascii_lowercase(),
                latin1(value).into_owned(),
            );
        }
        h
    }

    fn add(&mut self, lower: &str, value: String) {
        let existing = self.entries.iter_mut().find(|(n, _)| n == lower);
        match (existing, lower) {
            (None, "set-cookie") => self
                .entries
                .push((lower.to_string(), HeaderValue::List(vec![value.into()]))),
            (None, _) => self
                .entries
                .push((lower.to_string(), HeaderValue::One(value.into()))),
            (Some((_, HeaderValue::List(v))), _) => v.push(value.into()),
            (Some(_), l) if FIRST_WINS.contains(&l) => {}
            (Some((_, HeaderValue::One(s))), "cookie") => {
                s.to_mut().push_str(&format!("; {value}"))
            }
            (Some((_, HeaderValue::One(s))), _) => s.to_mut().push_str(&format!(", {value}")),
        }
    }

    /// The value of `name` (any case). For `set-cookie`, the lines joined with ", ".
    pub fn get(&self, name: &str) -> Option<Cow<'_, str>> {
        self.get_value(name).map(|v| v.joined())
    }

    /// The stored value of `name` (any case).
    pub fn get_value(&self, name: &str) -> Option<&HeaderValue> {
        self.entries
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get_value(name).is_some()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &HeaderValue)> {
        self.entries.iter().map(|(n, v)| (n.as_str(), v))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A response's headers, as set by `setHeader`: names keep their case, lookups ignore it.
#[derive(Debug, Clone, Default)]
pub(crate) struct OutHeaders {
    pub entries: Vec<(Cow<'static, str>, HeaderValue)>,
    pub suppressed: Suppressed,
    /// `special::*` bits of the names present.
    pub present: u8,
}

impl OutHeaders {
    pub fn position(&self, name: &str) -> Option<usize> {
        self.entries
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    pub fn set(&mut self, name: Cow<'static, str>, value: HeaderValue) {
        self.present |= special::of(&name);
        match self.position(&name) {
            Some(i) => self.entries[i] = (name, value),
            None => self.entries.push((name, value)),
        }
    }

    pub fn get(&self, name: &str) -> Option<&HeaderValue> {
        self.position(name).map(|i| &self.entries[i].1)
    }

    pub fn remove(&mut self, name: &str) -> bool {
        let bit = special::of(name);
        self.suppressed.remove(bit);
        self.present &= !bit;
        match self.position(name) {
            Some(i) => {
                self.entries.remove(i);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_joining_rules() {
        let raw: Vec<(&[u8], &[u8])> = vec![
            (b"Host", b"a"),
            (b"HOST", b"b"),
            (b"X-Many", b"1"),
            (b"x-many", b"2"),
            (b"Set-Cookie", b"a=1"),
            (b"set-cookie", b"b=2"),
            (b"Cookie", b"c=3"),
            (b"cookie", b"d=4"),
            (b"Content-Type", b"text/plain"),
            (b"Content-Type", b"text/html"),
        ];
        let h = Headers::from_raw(raw);
        assert_eq!(h.get("host").as_deref(), Some("a"));
        assert_eq!(h.get("x-many").as_deref(), Some("1, 2"));
        assert_eq!(
            h.get_value("set-cookie"),
            Some(&HeaderValue::List(vec!["a=1".into(), "b=2".into()]))
        );
        assert_eq!(h.get("cookie").as_deref(), Some("c=3; d=4"));
        assert_eq!(h.get("CONTENT-TYPE").as_deref(), Some("text/plain"));
        assert_eq!(
            h.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            ["host", "x-many", "set-cookie", "cookie", "content-type"]
        );
    }

    #[test]
    fn latin1_values() {
        let h = Headers::from_raw([(&b"X"[..], &b"caf\xe9"[..])]);
        assert_eq!(h.get("x").as_deref(), Some("caf\u{e9}"));
    }

    #[test]
    fn out_headers_case_and_suppression() {
        let mut o = OutHeaders::default();
        o.set("Content-Type".into(), "text/plain".into());
        o.set("content-type".into(), "text/html".into());
        assert_eq!(o.entries.len(), 1);
        assert_eq!(o.get("CONTENT-TYPE"), Some(&HeaderValue::from("text/html")));
        assert!(!o.remove("Date"));
        assert!(o.suppressed.date);
        assert!(o.remove("content-type"));
        assert!(o.entries.is_empty());
    }
}
