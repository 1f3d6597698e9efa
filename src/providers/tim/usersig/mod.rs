//! Tencent Cloud IM UserSig (TLSSigAPIv2): generation and verification.
//!
//! 1. content = `TLS.identifier:{id}\nTLS.sdkappid:{sdkappid}\nTLS.time:{now}\nTLS.expire:{expire}\n`;
//! 2. `TLS.sig` = standard base64 of HMAC-SHA256(secret key, content);
//! 3. a JSON object `{"TLS.ver":"2.0","TLS.identifier":..,"TLS.sdkappid":..,"TLS.expire":..,"TLS.time":..,"TLS.sig":..}`;
//! 4. zlib (RFC 1950), base64, then `+`→`*`, `/`→`-`, `=`→`_`.
//!
//! The verifier also accepts the optional `TLS.userbuf` of the official
//! generators (it is then part of the signed content).

use std::borrow::Cow;
use std::io::{Read, Write};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::table::Cell;

type HmacSha256 = Hmac<Sha256>;

/// Largest inflated UserSig document the verifier reads (guards against
/// compression bombs; real documents are ~200 bytes).
const MAX_DOC: u64 = 16 * 1024;

/// What a valid UserSig says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSigInfo {
    pub identifier: String,
    pub sdkappid: u64,
    /// Issue time (Unix seconds).
    pub time: u64,
    /// Validity in seconds from `time`.
    pub expire: u64,
}

/// Why a UserSig was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserSigError {
    #[error("UserSig is not valid base64url: {0}")]
    Decode(String),
    #[error("UserSig does not inflate (zlib): {0}")]
    Inflate(String),
    #[error("UserSig document is not valid JSON: {0}")]
    Json(String),
    #[error("UserSig document lacks or has a bad {0}")]
    Field(&'static str),
    #[error("UserSig version {0:?} is not supported (only 2.0)")]
    Version(String),
    #[error("UserSig was issued for sdkappid {got}, not {want}")]
    SdkAppId { got: u64, want: u64 },
    #[error("UserSig signature does not match (wrong secret key or tampered)")]
    Signature,
    #[error("UserSig expired at {expired_at} (now {now})")]
    Expired { expired_at: u64, now: u64 },
}

fn content(
    identifier: &str,
    sdkappid: u64,
    time: u64,
    expire: u64,
    userbuf: Option<&str>,
) -> String {
    let mut s = format!(
        "TLS.identifier:{identifier}\nTLS.sdkappid:{sdkappid}\nTLS.time:{time}\nTLS.expire:{expire}\n"
    );
    if let Some(b) = userbuf {
        s.push_str("TLS.userbuf:");
        s.push_str(b);
        s.push('\n');
    }
    s
}

fn mac(key: &str, content: &str) -> HmacSha256 {
    // HMAC accepts keys of any length: this cannot fail.
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any size"));
    m.update(content.as_bytes());
    m
}

/// Step 2: the `TLS.sig` field (standard base64 of the HMAC-SHA256).
pub fn hmac_sig(key: &str, identifier: &str, sdkappid: u64, time: u64, expire: u64) -> String {
    STANDARD.encode(
        mac(key, &content(identifier, sdkappid, time, expire, None))
            .finalize()
            .into_bytes(),
    )
}

#[derive(Serialize)]
struct DocOut<'a> {
    #[serde(rename = "TLS.ver")]
    ver: &'a str,
    #[serde(rename = "TLS.identifier")]
    identifier: &'a str,
    #[serde(rename = "TLS.sdkappid")]
    sdkappid: u64,
    #[serde(rename = "TLS.expire")]
    expire: u64,
    #[serde(rename = "TLS.time")]
    time: u64,
    #[serde(rename = "TLS.sig")]
    sig: &'a str,
}

/// Base64 with the UserSig alphabet (`+`→`*`, `/`→`-`, `=`→`_`).
fn encode_url(bytes: &[u8]) -> String {
    STANDARD
        .encode(bytes)
        .chars()
        .map(|c| match c {
            '+' => '*',
            '/' => '-',
            '=' => '_',
            c => c,
        })
        .collect()
}

fn decode_url(s: &str) -> Result<Vec<u8>, UserSigError> {
    let std: String = s
        .trim()
        .chars()
        .map(|c| match c {
            '*' => '+',
            '-' => '/',
            '_' => '=',
            c => c,
        })
        .collect();
    STANDARD
        .decode(std.as_bytes())
        .map_err(|e| UserSigError::Decode(e.to_string()))
}

/// Generate a UserSig for `identifier` of app `sdkappid`, issued at `now`
/// (Unix seconds) and valid for `expire_secs`.
pub fn gen_usersig(
    sdkappid: u64,
    key: &str,
    identifier: &str,
    expire_secs: u64,
    now: u64,
) -> String {
    let sig = hmac_sig(key, identifier, sdkappid, now, expire_secs);
    let doc = DocOut {
        ver: "2.0",
        identifier,
        sdkappid,
        expire: expire_secs,
        time: now,
        sig: &sig,
    };
    // Serialising a struct of strings and integers cannot fail.
    let json = serde_json::to_vec(&doc).unwrap_or_default();
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let compressed = z
        .write_all(&json)
        .and_then(|_| z.finish())
        .unwrap_or_default();
    encode_url(&compressed)
}

#[derive(Deserialize)]
struct DocIn<'a> {
    #[serde(rename = "TLS.ver", default, borrow)]
    ver: Option<Cow<'a, str>>,
    #[serde(rename = "TLS.identifier", default, borrow)]
    identifier: Option<Cow<'a, str>>,
    #[serde(rename = "TLS.sdkappid", default, borrow)]
    sdkappid: Option<Cell<'a>>,
    #[serde(rename = "TLS.expire", default, borrow)]
    expire: Option<Cell<'a>>,
    #[serde(rename = "TLS.time", default, borrow)]
    time: Option<Cell<'a>>,
    #[serde(rename = "TLS.sig", default, borrow)]
    sig: Option<Cow<'a, str>>,
    #[serde(rename = "TLS.userbuf", default, borrow)]
    userbuf: Option<Cow<'a, str>>,
}

fn num(c: &Option<Cell>, what: &'static str) -> Result<u64, UserSigError> {
    c.as_ref()
        .and_then(|c| c.to_i64().ok().flatten())
        .and_then(|v| u64::try_from(v).ok())
        .ok_or(UserSigError::Field(what))
}

/// Decode a UserSig and check it against `sdkappid` and `key` at time
/// `now`: signature, app and expiry (`time + expire < now` is expired).
pub fn verify_usersig(
    sig: &str,
    sdkappid: u64,
    key: &str,
    now: u64,
) -> Result<UserSigInfo, UserSigError> {
    let compressed = decode_url(sig)?;
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(&compressed[..])
        .take(MAX_DOC)
        .read_to_end(&mut json)
        .map_err(|e| UserSigError::Inflate(e.to_string()))?;
    let doc: DocIn =
        serde_json::from_slice(&json).map_err(|e| UserSigError::Json(e.to_string()))?;
    let ver = doc.ver.as_deref().ok_or(UserSigError::Field("TLS.ver"))?;
    if ver != "2.0" {
        return Err(UserSigError::Version(ver.to_string()));
    }
    let identifier = doc
        .identifier
        .as_deref()
        .ok_or(UserSigError::Field("TLS.identifier"))?;
    let app = num(&doc.sdkappid, "TLS.sdkappid")?;
    let time = num(&doc.time, "TLS.time")?;
    let expire = num(&doc.expire, "TLS.expire")?;
    let got_sig = doc.sig.as_deref().ok_or(UserSigError::Field("TLS.sig"))?;
    if app != sdkappid {
        return Err(UserSigError::SdkAppId {
            got: app,
            want: sdkappid,
        });
    }
    let tag = STANDARD
        .decode(got_sig.as_bytes())
        .map_err(|_| UserSigError::Signature)?;
    mac(
        key,
        &content(identifier, app, time, expire, doc.userbuf.as_deref()),
    )
    .verify_slice(&tag)
    .map_err(|_| UserSigError::Signature)?;
    let expired_at = time.saturating_add(expire);
    if expired_at < now {
        return Err(UserSigError::Expired { expired_at, now });
    }
    Ok(UserSigInfo {
        identifier: identifier.to_string(),
        sdkappid: app,
        time,
        expire,
    })
}

#[cfg(test)]
mod tests;
