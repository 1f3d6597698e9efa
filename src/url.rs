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
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(
            parse_base_url("https://openapi.baidu.com/").unwrap(),
            "https://openapi.baidu.com"
        );
        assert_eq!(
            parse_base_url(" http://127.0.0.1:8080/proxy/ ").unwrap(),
            "http://127.0.0.1:8080/proxy"
        );
        for bad in [
            "ftp://x",
            "openapi.baidu.com",
            "http://",
            "http://h/?token=X",
            "http://h/#frag",
            "http://u:pw@h/?a=1",
        ] {
            let e = parse_base_url(bad).unwrap_err().to_string();
            assert!(e.contains("base_url"), "{bad}: {e}");
            assert!(!e.contains("pw@") && !e.contains("token=X"), "{bad}: {e}");
        }
        // userinfo is kept (reqwest sends it as basic auth) but never shown
        let u = parse_base_url("http://user:PASSW0RD@127.0.0.1:9").unwrap();
        assert!(u.contains("PASSW0RD"));
        assert_eq!(redact_userinfo(&u), "http://***@127.0.0.1:9");
    }
}
