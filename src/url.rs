//! Base URLs given by users: parsed with a URL library, never joined by
//! hand, and shown without their userinfo.

use crate::error::{Error, Result};
pub use crate::redact::redact_userinfo;

/// Check a user's base URL and return it normalised, without a trailing
/// slash, ready for `{base}/path` joins: `http` or `https`, a host, and no
/// query or fragment (a path prefix such as a proxy's `/api` is kept).
/// Userinfo (`user:password@`) is allowed and sent as basic auth, but
/// never shown: messages and reprs go through [`redact_userinfo`].
pub fn parse_base_url(s: &str) -> Result<String> {
    // shown without userinfo, query or fragment (they may hold secrets)
    let shown = redact_userinfo(
        s.trim()
            .split_once(['?', '#'])
            .map_or(s.trim(), |(head, _)| head),
    );
    let url = reqwest::Url::parse(s.trim())
        .map_err(|e| Error::invalid(format!("base_url {shown:?} is not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::invalid(format!(
            "base_url must start with http:// or https://, got {shown:?}"
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::invalid(format!("base_url {shown:?} has no host")));
    }
    if url.query().is_some() {
        return Err(Error::invalid(format!(
            "base_url {shown:?} has a query string: appstats adds the paths and parameters \
             of each request itself; pass the scheme, host and optional path prefix only"
        )));
    }
    if url.fragment().is_some() {
        return Err(Error::invalid(format!(
            "base_url {shown:?} has a fragment (#...); pass the scheme, host and optional \
             path prefix only"
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests;
