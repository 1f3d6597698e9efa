use super::*;

const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";

#[test]
fn published_vector() {
    assert_eq!(
        hmac_sig(KEY, "0", 1400000000, 1569910200, 15552000),
        "CpjuBdQs9ZwnuGAJR8onoOeI9fweX2vIMMY94iOJWJY="
    );
    // The same signature sits inside the full UserSig.
    let s = gen_usersig(1400000000, KEY, "0", 15552000, 1569910200);
    let raw = decode_url(&s).unwrap();
    let mut json = String::new();
    flate2::read::ZlibDecoder::new(&raw[..])
        .read_to_string(&mut json)
        .unwrap();
    assert_eq!(
        json,
        r#"{"TLS.ver":"2.0","TLS.identifier":"0","TLS.sdkappid":1400000000,"TLS.expire":15552000,"TLS.time":1569910200,"TLS.sig":"CpjuBdQs9ZwnuGAJR8onoOeI9fweX2vIMMY94iOJWJY="}"#
    );
}

#[test]
fn alphabet_is_url_safe() {
    for id in ["admin", "a/b+c", "用户", "x\"y"] {
        let s = gen_usersig(1400000000, KEY, id, 86400, 1_700_000_000);
        assert!(!s.contains(['+', '/', '=']), "{s}");
        let info = verify_usersig(&s, 1400000000, KEY, 1_700_000_001).unwrap();
        assert_eq!(info.identifier, id);
    }
}

#[test]
fn round_trip() {
    let s = gen_usersig(1400000001, "k", "admin", 86400, 1000);
    let info = verify_usersig(&s, 1400000001, "k", 1000 + 86400).unwrap();
    assert_eq!(
        info,
        UserSigInfo {
            identifier: "admin".into(),
            sdkappid: 1400000001,
            time: 1000,
            expire: 86400
        }
    );
}

#[test]
fn expiry() {
    let s = gen_usersig(1, "k", "admin", 60, 1000);
    assert!(verify_usersig(&s, 1, "k", 1060).is_ok());
    assert_eq!(
        verify_usersig(&s, 1, "k", 1061),
        Err(UserSigError::Expired {
            expired_at: 1060,
            now: 1061
        })
    );
}

#[test]
fn wrong_key_and_app() {
    let s = gen_usersig(1, "k", "admin", 60, 1000);
    assert_eq!(
        verify_usersig(&s, 1, "other", 1000),
        Err(UserSigError::Signature)
    );
    assert_eq!(
        verify_usersig(&s, 2, "k", 1000),
        Err(UserSigError::SdkAppId { got: 1, want: 2 })
    );
}

fn rebuild(json: &str) -> String {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(json.as_bytes()).unwrap();
    encode_url(&z.finish().unwrap())
}

#[test]
fn tampered() {
    let s = gen_usersig(1, "k", "admin", 60, 1000);
    let raw = decode_url(&s).unwrap();
    let mut json = String::new();
    flate2::read::ZlibDecoder::new(&raw[..])
        .read_to_string(&mut json)
        .unwrap();
    // A longer validity or another identifier breaks the signature.
    let longer = json.replace("\"TLS.expire\":60", "\"TLS.expire\":999999");
    assert_eq!(
        verify_usersig(&rebuild(&longer), 1, "k", 1000),
        Err(UserSigError::Signature)
    );
    let other = json.replace("\"admin\"", "\"root\"");
    assert_eq!(
        verify_usersig(&rebuild(&other), 1, "k", 1000),
        Err(UserSigError::Signature)
    );
    // Garbage in every layer is an error, never a panic.
    assert!(matches!(
        verify_usersig("!!!", 1, "k", 0),
        Err(UserSigError::Decode(_))
    ));
    assert!(matches!(
        verify_usersig(&encode_url(b"not zlib"), 1, "k", 0),
        Err(UserSigError::Inflate(_))
    ));
    assert!(matches!(
        verify_usersig(&rebuild("[1]"), 1, "k", 0),
        Err(UserSigError::Json(_))
    ));
    assert_eq!(
        verify_usersig(&rebuild(r#"{"TLS.ver":"2.0"}"#), 1, "k", 0),
        Err(UserSigError::Field("TLS.identifier"))
    );
    assert_eq!(
        verify_usersig(&rebuild(r#"{"TLS.ver":"1.0"}"#), 1, "k", 0),
        Err(UserSigError::Version("1.0".into()))
    );
    // Flipping one character of the signature itself.
    let flipped = json.replace("\"TLS.sig\":\"", "\"TLS.sig\":\"A");
    assert_eq!(
        verify_usersig(&rebuild(&flipped), 1, "k", 1000),
        Err(UserSigError::Signature)
    );
}

#[test]
fn userbuf_and_string_numbers_accepted() {
    let c = content("admin", 7, 1000, 60, Some("buf"));
    let sig = STANDARD.encode(mac("k", &c).finalize().into_bytes());
    let json = format!(
        r#"{{"TLS.ver":"2.0","TLS.identifier":"admin","TLS.sdkappid":"7","TLS.expire":"60","TLS.time":1000,"TLS.userbuf":"buf","TLS.sig":"{sig}"}}"#
    );
    let info = verify_usersig(&rebuild(&json), 7, "k", 1000).unwrap();
    assert_eq!(info.expire, 60);
}
