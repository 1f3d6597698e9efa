//! Core errors → the exception classes defined in `appstats/errors.py`.

use pyo3::prelude::*;

use crate::error::Error;

pyo3::import_exception!(appstats.errors, InvalidArgument);
pyo3::import_exception!(appstats.errors, AuthError);
pyo3::import_exception!(appstats.errors, RateLimited);
pyo3::import_exception!(appstats.errors, QuotaExceeded);
pyo3::import_exception!(appstats.errors, ServerError);
pyo3::import_exception!(appstats.errors, ApiError);
pyo3::import_exception!(appstats.errors, TransportError);
pyo3::import_exception!(appstats.errors, MalformedResponse);
pyo3::import_exception!(appstats.errors, IncompleteData);
pyo3::import_exception!(appstats.errors, InternalError);

/// Convert a core error; the message is already free of secrets.
pub fn to_py(e: Error) -> PyErr {
    let msg = crate::error::redact(&e.to_string());
    let args = (
        msg,
        e.provider(),
        e.code(),
        e.provider_message().map(crate::error::redact),
        e.retryable(),
    );
    match e {
        Error::InvalidArgument(_) => InvalidArgument::new_err(args),
        Error::Auth { .. } => AuthError::new_err(args),
        Error::RateLimited { .. } => RateLimited::new_err(args),
        Error::QuotaExceeded { .. } => QuotaExceeded::new_err(args),
        Error::Server { .. } => ServerError::new_err(args),
        Error::Api { .. } => ApiError::new_err(args),
        Error::Transport { .. } => TransportError::new_err(args),
        Error::Malformed { .. } => MalformedResponse::new_err(args),
        Error::Incomplete { .. } => IncompleteData::new_err(args),
        Error::Internal(_) => InternalError::new_err(args),
    }
}

/// Test hook: panic inside Rust to prove the panic becomes an exception.
#[pyfunction]
pub fn _raise_panic() -> PyResult<()> {
    super::guard(|| -> crate::Result<()> { panic!("deliberate test panic") })
}
