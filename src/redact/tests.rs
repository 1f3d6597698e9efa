use super::*;

#[test]
fn redacts_query_secrets() {
    let s = redact(
        "error sending request for url (http://x/y?access_token=24.abc&start_index=0&sign=ff)",
    );
    assert_eq!(
        s,
        "error sending request for url (http://x/y?access_token=***&start_index=0&sign=***)"
    );
    assert_eq!(redact("no secrets here"), "no secrets here");
    assert_eq!(redact("postcode=1"), "postcode=1");
    assert_eq!(
        redact("url (http://user:PASSW0RD@127.0.0.1:9/x?sign=1)"),
        "url (http://***@127.0.0.1:9/x?sign=***)"
    );
}

#[test]
fn userinfo_redaction() {
    assert_eq!(
        redact_userinfo("error for url (http://u:p@h:1/x?y=1) and https://a@b"),
        "error for url (http://***@h:1/x?y=1) and https://***@b"
    );
    assert_eq!(redact_userinfo("http://h/a@b"), "http://h/a@b");
    assert_eq!(redact_userinfo("no url: a@b"), "no url: a@b");
    assert_eq!(redact_userinfo("://"), "://");
    assert_eq!(redact_userinfo("x://é@ü"), "x://***@ü");
}
