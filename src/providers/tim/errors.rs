//! Tencent IM `ErrorCode`s → error classes: the PROVIDERS table of what
//! to retry, what to wait for, what to renew and what is fatal.

use std::time::Duration;

use super::PROVIDER;
use crate::error::{redact, Error};

/// Classify a non-zero `ErrorCode`. `host` is where the request went (for
/// the wrong-region hint; empty when unknown).
pub fn classify(code: i64, info: &str, host: &str) -> Error {
    let provider = PROVIDER;
    let info = redact(info);
    let auth = |what: &str| Error::Auth {
        provider,
        code,
        message: format!("{what} (server said: {info})"),
        renewable: false,
    };
    match code {
        60007 | 60011 | 60018 | 60019 => Error::RateLimited {
            provider,
            code,
            message: info,
            retry_after: None,
        },
        70050 => Error::RateLimited {
            provider,
            code,
            message: format!("too many UserSig failures; the server asks to wait 60 s ({info})"),
            retry_after: Some(Duration::from_secs(60)),
        },
        60008 | 70169 | 70500 | 130009..=130012 => Error::Server {
            provider,
            code,
            message: info,
        },
        70001 => Error::Auth {
            provider,
            code,
            message: format!("UserSig expired ({info})"),
            renewable: true,
        },
        70052 => Error::Auth {
            provider,
            code,
            message: format!("UserSig invalidated; it must be regenerated ({info})"),
            renewable: true,
        },
        60004 | 60005 | 70002 | 70003 | 70005 => auth(
            "the UserSig was rejected as malformed: check that secret_key is the app's key \
             from the IM console and that identifier is spelled as in the console",
        ),
        70009 => auth(
            "the UserSig does not verify with this app's key: secret_key is wrong \
             (copy it from the IM console → Applications → Basic configuration)",
        ),
        70013 => auth("the identifier does not match the UserSig: check identifier"),
        70014 | 70020 | 60006 => auth(
            "the SDKAppID is unknown or does not match the UserSig: check sdkappid \
             (and region: an app only exists in its own data center)",
        ),
        60010 | 70403 => auth(
            "the identifier is not an app administrator: pass an admin account as identifier \
             (IM console → Applications → Admin accounts)",
        ),
        70016 => {
            let to = if host.is_empty() {
                String::new()
            } else {
                format!(" (the request went to {host})")
            };
            auth(&format!(
                "the app does not belong to this region{to}: pass the region of the app's \
                 data center (china/cn, singapore/sgp, seoul/kr, frankfurt/ger, mumbai/ind, \
                 silicon_valley/usa, jakarta/idn, tokyo/jpn)"
            ))
        }
        130001 => Error::Api {
            provider,
            code,
            message: format!(
                "the server could not parse the request body (bad RequestField?): {info}"
            ),
        },
        _ => Error::Api {
            provider,
            code,
            message: info,
        },
    }
}
