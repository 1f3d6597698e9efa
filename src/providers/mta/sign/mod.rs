//! MTA request signature (official SDK style).
//!
//! 1. every parameter except `sign`, sorted by key, joined as `k=v&k=v`
//!    with raw values;
//! 2. source = `"GET&" + urlencode(path) + "&" + urlencode(joined)`, with
//!    PHP-style encoding: `A-Za-z0-9-_.` kept, everything else (`~` too)
//!    as upper-case `%XX`;
//! 3. lower-case hex HMAC-SHA1 of the source, keyed with `secret + "&"`
//!    where `-` becomes `+` and `_` becomes `/` (the PHP clients'
//!    `strtr($secret . "&", "-_", "+/")`: a URL-safe base64 secret used as
//!    its standard-alphabet spelling);
//! 4. `sign` = lower-case hex MD5 of that hex string.

use std::fmt::Write as _;

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use sha1::Sha1;

/// PHP `rawurlencode`-style encoding, except that `~` is encoded too.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The string that is signed (exposed for tests and the sandbox's error
/// messages; it contains no secret).
pub fn source_string(path: &str, params: &[(&str, &str)]) -> String {
    let mut sorted: Vec<&(&str, &str)> = params.iter().filter(|(k, _)| *k != "sign").collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0).then(a.1.cmp(b.1)));
    let joined = sorted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    format!("GET&{}&{}", urlencode(path), urlencode(&joined))
}

/// The HMAC key: `secret + "&"` with `-` → `+` and `_` → `/`.
pub fn hmac_key(secret: &str) -> String {
    format!("{secret}&")
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect()
}

/// The `sign` parameter for a GET of `path` with `params` (any `sign`
/// among them is ignored).
pub fn sign(secret: &str, path: &str, params: &[(&str, &str)]) -> String {
    let source = source_string(path, params);
    let key = hmac_key(secret);
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha1>::new_from_slice(key.as_bytes()) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(source.as_bytes());
    let hmac_hex = hex(&mac.finalize().into_bytes());
    hex(&Md5::digest(hmac_hex.as_bytes()))
}

/// Constant-time comparison of two signatures (used by the sandbox).
pub fn verify(secret: &str, path: &str, params: &[(&str, &str)], given: &str) -> bool {
    let want = sign(secret, path, params);
    let (a, b) = (
        want.as_bytes(),
        given.trim().to_ascii_lowercase().into_bytes(),
    );
    a.len() == b.len() && a.iter().zip(&b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests;
