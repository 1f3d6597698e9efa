//! Property tests: random and mutated replies of every endpoint fed to the
//! parsers. Whatever the bytes, a parser returns a frame or an error — it
//! never panics, and the frames it returns always build.

use std::collections::HashMap;

use proptest::prelude::*;

use crate::error::Error;
use crate::providers::{baidu, mta, tim};

const BAIDU: &[(&str, &str, &str)] = &[
    (
        "getanalysisusertrend",
        "",
        include_str!("../tests/fixtures/baidu/getanalysisusertrend.json"),
    ),
    (
        "getanalysisactivityuser",
        "",
        include_str!("../tests/fixtures/baidu/getanalysisactivityuser.json"),
    ),
    (
        "getanalysisretaineduser",
        "day",
        include_str!("../tests/fixtures/baidu/getanalysisretaineduser.day.json"),
    ),
    (
        "getanalysisretaineduser",
        "week",
        include_str!("../tests/fixtures/baidu/getanalysisretaineduser.week.json"),
    ),
    (
        "getanalysisretaineduser",
        "month",
        include_str!("../tests/fixtures/baidu/getanalysisretaineduser.month.json"),
    ),
    (
        "getanalysisvisitattribute",
        "",
        include_str!("../tests/fixtures/baidu/getanalysisvisitattribute.json"),
    ),
    (
        "getanalysisregion",
        "",
        include_str!("../tests/fixtures/baidu/getanalysisregion.json"),
    ),
    (
        "getanalysisterminal",
        "",
        include_str!("../tests/fixtures/baidu/getanalysisterminal.json"),
    ),
    (
        "getanalysisvisitpage",
        "",
        include_str!("../tests/fixtures/baidu/getanalysisvisitpage.json"),
    ),
    (
        "getanalysisvisitcharacter",
        "",
        include_str!("../tests/fixtures/baidu/getanalysisvisitcharacter.json"),
    ),
    (
        "getanalysissource",
        "",
        include_str!("../tests/fixtures/baidu/getanalysissource.json"),
    ),
    (
        "getdata",
        "",
        include_str!("../tests/fixtures/baidu/getdata.json"),
    ),
];

const MTA: &[(&str, &str)] = &[
    (
        "user_basic",
        include_str!("../tests/fixtures/mta/user_basic.json"),
    ),
    (
        "realtime",
        include_str!("../tests/fixtures/mta/realtime.json"),
    ),
    (
        "active_users",
        include_str!("../tests/fixtures/mta/active_users.json"),
    ),
    (
        "terminal",
        include_str!("../tests/fixtures/mta/terminal.json"),
    ),
    ("usage", include_str!("../tests/fixtures/mta/usage.json")),
    (
        "frequency",
        include_str!("../tests/fixtures/mta/frequency.json"),
    ),
    ("crash", include_str!("../tests/fixtures/mta/crash.json")),
    (
        "crash_env",
        include_str!("../tests/fixtures/mta/crash_env.json"),
    ),
    (
        "error_list",
        include_str!("../tests/fixtures/mta/error_list.json"),
    ),
    (
        "retention",
        include_str!("../tests/fixtures/mta/retention.json"),
    ),
];

const TIM: &[&str] = &[
    include_str!("../tests/fixtures/tim/getappinfo_all.json"),
    include_str!("../tests/fixtures/tim/getappinfo_all_en.json"),
    include_str!("../tests/fixtures/tim/getappinfo_fields.json"),
];

fn ok_or_typed<T>(r: Result<T, Error>) {
    if let Err(Error::Internal(m)) = r {
        panic!("internal error from parser: {m}");
    }
}

fn run_all(text: &str) {
    for shape in ["long", "wide"] {
        for (ep, gran, _) in BAIDU {
            let mut o = HashMap::new();
            if !gran.is_empty() {
                o.insert("gran".to_string(), gran.to_string());
                o.insert("shape".to_string(), shape.to_string());
            }
            ok_or_typed(baidu::parse_saved(ep, text, &o));
        }
        let mut o = HashMap::new();
        o.insert("shape".to_string(), shape.to_string());
        ok_or_typed(mta::parse_saved("retention", text, &o));
    }
    for (r, _) in MTA {
        ok_or_typed(mta::parse_saved(r, text, &HashMap::new()));
    }
    ok_or_typed(tim::parse::parse_saved(text));
}

/// All fixture texts.
fn corpus() -> Vec<&'static str> {
    let mut v: Vec<&str> = BAIDU.iter().map(|(_, _, t)| *t).collect();
    v.extend(MTA.iter().map(|(_, t)| *t));
    v.extend(TIM.iter().copied());
    v
}

/// A mutation of a valid reply: truncate, splice in a token, or swap bytes.
fn mutate(text: &str, op: u8, pos: usize, token: &str) -> String {
    let mut cut = pos % (text.len() + 1);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    match op % 4 {
        0 => text[..cut].to_string(),
        1 => format!("{}{}{}", &text[..cut], token, &text[cut..]),
        2 => {
            // replace the next scalar-ish run with the token
            let rest = &text[cut..];
            let end = rest
                .find([',', '}', ']'])
                .map(|i| cut + i)
                .unwrap_or(text.len());
            format!("{}{}{}", &text[..cut], token, &text[end..])
        }
        _ => text.replacen(['0', '1', '2', '3'], token, 1 + pos % 5),
    }
}

fn tokens() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"--\"".to_string()),
        Just("null".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("\"1,234\"".to_string()),
        Just("\"12.5%\"".to_string()),
        Just("1e309".to_string()),
        Just("-9223372036854775809".to_string()),
        Just("18446744073709551616".to_string()),
        Just("\"\\ud800\"".to_string()),
        Just("\"第99999999999999999999天\":1".to_string()),
        Just("\"name\":[{\"name\":[]}]".to_string()),
        Just("\"2019/13/45\"".to_string()),
        Just("true".to_string()),
        Just("\"".to_string()),
        "[ -~]{0,12}".prop_map(|s| s),
    ]
}

/// Random JSON values with keys drawn from the providers' vocabulary.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let key = prop_oneof![
        Just("errno"),
        Just("error_code"),
        Just("ret_code"),
        Just("ErrorCode"),
        Just("data"),
        Just("ret_data"),
        Just("Result"),
        Just("data_list"),
        Just("result"),
        Just("total"),
        Just("offset"),
        Just("sum"),
        Just("name"),
        Just("sceneId"),
        Just("user_count"),
        Just("第2天"),
        Just("active_user_count"),
        Just("Date"),
        Just("NewUser"),
        Just("age"),
        Just("2024-03-01"),
        Just("D1RepeatUser"),
        Just("Section"),
        Just("ActiveUserNum"),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        "[ -~]{0,8}".prop_map(Value::String),
        Just(Value::String("--".into())),
        Just(Value::String("20240301".into())),
        Just(Value::String("2019/04/01 - 2019/04/07".into())),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
        run_all(&s);
    }

    #[test]
    fn mutated_replies_never_panic(i in 0usize..25, op in any::<u8>(), pos in any::<usize>(), tok in tokens()) {
        let c = corpus();
        let text = c[i % c.len()];
        run_all(&mutate(text, op, pos, &tok));
    }

    #[test]
    fn random_json_never_panics(v in json_value(), wrap in 0u8..4) {
        use serde_json::json;
        let v = match wrap {
            0 => json!({"errno": 0, "msg": "ok", "data": v}),
            1 => json!({"ret_code": 60000, "ret_msg": "ok", "ret_data": v}),
            2 => json!({"ErrorCode": 0, "Result": v}),
            _ => v,
        };
        run_all(&v.to_string());
    }
}

#[test]
fn every_fixture_parses() {
    for (ep, gran, text) in BAIDU {
        let mut o = HashMap::new();
        if !gran.is_empty() {
            o.insert("gran".to_string(), gran.to_string());
        }
        baidu::parse_saved(ep, text, &o).unwrap_or_else(|e| panic!("{ep}: {e}"));
    }
    for (r, text) in MTA {
        mta::parse_saved(r, text, &HashMap::new()).unwrap_or_else(|e| panic!("{r}: {e}"));
    }
    for text in TIM {
        tim::parse::parse_saved(text).unwrap();
    }
}
