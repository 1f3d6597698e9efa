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
