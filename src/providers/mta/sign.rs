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
mod tests {
    use super::*;

    #[test]
    fn published_vector() {
        let s = sign(
            "xxx",
            "/ctr_user_basic/get_realtime_data",
            &[("app_id", "xxx"), ("idx", "10101,10102,10103,10104,10105")],
        );
        assert_eq!(s, "91762a3e9dd47e9fbdd07b48abb4f76f");
        // order of the given parameters does not matter; `sign` is skipped
        let s2 = sign(
            "xxx",
            "/ctr_user_basic/get_realtime_data",
            &[
                ("sign", "ignored"),
                ("idx", "10101,10102,10103,10104,10105"),
                ("app_id", "xxx"),
            ],
        );
        assert_eq!(s, s2);
        assert!(verify(
            "xxx",
            "/ctr_user_basic/get_realtime_data",
            &[("app_id", "xxx"), ("idx", "10101,10102,10103,10104,10105")],
            "91762A3E9DD47E9FBDD07B48ABB4F76F"
        ));
        assert!(!verify(
            "yyy",
            "/ctr_user_basic/get_realtime_data",
            &[("app_id", "xxx"), ("idx", "10101,10102,10103,10104,10105")],
            "91762a3e9dd47e9fbdd07b48abb4f76f"
        ));
    }

    #[test]
    fn encoding() {
        assert_eq!(urlencode("aZ09-_."), "aZ09-_.");
        assert_eq!(urlencode("a b~c,d/e=f&g"), "a%20b%7Ec%2Cd%2Fe%3Df%26g");
        assert_eq!(urlencode("华为"), "%E5%8D%8E%E4%B8%BA");
        assert_eq!(
            source_string("/a/b", &[("z", "1 2"), ("a", "~")]),
            "GET&%2Fa%2Fb&a%3D%7E%26z%3D1%202"
        );
    }

    /// Expected values computed independently with Python's `hmac`,
    /// `hashlib` and a hand-written encoder:
    ///
    /// ```python
    /// enc = lambda s: ''.join(chr(b) if chr(b).isascii() and (chr(b).isalnum() or chr(b) in '-_.')
    ///                         else '%%%02X' % b for b in s.encode())
    /// src = 'GET&' + enc(path) + '&' + enc('&'.join(f'{k}={v}' for k, v in sorted(params)))
    /// h = hmac.new((secret + '&').encode(), src.encode(), 'sha1').hexdigest()
    /// hashlib.md5(h.encode()).hexdigest()
    /// ```
    #[test]
    fn params_needing_encoding() {
        let params = [
            ("app_id", "500123456"),
            ("start_date", "2024-03-01"),
            ("end_date", "2024-03-31"),
            ("idx", "10101,10102"),
            ("channel", "应用宝 store~1"),
            ("version", "1.2.3 beta"),
        ];
        let s = sign("s3cr3t key~&", "/ctr_user_basic/get_offline_data", &params);
        assert_eq!(s, PY_ENCODED);
        // the raw (un-encoded) values are what is joined
        let src = source_string("/ctr_user_basic/get_offline_data", &params);
        assert!(src.contains("channel%3D%E5%BA%94%E7%94%A8%E5%AE%9D%20store%7E1"));
        assert!(src.starts_with("GET&%2Fctr_user_basic%2Fget_offline_data&app_id%3D500123456%26"));
    }

    const PY_ENCODED: &str = "83e49770c906c7d5a5384b140a573626";

    /// The key as the PHP clients build it, `strtr($secret . "&", "-_",
    /// "+/")`; expected value from the Python reference above with
    /// `key = (secret + '&').translate(str.maketrans('-_', '+/'))`.
    #[test]
    fn key_maps_url_safe_characters() {
        assert_eq!(hmac_key("Ab-Cd_Ef"), "Ab+Cd/Ef&");
        assert_eq!(hmac_key("xxx"), "xxx&");
        let params = [
            ("app_id", "500123456"),
            ("start_date", "2024-03-01"),
            ("end_date", "2024-03-31"),
            ("idx", "10101,10102"),
        ];
        let path = "/ctr_user_basic/get_offline_data";
        let s = sign("Ab-Cd_Ef-12_34", path, &params);
        assert_eq!(s, "fb72828fb832807ca8751a04703a6b0f");
        // the same key spelled with + and / signs the same
        assert_eq!(sign("Ab+Cd/Ef+12/34", path, &params), s);
        assert!(verify("Ab-Cd_Ef-12_34", path, &params, &s));
    }
}
