//! Tests of the value reader, the columns and the builder.

use chrono::NaiveDate;
use polars::prelude::DataType;

use super::cell::{float_to_i64, parse_int_general, plain_int};
use super::*;

#[test]
fn loose_numbers() {
    assert_eq!(parse_int_str("1,234"), Ok(Some(1234)));
    assert_eq!(parse_int_str("1,234,567"), Ok(Some(1_234_567)));
    assert_eq!(parse_int_str("-1,234"), Ok(Some(-1234)));
    assert_eq!(parse_int_str("--"), Ok(None));
    assert_eq!(parse_int_str(""), Ok(None));
    assert_eq!(parse_int_str("-"), Ok(None));
    assert_eq!(parse_int_str("-5"), Ok(Some(-5)));
    assert_eq!(parse_int_str("+5"), Ok(Some(5)));
    assert_eq!(parse_int_str("3.0"), Ok(Some(3)));
    assert_eq!(parse_int_str("12.000"), Ok(Some(12)));
    assert_eq!(parse_int_str("1,234.0"), Ok(Some(1234)));
    assert_eq!(parse_int_str("12%"), Ok(Some(12)));
    assert_eq!(parse_int_str("1e3"), Ok(Some(1000)));
    assert_eq!(parse_int_str("1.5E2"), Ok(Some(150)));
    assert_eq!(parse_int_str("0.0"), Ok(Some(0)));
    assert_eq!(parse_int_str("-0"), Ok(Some(0)));
    assert_eq!(parse_int_str("0e999999999999"), Ok(Some(0)));
    assert_eq!(
        parse_int_str("9223372036854775807"),
        Ok(Some(i64::MAX)),
        "the largest i64"
    );
    assert_eq!(parse_int_str("-9223372036854775808"), Ok(Some(i64::MIN)));
    assert_eq!(
        parse_int_str("9,223,372,036,854,775,807"),
        Ok(Some(i64::MAX))
    );
    for bad in [
        "abc", "12.5", "1,2,3", "12,34", "1,2345", ",123", "123,", "1,,234", "1.2.3", "1e", "e3",
        ".", "-", "1 234", "NaN", "inf", "0x10", "1e-1", "12.5%", "%", "1_000",
    ] {
        if bad == "-" {
            continue; // a missing marker
        }
        assert!(parse_int_str(bad).is_err(), "{bad}");
    }
    // never clamped: a value beyond i64 is an error naming it
    for big in [
        "9223372036854775808",
        "-9223372036854775809",
        "99999999999999999999",
        "1e19",
        "9,223,372,036,854,775,808",
        "1e999999999999",
    ] {
        let e = parse_int_str(big).unwrap_err();
        assert!(e.contains(big) && e.contains("does not fit"), "{e}");
    }
    assert_eq!(parse_float_str("12.5%"), Ok(Some(12.5)));
    assert_eq!(parse_float_str("12.5 %"), Ok(Some(12.5)));
    assert_eq!(parse_float_str("1,234.5"), Ok(Some(1234.5)));
    assert_eq!(parse_float_str(".5"), Ok(Some(0.5)));
    assert_eq!(parse_float_str("-.5"), Ok(Some(-0.5)));
    assert_eq!(parse_float_str("5."), Ok(Some(5.0)));
    assert_eq!(parse_float_str("1e-3"), Ok(Some(0.001)));
    assert_eq!(parse_float_str("99999999999999999999"), Ok(Some(1e20)));
    assert_eq!(parse_float_str(" - "), Ok(None));
    assert_eq!(parse_float_str("null"), Ok(None));
    for bad in [
        "NaN",
        "inf",
        "-infinity",
        "1,2,3",
        "1,23.5",
        "12.5.1",
        "1e400",
        "x%",
    ] {
        assert!(parse_float_str(bad).is_err(), "{bad}");
    }
    assert!(parse_float_str("1e400").unwrap_err().contains("range"));
}

#[test]
fn cells_from_json() {
    let v: Vec<Cell> = serde_json::from_str(
        r#"[1, 2.5, "3", "--", null, [1], {"a":1}, 9223372036854775808, 1e20, 12.0, true]"#,
    )
    .unwrap();
    assert_eq!(v[0], Cell::Int(1));
    assert_eq!(v[1], Cell::Float(2.5));
    assert_eq!(v[2].to_i64(), Ok(Some(3)));
    assert_eq!(v[3].to_f64(), Ok(None));
    assert_eq!(v[4], Cell::Null);
    assert_eq!(v[5], Cell::Nested(Nested::List));
    assert_eq!(v[6], Cell::Nested(Nested::Object));
    assert_eq!(v[7], Cell::UInt(9_223_372_036_854_775_808));
    assert_eq!(v[9].to_i64(), Ok(Some(12)));
    assert!(Cell::Float(2.5).to_i64().is_err());
    // a JSON number beyond i64 is an error in an integer column, as the
    // same value as text is
    for c in [&v[7], &v[8]] {
        let e = c.to_i64().unwrap_err();
        assert!(e.contains("does not fit a 64-bit integer"), "{e}");
    }
    assert!(v[7].to_i64().unwrap_err().contains("9223372036854775808"));
    assert_eq!(v[7].to_f64(), Ok(Some(2f64.powi(63))));
    assert_eq!(v[7].to_text(), Ok(Some("9223372036854775808".into())));
    assert_eq!(float_to_i64(-(2f64.powi(63))), Ok(Some(i64::MIN)));
    // lists, objects and booleans are refused by every column
    for kind in [Kind::Int, Kind::Float, Kind::Str, Kind::Date] {
        for c in [&v[5], &v[6]] {
            let e = Column::new(kind).push_cell(c).unwrap_err();
            assert!(e.contains("a list") || e.contains("an object"), "{e}");
        }
    }
    for kind in [Kind::Int, Kind::Float, Kind::Date] {
        assert!(Column::new(kind).push_cell(&v[10]).is_err());
    }
    assert_eq!(v[5].to_string_opt(), None);
}

#[test]
fn datetimes() {
    let dt = |s: &str| parse_datetime(s).map(|d| d.to_string());
    assert_eq!(
        dt("2024-03-01 10:00:00").as_deref(),
        Some("2024-03-01 10:00:00")
    );
    assert_eq!(
        dt("2024/03/01 10:05").as_deref(),
        Some("2024-03-01 10:05:00")
    );
    assert_eq!(
        dt("2024-03-01T10:05:06.5").as_deref(),
        Some("2024-03-01 10:05:06.500")
    );
    assert_eq!(dt("20240301").as_deref(), Some("2024-03-01 00:00:00"));
    for bad in [
        "2024-03-01 25:00:00",
        "yesterday",
        "2024-03-01 10",
        "10:00:00",
    ] {
        assert_eq!(dt(bad), None, "{bad}");
    }
    let mut c = Column::new(Kind::Datetime);
    c.push_cell(&Cell::Int(1_709_287_200)).unwrap(); // seconds
    c.push_cell(&Cell::Int(1_709_287_200_000)).unwrap(); // milliseconds
    c.push_cell(&Cell::Str("--".into())).unwrap();
    assert_eq!(c.get_i64(0), c.get_i64(1));
    assert_eq!(c.get_i64(2), None);
    assert!(c.push_cell(&Cell::Str("soon".into())).is_err());
    assert!(c.push_cell(&Cell::Float(1.5)).is_err());
}

#[test]
fn byte_order_mark() {
    assert_eq!(strip_bom("\u{feff}{}"), "{}");
    assert_eq!(strip_bom("{}"), "{}");
    assert_eq!(strip_bom("\u{feff}\u{feff}{}"), "\u{feff}{}", "only one");
}

#[test]
fn builder_dtypes() {
    let mut t = TableBuilder::new(&[
        ("d", Kind::Date),
        ("n", Kind::Int),
        ("x", Kind::Float),
        ("s", Kind::Str),
    ]);
    t.set(0, &Cell::Str("2019/04/10".into())).unwrap();
    t.set(1, &Cell::Str("1,000".into())).unwrap();
    t.set(1, &Cell::Str("7".into())).unwrap();
    t.set(3, &Cell::Str("--".into())).unwrap();
    t.end_row();
    let df = t.finish().unwrap();
    assert_eq!(df.height(), 1);
    assert_eq!(df.column("d").unwrap().dtype(), &DataType::Date);
    assert_eq!(df.column("n").unwrap().i64().unwrap().get(0), Some(1000));
    assert_eq!(df.column("x").unwrap().null_count(), 1);
    assert_eq!(df.column("s").unwrap().null_count(), 1);
    let e = empty_frame(&[("a", Kind::Int)]);
    assert_eq!(e.height(), 0);
    assert_eq!(e.column("a").unwrap().dtype(), &DataType::Int64);
}

#[test]
fn dates() {
    assert_eq!(parse_date("20190410"), NaiveDate::from_ymd_opt(2019, 4, 10));
    assert_eq!(
        parse_date("2019-04-10"),
        NaiveDate::from_ymd_opt(2019, 4, 10)
    );
    assert_eq!(
        parse_date("2019/04/10"),
        NaiveDate::from_ymd_opt(2019, 4, 10)
    );
    assert_eq!(parse_date("2019/4/1"), None);
    assert_eq!(parse_date("20191340"), None);
    assert_eq!(parse_date("2019-04/10"), None);
    assert_eq!(parse_date("2019-4-100"), None);
    assert_eq!(parse_date("2019-02-29"), None);
    assert_eq!(
        parse_date(" 2020-02-29 "),
        NaiveDate::from_ymd_opt(2020, 2, 29)
    );
    assert_eq!(parse_date("重庆重"), None);
}

#[test]
fn the_integer_fast_path_agrees_with_the_grammar() {
    for text in [
        "0",
        "7",
        "007",
        "-0",
        "-12",
        "1,234",
        "12,345",
        "123,456",
        "1,234,567",
        "-1,234",
        "999999999999999999",
        "999,999,999,999,999,999",
    ] {
        let fast = plain_int(text.as_bytes());
        assert!(fast.is_some(), "{text}");
        assert_eq!(Ok(fast), parse_int_general(text), "{text}");
    }
    // left to the general grammar (which accepts or rejects them)
    for text in [
        "",
        "-",
        "--",
        "+5",
        " 5",
        "5 ",
        "1,23",
        "1234,567",
        ",123",
        "123,",
        "1,,234",
        "12.0",
        "1e3",
        "12%",
        "-,123",
        "1,234,56",
        "9223372036854775807",
        "1,000,000,000,000,000,000",
    ] {
        assert_eq!(plain_int(text.as_bytes()), None, "{text}");
    }
}

proptest::proptest! {
    /// Digits, separators and a sign in any order: whatever the fast path
    /// reads, the full grammar reads the same.
    #[test]
    fn the_integer_fast_path_never_disagrees(s in "-?[0-9,]{0,26}") {
        if let Some(v) = plain_int(s.as_bytes()) {
            proptest::prop_assert_eq!(parse_int_general(&s), Ok(Some(v)));
        }
    }
}

fn sorted_values(t: TableBuilder) -> Vec<String> {
    let df = t.finish().unwrap();
    let col = df.column("v").unwrap().str().unwrap().clone();
    col.iter().flatten().map(String::from).collect()
}

#[test]
fn sort_by_two_keys_is_stable_with_nulls_first() {
    let spec = [("d", Kind::Date), ("p", Kind::Int), ("v", Kind::Str)];
    let build = |rows: &[(Option<&str>, Option<i64>, &str)]| {
        let mut t = TableBuilder::new(&spec);
        for (d, p, v) in rows {
            t.set(0, &d.map_or(Cell::Null, |d| Cell::Str(d.into())))
                .unwrap();
            t.set(1, &p.map_or(Cell::Null, Cell::Int)).unwrap();
            t.set(2, &Cell::Str((*v).into())).unwrap();
            t.end_row();
        }
        t
    };
    let mut t = build(&[
        (Some("2024-03-02"), Some(1), "a"),
        (Some("2024-03-01"), Some(7), "b"),
        (Some("2024-03-01"), Some(1), "c"),
        (None, Some(3), "d"),
        (Some("2024-03-01"), Some(1), "e"),
        (Some("2024-03-01"), None, "f"),
    ]);
    t.sort_by(&[0, 1]);
    let v = sorted_values(t);
    assert_eq!(v, ["d", "f", "c", "e", "b", "a"]);
    // already in order: unchanged
    let mut t = build(&[
        (Some("2024-03-01"), Some(1), "x"),
        (Some("2024-03-01"), Some(2), "y"),
        (Some("2024-03-02"), Some(1), "z"),
    ]);
    t.sort_by(&[0, 1]);
    let v = sorted_values(t);
    assert_eq!(v, ["x", "y", "z"]);
}
