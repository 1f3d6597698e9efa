//! Baidu error codes → error classes: the gateway's `error_code` and the
//! data API's `errno`.

use crate::error::Error;

use super::PROVIDER;

/// Classify a Baidu error code (gateway `error_code` or business `errno`).
pub fn classify(gateway: bool, code: i64, message: &str) -> Error {
    let message = crate::error::redact(message);
    let provider = PROVIDER;
    if gateway {
        match code {
            110 | 111 => Error::Auth {
                provider,
                code,
                message: format!(
                    "access token {} ({message})",
                    if code == 111 { "expired" } else { "invalid" }
                ),
                renewable: true,
            },
            4 | 18 => Error::RateLimited {
                provider,
                code,
                message,
                retry_after: None,
            },
            17 => Error::QuotaExceeded {
                provider,
                code,
                message: format!("daily request quota reached ({message})"),
            },
            6 => Error::Auth {
                provider,
                code,
                message: format!(
                    "no permission for this API; the program must grant the data permission ({message})"
                ),
                renewable: false,
            },
            1 | 2 => Error::Server {
                provider,
                code,
                message,
            },
            _ => Error::Api {
                provider,
                code,
                message,
            },
        }
    } else {
        match code {
            1000 => Error::Server {
                provider,
                code,
                message,
            },
            _ => Error::Api {
                provider,
                code,
                message,
            },
        }
    }
}
