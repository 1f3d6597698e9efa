//! Secrets out of messages: the values of secret parameters and the
//! userinfo of URLs. Used by `error` (every message) and `url` (base URLs
//! shown to users); it depends on neither.

/// Names of query/body parameters whose values are secrets.
pub const SECRET_PARAMS: &[&str] = &[
    "access_token",
    "client_secret",
    "secret_key",
    "sign",
    "usersig",
    "refresh_token",
    "ticket",
    "code",
];

/// Replace the values of secret parameters in a URL or message, and the
/// userinfo of URLs (`http://user:password@host`), by `***`.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'outer: while !rest.is_empty() {
        for name in SECRET_PARAMS {
            if let Some(after) = rest.strip_prefix(name) {
                if let Some(value) = after.strip_prefix('=') {
                    let boundary = out
                        .chars()
                        .last()
                        .is_none_or(|c| matches!(c, '?' | '&' | ' ' | '(' | '"' | '\''));
                    if boundary {
                        out.push_str(name);
                        out.push_str("=***");
                        let end = value
                            .find(['&', ' ', ')', '"', '\'', '\n'])
                            .unwrap_or(value.len());
                        rest = &value[end..];
                        continue 'outer;
                    }
                }
            }
        }
        let c = rest.chars().next().unwrap_or_default();
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    redact_userinfo(&out)
}

/// Replace the userinfo of every URL in `text` (`scheme://user:pw@host`)
/// by `***`.
pub fn redact_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        // the authority ends at the path, query, fragment or any delimiter
        // a URL inside a message may be followed by
        let end = tail
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | ')' | '"' | '\'' | '>') || c.is_whitespace()
            })
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                out.push_str("***");
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests;
