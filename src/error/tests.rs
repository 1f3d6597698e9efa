use super::*;

#[test]
fn classification() {
    let e = Error::Server {
        provider: "baidu",
        code: 1000,
        message: "x".into(),
    };
    assert!(e.retryable());
    assert_eq!(e.code(), Some(1000));
    assert!(!Error::invalid("x").retryable());
}

#[test]
fn context_keeps_class_code_and_retryability() {
    let e = Error::RateLimited {
        provider: "baidu",
        code: 18,
        message: "qps".into(),
        retry_after: Some(Duration::from_secs(2)),
    }
    .context("rows 21–40 of 100 missing");
    assert_eq!(e.kind(), "rate_limited");
    assert_eq!(e.code(), Some(18));
    assert!(e.retryable());
    assert_eq!(e.provider_message(), Some("rows 21–40 of 100 missing: qps"));
    assert!(matches!(
        e,
        Error::RateLimited {
            retry_after: Some(_),
            ..
        }
    ));
    let e = Error::incomplete("mta", "/x", "gap").context("window 1");
    assert_eq!(e.kind(), "incomplete");
    assert!(e.to_string().ends_with("window 1: gap"), "{e}");
}
