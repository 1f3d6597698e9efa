//! The one error type of appstats, with a classification the HTTP layer and
//! the Python bindings both use.

use std::time::Duration;

pub use crate::redact::{redact, SECRET_PARAMS};

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every failure appstats can report.
///
/// Messages never contain secrets: callers build them from codes, endpoint
/// names and provider messages only, and [`redact`] scrubs query strings.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// Bad input, rejected before any request is made.
    #[error("{0}")]
    InvalidArgument(String),

    /// Credentials are missing, wrong or expired (and could not be renewed).
    #[error("{provider}: authentication failed{}: {message}", code_note(*code))]
    Auth {
        provider: &'static str,
        code: i64,
        message: String,
        /// The credential expired and may be renewed (token/UserSig).
        renewable: bool,
    },

    /// The provider throttled us; retryable after a pause.
    #[error("{provider}: rate limited (code {code}): {message}")]
    RateLimited {
        provider: &'static str,
        code: i64,
        message: String,
        /// Minimum wait the provider asks for, if known.
        retry_after: Option<Duration>,
    },

    /// A daily or monthly quota is used up; retrying today will not help.
    #[error("{provider}: quota exhausted (code {code}): {message}")]
    QuotaExceeded {
        provider: &'static str,
        code: i64,
        message: String,
    },

    /// A transient server-side failure (HTTP 5xx or a provider's
    /// "internal error" code); retryable.
    #[error("{provider}: server error ({code}): {message}")]
    Server {
        provider: &'static str,
        code: i64,
        message: String,
    },

    /// Any other error the provider answered with.
    #[error("{provider}: API error {code}: {message}")]
    Api {
        provider: &'static str,
        code: i64,
        message: String,
    },

    /// The request did not complete: connection refused/reset, timeout, ...
    #[error("{provider}: transport error: {message}")]
    Transport {
        provider: &'static str,
        message: String,
        timeout: bool,
    },

    /// The reply could not be understood (bad JSON, unexpected shape, a
    /// value that is not a number where a number is due).
    #[error("{provider}: malformed response from {endpoint}: {message}")]
    Malformed {
        provider: &'static str,
        endpoint: String,
        message: String,
    },

    /// Pages, rows or dates are missing from what the provider returned.
    #[error("{provider}: incomplete data from {endpoint}: {message}")]
    Incomplete {
        provider: &'static str,
        endpoint: String,
        message: String,
    },

    /// A bug in appstats itself (e.g. a panic caught at the boundary).
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// True for failures that a later attempt may fix.
    pub fn retryable(&self) -> bool {
        match self {
            Error::RateLimited { .. } | Error::Server { .. } | Error::Transport { .. } => true,
            // A truncated or garbled body is usually a dropped connection.
            Error::Malformed { .. } => true,
            _ => false,
        }
    }

    /// Short, stable name of the class (used in logs and by the bindings).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InvalidArgument(_) => "invalid_argument",
            Error::Auth { .. } => "auth",
            Error::RateLimited { .. } => "rate_limited",
            Error::QuotaExceeded { .. } => "quota_exceeded",
            Error::Server { .. } => "server",
            Error::Api { .. } => "api",
            Error::Transport { .. } => "transport",
            Error::Malformed { .. } => "malformed",
            Error::Incomplete { .. } => "incomplete",
            Error::Internal(_) => "internal",
        }
    }

    /// The provider's numeric code, when there is one.
    pub fn code(&self) -> Option<i64> {
        match self {
            Error::Auth { code: 0, .. } => None,
            Error::Auth { code, .. }
            | Error::RateLimited { code, .. }
            | Error::QuotaExceeded { code, .. }
            | Error::Server { code, .. }
            | Error::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The provider name, when the error came from one.
    pub fn provider(&self) -> Option<&'static str> {
        match self {
            Error::Auth { provider, .. }
            | Error::RateLimited { provider, .. }
            | Error::QuotaExceeded { provider, .. }
            | Error::Server { provider, .. }
            | Error::Api { provider, .. }
            | Error::Transport { provider, .. }
            | Error::Malformed { provider, .. }
            | Error::Incomplete { provider, .. } => Some(provider),
            _ => None,
        }
    }

    /// Provider's message, when the error came from one.
    pub fn provider_message(&self) -> Option<&str> {
        match self {
            Error::Auth { message, .. }
            | Error::RateLimited { message, .. }
            | Error::QuotaExceeded { message, .. }
            | Error::Server { message, .. }
            | Error::Api { message, .. } => Some(message),
            _ => None,
        }
    }

    /// The same error — class, code, retryability, provider — with its
    /// message rewritten by `f` (e.g. to say which part of a larger fetch
    /// it concerns).
    pub fn map_message(self, f: impl FnOnce(String) -> String) -> Error {
        match self {
            Error::InvalidArgument(m) => Error::InvalidArgument(f(m)),
            Error::Internal(m) => Error::Internal(f(m)),
            Error::Auth {
                provider,
                code,
                message,
                renewable,
            } => Error::Auth {
                provider,
                code,
                message: f(message),
                renewable,
            },
            Error::RateLimited {
                provider,
                code,
                message,
                retry_after,
            } => Error::RateLimited {
                provider,
                code,
                message: f(message),
                retry_after,
            },
            Error::QuotaExceeded {
                provider,
                code,
                message,
            } => Error::QuotaExceeded {
                provider,
                code,
                message: f(message),
            },
            Error::Server {
                provider,
                code,
                message,
            } => Error::Server {
                provider,
                code,
                message: f(message),
            },
            Error::Api {
                provider,
                code,
                message,
            } => Error::Api {
                provider,
                code,
                message: f(message),
            },
            Error::Transport {
                provider,
                message,
                timeout,
            } => Error::Transport {
                provider,
                message: f(message),
                timeout,
            },
            Error::Malformed {
                provider,
                endpoint,
                message,
            } => Error::Malformed {
                provider,
                endpoint,
                message: f(message),
            },
            Error::Incomplete {
                provider,
                endpoint,
                message,
            } => Error::Incomplete {
                provider,
                endpoint,
                message: f(message),
            },
        }
    }

    /// The same error with `context: ` before its message.
    pub fn context(self, context: impl std::fmt::Display) -> Error {
        self.map_message(|m| format!("{context}: {m}"))
    }

    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidArgument(msg.into())
    }

    pub fn malformed(provider: &'static str, endpoint: &str, msg: impl std::fmt::Display) -> Self {
        Error::Malformed {
            provider,
            endpoint: endpoint.to_string(),
            message: msg.to_string(),
        }
    }

    pub fn incomplete(provider: &'static str, endpoint: &str, msg: impl Into<String>) -> Self {
        Error::Incomplete {
            provider,
            endpoint: endpoint.to_string(),
            message: msg.into(),
        }
    }
}

/// ` (code N)`, or nothing for code 0 (a failure found locally, e.g. a
/// UserSig that does not verify, has no provider code).
fn code_note(code: i64) -> String {
    if code == 0 {
        String::new()
    } else {
        format!(" (code {code})")
    }
}

#[cfg(test)]
mod tests;
