//! The parser on hand-made replies and on the document's own samples.

use chrono::NaiveDate;

use super::*;
use crate::providers::baidu::endpoints::Gran;

mod replies {
    use super::*;
    use chrono::Datelike;

    #[test]
    fn periods() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        let (a, b) = parse_period("2019/04/01 - 2019/04/07", Gran::Week, None).unwrap();
        assert_eq!((a.date(), b), (d(2019, 4, 1), d(2019, 4, 7)));
        let (a, b) = parse_period("2019/04", Gran::Month, None).unwrap();
        assert_eq!((a.date(), b), (d(2019, 4, 1), d(2019, 4, 30)));
        let (a, _) = parse_period("2019/12", Gran::Month, None).unwrap();
        assert_eq!(a.date().month(), 12);
        let (a, _) = parse_period("13:00 - 13:59", Gran::Hour, Some(d(2019, 4, 1))).unwrap();
        assert_eq!(a.to_string(), "2019-04-01 13:00:00");
        assert!(parse_period("13:00 - 13:59", Gran::Hour, None).is_none());
        assert!(parse_period("yesterday", Gran::Day, None).is_none());
        assert_eq!(retention_period("第2天"), Ok(Some(2)));
        assert_eq!(retention_period("第12周"), Ok(Some(12)));
        assert_eq!(retention_period("第3月"), Ok(Some(3)));
        assert_eq!(retention_period(" 第 2 天 "), Ok(Some(2)));
        assert_eq!(retention_period("第2天\u{3000}"), Ok(Some(2)));
        assert_eq!(retention_period("active_user_count"), Ok(None));
        assert_eq!(retention_period("第一名"), Ok(None));
        for bad in [
            "第X天",
            "第天",
            "第0天",
            "第-1周",
            "第99999999999999999999天",
        ] {
            let e = retention_period(bad).unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
        // found by the fuzzer: non-ASCII labels of month length
        assert!(parse_period("重庆", Gran::Month, None).is_none());
        assert!(parse_period("2019/重", Gran::Month, None).is_none());
    }

    #[test]
    fn error_envelopes() {
        let r = Report::Region;
        let e = parse_page(
            &r,
            r#"{"error_code":111,"error_msg":"Access token expired"}"#,
            None,
        )
        .unwrap_err();
        assert!(matches!(
            e,
            Error::Auth {
                renewable: true,
                ..
            }
        ));
        let e = parse_page(&r, r#"{"errno":1000,"msg":"internal"}"#, None).unwrap_err();
        assert!(e.retryable());
        let e = parse_page(&r, r#"{"errno":40001,"msg":"param error"}"#, None).unwrap_err();
        assert_eq!(e.code(), Some(40001));
        let e = parse_page(&r, r#"{"error_code":18,"error_msg":"qps"}"#, None).unwrap_err();
        assert!(matches!(e, Error::RateLimited { .. }));
        let e = parse_page(&r, r#"{"error_code":17,"error_msg":"daily"}"#, None).unwrap_err();
        assert!(matches!(e, Error::QuotaExceeded { .. }));
        let e = parse_page(
            &r,
            r#"{"errno":0,"msg":"ok","data":{"data_list":[{"name":"x"#,
            None,
        )
        .unwrap_err();
        assert!(matches!(e, Error::Malformed { .. }));
    }

    #[test]
    fn flat_rows_tolerate_odd_values() {
        let r = Report::UserTrend { gran: Gran::Day };
        let text = r#"{"errno":0,"msg":"success","data":{"offset":0,"total":2,
            "sum":{"new_user_count":"--","user_count":"1,000"},
            "data_list":[{"name":"2019/04/15","new_user_count":"12","new_user_ratio":"--"," ":3},
                         {"name":"2019/04/14","new_user_count":5,"new_user_ratio":1.5,"extra":[1,2]}]}}"#;
        let p = parse_page(&r, text, None).unwrap();
        assert_eq!((p.items, p.total, p.offset), (2, Some(2), Some(0)));
        let df = p.table.finish().unwrap();
        assert_eq!(df.height(), 2);
        let c = df.column("new_user_count").unwrap().i64().unwrap();
        assert_eq!((c.get(0), c.get(1)), (Some(12), Some(5)));
        assert_eq!(df.column("new_user_ratio").unwrap().null_count(), 1);
        let sum = p.sum.unwrap().finish().unwrap();
        assert_eq!(
            sum.column("user_count").unwrap().i64().unwrap().get(0),
            Some(1000)
        );
        // empty list
        let p = parse_page(
            &r,
            r#"{"errno":0,"data":{"offset":0,"total":0,"data_list":[]}}"#,
            None,
        )
        .unwrap();
        assert_eq!(p.items, 0);
        // text in a numeric column is an error, not a silent null
        let e = parse_page(
            &r,
            r#"{"errno":0,"data":{"data_list":[{"name":"2019/04/15","user_count":"many"}]}}"#,
            None,
        );
        assert!(matches!(e, Err(Error::Malformed { .. })));
    }

    #[test]
    fn source_nesting() {
        let r = Report::Source {
            level: Level::Scene,
        };
        let text = r#"{"errno":0,"data":{"offset":0,"total":2,"data_list":[
            {"name":[{"sceneId":"1","source":"39","name":"a","user_count":3},
                     {"sceneId":"2","source":"39","name":"b","user_count":4}],"user_count":7},
            {"name":[],"user_count":3}]}}"#;
        let p = parse_page(&r, text, None).unwrap();
        assert_eq!(p.items, 2);
        let df = p.table.finish().unwrap();
        assert_eq!(df.height(), 3);
        let gu = df.column("group_user_count").unwrap().i64().unwrap();
        assert_eq!(
            (0..3).map(|i| gu.get(i)).collect::<Vec<_>>(),
            vec![Some(7), Some(7), Some(3)]
        );
        let rank = df.column("group_rank").unwrap().i64().unwrap();
        assert_eq!(
            (0..3).map(|i| rank.get(i)).collect::<Vec<_>>(),
            vec![Some(1), Some(1), Some(2)]
        );
        assert_eq!(df.column("scene_id").unwrap().null_count(), 1);
        let g = p.groups.unwrap().finish().unwrap();
        assert_eq!(g.height(), 2);
        assert_eq!(
            g.column("scene_count").unwrap().i64().unwrap().get(1),
            Some(0)
        );
    }

    #[test]
    fn retention_shapes() {
        let r = Report::Retention {
            gran: Gran::Week,
            report_type: RetentionType::Count,
            shape: Shape::Long,
        };
        let text = r#"{"errno":0,"data":{"offset":0,"total":2,"sum":{"active_user_count":"--"},"data_list":[
            {"name":"2019/04/01 - 2019/04/07","active_user_count":6625,"第2周":701,"第3周":"--"},
            {"name":"2019/04/08 - 2019/04/14","第2周":764,"active_user_count":7967}]}}"#;
        let p = parse_page(&r, text, None).unwrap();
        assert_eq!(p.items, 2);
        let wide = retention_wide(&p.table, Gran::Week, false)
            .finish()
            .unwrap();
        let long = p.table.finish().unwrap();
        assert_eq!(long.height(), 3);
        assert_eq!(long.column("users").unwrap().null_count(), 1);
        assert_eq!(wide.height(), 2);
        assert_eq!(
            wide.get_column_names(),
            ["cohort_date", "cohort_end", "cohort_size", "w2", "w3"]
        );
        assert_eq!(wide.column("w2").unwrap().i64().unwrap().get(1), Some(764));
        assert_eq!(wide.column("w3").unwrap().null_count(), 2);
    }
}

mod fixture_tests {
    //! The document's own samples (cleaned of `...`) through the parser.
    use super::*;
    use std::collections::HashMap;

    fn page(endpoint: &str, opts: &[(&str, &str)], text: &str) -> Page {
        let o: HashMap<String, String> = opts
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let r = Report::from_endpoint(endpoint, &o).unwrap();
        parse_page(&r, text, None).unwrap()
    }

    #[test]
    fn document_samples() {
        let p = page(
            "getanalysisusertrend",
            &[],
            fixture!("baidu/getanalysisusertrend.json"),
        );
        assert_eq!((p.items, p.total), (2, Some(6)));
        let df = p.table.finish().unwrap();
        assert_eq!(
            df.column("user_count").unwrap().i64().unwrap().get(0),
            Some(1474)
        );
        assert_eq!(
            df.column("date").unwrap().dtype(),
            &polars::prelude::DataType::Date
        );

        // the sample's key " " is ignored; weekly_user_count is null there
        let p = page(
            "getanalysisactivityuser",
            &[],
            fixture!("baidu/getanalysisactivityuser.json"),
        );
        let df = p.table.finish().unwrap();
        let w = df.column("weekly_user_count").unwrap().i64().unwrap();
        assert_eq!((w.get(0), w.get(1)), (None, Some(7967)));

        let p = page(
            "getanalysisretaineduser",
            &[("gran", "month")],
            fixture!("baidu/getanalysisretaineduser.month.json"),
        );
        let df = p.table.finish().unwrap();
        assert_eq!(df.height(), 8);
        assert_eq!(df.column("users").unwrap().null_count(), 7);
        let p = page(
            "getanalysisretaineduser",
            &[("gran", "week")],
            fixture!("baidu/getanalysisretaineduser.week.json"),
        );
        assert_eq!(p.table.n_rows(), 16);
        let p = page(
            "getanalysisretaineduser",
            &[("gran", "day")],
            fixture!("baidu/getanalysisretaineduser.day.json"),
        );
        assert_eq!(p.table.n_rows(), 16);

        let p = page(
            "getanalysisvisitattribute",
            &[],
            fixture!("baidu/getanalysisvisitattribute.json"),
        );
        let df = p.table.finish().unwrap();
        assert_eq!(df.height(), 7 + 2 + 10);

        let p = page(
            "getanalysisregion",
            &[],
            fixture!("baidu/getanalysisregion.json"),
        );
        assert_eq!((p.items, p.total), (2, Some(34)));
        let p = page(
            "getanalysisterminal",
            &[("terminal_type", "os")],
            fixture!("baidu/getanalysisterminal.json"),
        );
        assert_eq!(p.items, 2);
        let p = page(
            "getanalysisvisitpage",
            &[],
            fixture!("baidu/getanalysisvisitpage.json"),
        );
        let df = p.table.finish().unwrap();
        assert_eq!(
            df.column("page_name").unwrap().str().unwrap().get(0),
            Some("pages/yuyue/yuyue")
        );
        let p = page(
            "getanalysisvisitcharacter",
            &[("character_type", "frequency")],
            fixture!("baidu/getanalysisvisitcharacter.json"),
        );
        assert_eq!(p.items, 6);

        let p = page(
            "getanalysissource",
            &[],
            fixture!("baidu/getanalysissource.json"),
        );
        assert_eq!((p.items, p.total), (11, Some(11)));
        let groups = p.groups.unwrap().finish().unwrap();
        assert_eq!(groups.height(), 11);
        let df = p.table.finish().unwrap();
        // 2 + 4 + 2 + 3 + 1 + (empty group kept) 1 + 1 + 1 + 1 + 1 + 1
        assert_eq!(df.height(), 18);

        let p = page("getdata", &[], fixture!("baidu/getdata.json"));
        assert_eq!(p.items, 4);
        let df = p.table.finish().unwrap();
        assert_eq!(df.column("tp_day_user_count").unwrap().null_count(), 2);
    }
}
