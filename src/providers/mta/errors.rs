//! MTA `ret_code`s → error classes.

use super::PROVIDER;
use crate::error::{redact, Error};

/// Success code of the envelope.
pub const OK: i64 = 60000;
/// Wrong signature.
pub const BAD_SIGN: i64 = 60002;

/// Map a non-success `ret_code` to an error class.
///
/// Only `60000` (ok) and `60002` (wrong sign) are documented; other codes
/// are classified by their message: signature/app/permission → Auth,
/// frequency/rate → RateLimited, quota/daily limit → QuotaExceeded,
/// system/busy/internal/timeout → Server (retryable), else Api.
pub fn classify(code: i64, message: &str) -> Error {
    let message = redact(message);
    let provider = PROVIDER;
    let lower = message.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    if code == BAD_SIGN || has(&["sign", "签名"]) {
        return Error::Auth {
            provider,
            code,
            message: format!(
                "request signature rejected: the secret key is wrong or does not belong to this app_id ({message})"
            ),
            renewable: false,
        };
    }
    if has(&["quota", "配额", "上限", "daily limit"]) {
        return Error::QuotaExceeded {
            provider,
            code,
            message,
        };
    }
    if has(&["rate", "frequen", "too many", "频率", "频繁", "限频"]) {
        return Error::RateLimited {
            provider,
            code,
            message,
            retry_after: None,
        };
    }
    if has(&["permission", "权限", "app_id", "appid", "unauthori"]) {
        return Error::Auth {
            provider,
            code,
            message,
            renewable: false,
        };
    }
    if has(&[
        "system", "busy", "internal", "timeout", "系统", "繁忙", "内部", "超时", "server",
    ]) {
        return Error::Server {
            provider,
            code,
            message,
        };
    }
    Error::Api {
        provider,
        code,
        message,
    }
}
