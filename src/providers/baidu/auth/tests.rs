use super::*;

fn decode(body: &str) -> Result<Token> {
    decode_token(Reply::new(200, body.to_string()))
}

/// Every reply shape of the three token flows, as Baidu's SDKs read
/// them: flat for `/oauth/2.0/token` and `/rest/2.0/oauth/token`,
/// `{errno, msg, data}` for the TP token, `{error, error_description}`
/// and the gateway's `{error_code, error_msg}` on failure.
#[test]
fn token_reply_shapes() {
    let t = decode(r#"{"access_token":"24.a","expires_in":2592000,"scope":"s"}"#).unwrap();
    assert_eq!(t.access, "24.a");
    assert_eq!(t.expires_in, Some(Duration::from_secs(2_592_000)));
    let t =
        decode(r#"{"access_token":"26.b","expires_in":3600,"refresh_token":"27.c","scope":"s"}"#)
            .unwrap();
    assert_eq!(t.refresh.as_deref(), Some("27.c"));
    let t = decode(
        r#"{"errno":0,"msg":"success","data":{"access_token":"tp.d","expires_in":7200,"scope":"x"}}"#,
    )
    .unwrap();
    assert_eq!(
        (t.access.as_str(), t.expires_in),
        ("tp.d", Some(Duration::from_secs(7200)))
    );
    // a byte order mark is accepted
    assert_eq!(
        decode("\u{feff}{\"access_token\":\"e\"}").unwrap().access,
        "e"
    );

    let e = decode(r#"{"error":"invalid_client","error_description":"unknown client id"}"#)
        .err()
        .unwrap();
    assert!(
        matches!(
            e,
            Error::Auth {
                renewable: false,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("invalid_client: unknown client id"),
        "{e}"
    );
    let e = decode(r#"{"error":"invalid_grant","error_description":"code=abc used"}"#)
        .err()
        .unwrap();
    assert!(!e.to_string().contains("abc"), "secrets redacted: {e}");
    let e = decode(r#"{"errno":40001,"msg":"invalid ticket"}"#)
        .err()
        .unwrap();
    assert_eq!((e.kind(), e.code()), ("auth", Some(40001)));
    let e = decode(r#"{"error_code":111,"error_msg":"Access token expired"}"#)
        .err()
        .unwrap();
    assert_eq!((e.kind(), e.code()), ("auth", Some(111)));
    let e = decode(r#"{"error_code":18,"error_msg":"qps"}"#)
        .err()
        .unwrap();
    assert_eq!(e.kind(), "rate_limited");
    for bad in [
        "",
        "<html>",
        r#"{"expires_in":1}"#,
        r#"{"errno":0,"data":{}}"#,
    ] {
        assert_eq!(decode(bad).err().unwrap().kind(), "malformed", "{bad}");
    }
}
