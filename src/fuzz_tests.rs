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
        Just("\"1,2,3\"".to_string()),
        Just("\"12.0\"".to_string()),
        Just("\"9223372036854775808\"".to_string()),
        Just("\"99999999999999999999\"".to_string()),
        Just("9223372036854775808".to_string()),
        Just("\"第X天\":1".to_string()),
        Just("[1,{\"a\":[]}]".to_string()),
        Just("{\"v\":\"1\"}".to_string()),
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
    fn replies_with_a_byte_order_mark_never_panic(i in 0usize..25, op in any::<u8>(), pos in any::<usize>(), tok in tokens()) {
        let c = corpus();
        run_all(&format!("\u{feff}{}", mutate(c[i % c.len()], op, pos, &tok)));
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

/// `1234567` → `1,234,567` (the sign kept in front).
fn grouped(n: i128) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

mod values {
    //! The one value reader (`crate::table`) against independent readings
    //! of the same numbers.
    use super::grouped;
    use crate::table::{parse_float_str, parse_int_str, Cell};
    use proptest::prelude::*;

    fn json_cell(text: &str) -> Cell<'_> {
        serde_json::from_str(text).expect("valid JSON")
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2048, .. ProptestConfig::default() })]

        /// Every spelling of an i64 reads back exactly: plain, grouped,
        /// with `.0`/`.000`, `%`, spaces, an exponent, as a JSON number.
        #[test]
        fn every_i64_spelling_reads_back(n in any::<i64>()) {
            let g = grouped(n.into());
            for s in [
                n.to_string(),
                g.clone(),
                format!("{n}.0"),
                format!("{g}.000"),
                format!("{n}%"),
                format!(" {g} % "),
                format!("{n}e0"),
                format!("{n}0e-1"),
            ] {
                prop_assert_eq!(parse_int_str(&s), Ok(Some(n)), "{}", s);
            }
            prop_assert_eq!(json_cell(&n.to_string()).to_i64(), Ok(Some(n)));
            prop_assert_eq!(Cell::Str(g.into()).to_i64(), Ok(Some(n)));
        }

        /// Beyond i64, as text (plain or grouped) or as a JSON number: an
        /// error naming the value, never a clamped number.
        #[test]
        fn beyond_i64_is_an_error(
            n in prop_oneof![
                (i64::MAX as i128 + 1)..=(u64::MAX as i128 * 1000),
                (-(u64::MAX as i128) * 1000)..=(i64::MIN as i128 - 1),
            ]
        ) {
            for s in [n.to_string(), grouped(n), format!("{n}.00")] {
                let e = parse_int_str(&s).unwrap_err();
                prop_assert!(e.contains("does not fit") && e.contains(&s), "{}", e);
            }
            let e = json_cell(&n.to_string()).to_i64().unwrap_err();
            prop_assert!(e.contains("does not fit"), "{}", e);
        }

        /// A separator that is not every three digits makes the text
        /// malformed (`1,2,3`, `12,34`), whatever the digits.
        #[test]
        fn misplaced_separators_are_errors(n in 10u64..u64::MAX / 10, at in 1usize..19) {
            let digits = n.to_string();
            let wrong: Vec<usize> = (1..digits.len())
                .filter(|i| (digits.len() - i) % 3 != 0)
                .collect();
            let at = wrong[at % wrong.len()];
            let s = format!("{},{}", &digits[..at], &digits[at..]);
            prop_assert!(parse_int_str(&s).is_err(), "{}", s);
            prop_assert!(parse_float_str(&s).is_err(), "{}", s);
        }

        /// Any finite float reads back from its shortest text (and with
        /// `%`); an integer column refuses it unless it is integral (and
        /// reads the decimal text exactly, which beyond 2^53 may differ
        /// from the float).
        #[test]
        fn floats_read_back(x in any::<f64>().prop_filter("finite", |x| x.is_finite())) {
            let s = x.to_string();
            prop_assert_eq!(parse_float_str(&s), Ok(Some(x)));
            prop_assert_eq!(parse_float_str(&format!("{s}%")), Ok(Some(x)));
            prop_assert_eq!(parse_float_str(&format!("{x:e}")), Ok(Some(x)));
            let as_int = parse_int_str(&s);
            if x.fract() != 0.0 {
                prop_assert!(as_int.is_err(), "{}", s);
            } else if x.abs() < 9_007_199_254_740_992.0 {
                prop_assert_eq!(as_int, Ok(Some(x as i64)));
            }
        }

        /// Text made of number-ish characters: the reader never panics and
        /// agrees with a plain reading wherever that one succeeds.
        #[test]
        fn numberish_text(s in "[-+0-9,.eE% ]{0,24}") {
            let i = parse_int_str(&s);
            let f = parse_float_str(&s);
            let plain = s.trim();
            if let Ok(n) = plain.parse::<i64>() {
                prop_assert_eq!(i.clone(), Ok(Some(n)));
            }
            if let Ok(x) = plain.parse::<f64>() {
                if x.is_finite() && !plain.contains(['i', 'I', 'n', 'N']) {
                    prop_assert_eq!(f.clone(), Ok(Some(x)));
                }
            }
            // a value read as an integer reads as the same float
            if let Ok(Some(n)) = i {
                if n.unsigned_abs() < (1 << 53) {
                    prop_assert_eq!(parse_float_str(&s), Ok(Some(n as f64)));
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    /// MTA retention values in any recognisable form (counts, or
    /// percentages with or without `%`, as text or JSON numbers) never fail:
    /// counts give Int64 `users`, any percentage makes the frame a Float64
    /// `ratio` holding every value.
    #[test]
    fn mta_retention_values_never_fail(
        vals in prop::collection::vec(
            prop_oneof![
                (0i64..10_000_000).prop_map(|n| format!("\"{}\"", grouped(n.into()))),
                (0i64..10_000_000).prop_map(|n| n.to_string()),
                (0u32..100_000).prop_map(|x| format!("\"{}%\"", f64::from(x) / 1000.0)),
                (1u32..100_000).prop_map(|x| format!("{}.5", x)),
                Just("\"-\"".to_string()),
                Just("null".to_string()),
            ],
            1..9,
        )
    ) {
        let keys = ["D1RepeatUser", "D2RepeatUser", "D3RepeatUser", "D4RepeatUser",
                    "D5RepeatUser", "D6RepeatUser", "D7RepeatUser", "D14RepeatUser"];
        let fields: Vec<String> =
            vals.iter().zip(keys).map(|(v, k)| format!("\"{k}\":{v}")).collect();
        let text = format!(
            r#"{{"ret_code":60000,"ret_data":{{"2024-03-01":{{{}}}}}}}"#,
            fields.join(",")
        );
        let df = mta::parse_saved("retention", &text, &HashMap::new())
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        let percent = vals.iter().any(|v| v.contains('%') || v.contains('.'));
        let col = if percent { "ratio" } else { "users" };
        prop_assert!(df.column(col).is_ok(), "{}: {:?}", text, df.get_column_names());
        prop_assert_eq!(df.height(), 9);
    }
}

#[test]
fn every_fixture_parses_with_a_byte_order_mark() {
    for (ep, gran, text) in BAIDU {
        let mut o = HashMap::new();
        if !gran.is_empty() {
            o.insert("gran".to_string(), gran.to_string());
        }
        let plain = baidu::parse_saved(ep, text, &o).unwrap().data;
        let bom = baidu::parse_saved(ep, &format!("\u{feff}{text}"), &o)
            .unwrap()
            .data;
        assert!(plain.equals_missing(&bom), "{ep}");
    }
    for (r, text) in MTA {
        let plain = mta::parse_saved(r, text, &HashMap::new()).unwrap();
        let bom = mta::parse_saved(r, &format!("\u{feff}{text}"), &HashMap::new()).unwrap();
        assert!(plain.equals_missing(&bom), "{r}");
    }
    for text in TIM {
        let bom = tim::parse::parse_saved(&format!("\u{feff}{text}")).unwrap();
        assert!(tim::parse::parse_saved(text).unwrap().equals_missing(&bom));
    }
}
