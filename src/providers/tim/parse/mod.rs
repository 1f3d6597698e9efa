//! `getappinfo` replies → typed tables, without `serde_json::Value` trees.
//!
//! Reply: `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","Result":[{..one day..}]}`,
//! every value a string, `Date` as `YYYYMMDD`. `ActionStatus` may be
//! missing: the `ErrorCode` decides.

use std::borrow::Cow;

use serde::de::DeserializeSeed;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::errors::classify;
use super::PROVIDER;
use crate::error::{redact, Error, Result};
use crate::table::{Cell, Column, FieldMap, Kind, RowSink, Rows, TableBuilder};

pub const ENDPOINT: &str = "getappinfo";

/// Every column of `getappinfo`: (original name, column name, dtype).
///
/// `Date` first; then the 36 fields the Chinese document lists as pullable
/// (the English one omits `QQ`, `TextMsgInNum`, `TextMsgOutNum`,
/// `VoiceMsgInNum`, `VoiceMsgOutNum`), in that document's order.
pub const FIELDS: &[(&str, &str, Kind)] = &[
    ("Date", "date", Kind::Date),
    ("AppName", "app_name", Kind::Str),
    ("AppId", "app_id", Kind::Str),
    ("Company", "company", Kind::Str),
    ("QQ", "qq", Kind::Str),
    ("ActiveUserNum", "active_user_num", Kind::Int),
    ("RegistUserNumOneDay", "regist_user_num_one_day", Kind::Int),
    ("RegistUserNumTotal", "regist_user_num_total", Kind::Int),
    ("LoginTimes", "login_times", Kind::Int),
    ("LoginUserNum", "login_user_num", Kind::Int),
    ("UpMsgNum", "up_msg_num", Kind::Int),
    ("DownMsgNum", "down_msg_num", Kind::Int),
    ("SendMsgUserNum", "send_msg_user_num", Kind::Int),
    ("APNSMsgNum", "apns_msg_num", Kind::Int),
    ("C2CUpMsgNum", "c2c_up_msg_num", Kind::Int),
    ("C2CDownMsgNum", "c2c_down_msg_num", Kind::Int),
    ("C2CSendMsgUserNum", "c2c_send_msg_user_num", Kind::Int),
    ("C2CAPNSMsgNum", "c2c_apns_msg_num", Kind::Int),
    ("MaxOnlineNum", "max_online_num", Kind::Int),
    ("ChainIncrease", "chain_increase", Kind::Int),
    ("ChainDecrease", "chain_decrease", Kind::Int),
    ("GroupUpMsgNum", "group_up_msg_num", Kind::Int),
    ("GroupDownMsgNum", "group_down_msg_num", Kind::Int),
    ("GroupSendMsgUserNum", "group_send_msg_user_num", Kind::Int),
    ("GroupAPNSMsgNum", "group_apns_msg_num", Kind::Int),
    (
        "GroupSendMsgGroupNum",
        "group_send_msg_group_num",
        Kind::Int,
    ),
    ("GroupJoinGroupTimes", "group_join_group_times", Kind::Int),
    ("GroupQuitGroupTimes", "group_quit_group_times", Kind::Int),
    ("GroupNewGroupNum", "group_new_group_num", Kind::Int),
    ("GroupAllGroupNum", "group_all_group_num", Kind::Int),
    ("GroupDestroyGroupNum", "group_destroy_group_num", Kind::Int),
    ("TextMsgInNum", "text_msg_in_num", Kind::Int),
    ("TextMsgOutNum", "text_msg_out_num", Kind::Int),
    ("VoiceMsgInNum", "voice_msg_in_num", Kind::Int),
    ("VoiceMsgOutNum", "voice_msg_out_num", Kind::Int),
    ("CallBackReq", "call_back_req", Kind::Int),
    ("CallBackRsp", "call_back_rsp", Kind::Int),
];

/// Index of `Date` in [`FIELDS`].
pub const DATE: usize = 0;

/// Which columns a request asked for: `None` is all of them; otherwise
/// indices into [`FIELDS`] (always `Date` first, no duplicates).
pub type Selection = Option<Vec<usize>>;

/// Valid names for error messages.
fn valid_names() -> String {
    FIELDS
        .iter()
        .map(|(o, s, _)| format!("{o} ({s})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Find a field by its original or snake_case name (case-insensitive).
pub fn field_index(name: &str) -> Option<usize> {
    let n = name.trim();
    FIELDS
        .iter()
        .position(|(o, s, _)| *o == n || *s == n)
        .or_else(|| {
            FIELDS
                .iter()
                .position(|(o, s, _)| o.eq_ignore_ascii_case(n) || s.eq_ignore_ascii_case(n))
        })
}

/// Validate requested field names (before any request is made).
pub fn select(fields: Option<&[String]>) -> Result<Selection> {
    let Some(fields) = fields else {
        return Ok(None);
    };
    if fields.is_empty() {
        return Err(Error::invalid(
            "fields is an empty list; pass None (no fields) to get all of them",
        ));
    }
    let mut sel = vec![DATE];
    let mut unknown = vec![];
    for f in fields {
        match field_index(f) {
            Some(i) => {
                if !sel.contains(&i) {
                    sel.push(i);
                }
            }
            None => unknown.push(format!("{f:?}")),
        }
    }
    if !unknown.is_empty() {
        return Err(Error::invalid(format!(
            "unknown getappinfo field(s) {}; valid fields are: {}",
            unknown.join(", "),
            valid_names()
        )));
    }
    Ok(Some(sel))
}

/// Indices of the selected columns, in output order.
pub fn columns(sel: &Selection) -> Vec<usize> {
    match sel {
        Some(v) => v.clone(),
        None => (0..FIELDS.len()).collect(),
    }
}

/// Output schema of a selection.
pub fn schema(sel: &Selection) -> Vec<(&'static str, Kind)> {
    columns(sel)
        .into_iter()
        .map(|i| (FIELDS[i].1, FIELDS[i].2))
        .collect()
}

/// The request body: `{}` for all fields, else `{"RequestField":[..]}`
/// with `Date` always included.
pub fn request_body(sel: &Selection) -> String {
    match sel {
        None => "{}".to_string(),
        Some(v) => {
            let names: Vec<&str> = v.iter().map(|&i| FIELDS[i].0).collect();
            // A list of plain ASCII names always serialises.
            let list = serde_json::to_string(&names).unwrap_or_else(|_| "[]".into());
            format!("{{\"RequestField\":{list}}}")
        }
    }
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "ActionStatus", default, borrow)]
    action_status: Option<Cow<'a, str>>,
    #[serde(rename = "ErrorCode", default, borrow)]
    error_code: Option<Cell<'a>>,
    #[serde(rename = "ErrorInfo", default, borrow)]
    error_info: Option<Cow<'a, str>>,
    /// `Some` when the key is there, even as `null` (an empty result).
    #[serde(rename = "Result", default, borrow, deserialize_with = "present")]
    result: Option<&'a RawValue>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// One row per `Result` object.
struct Sink {
    t: TableBuilder,
    fields: FieldMap,
    date_col: usize,
    rows: usize,
}

impl<'de> RowSink<'de> for Sink {
    fn cell(&mut self, key: &str, cell: Cell<'de>) -> std::result::Result<(), String> {
        self.fields
            .set(&mut self.t, key, &cell)
            .map_err(|e| format!("Result[{}]: {e}", self.rows))
    }

    fn end_row(&mut self) -> std::result::Result<(), String> {
        if !self.t.is_set(self.date_col) {
            return Err(format!("Result[{}] has no Date", self.rows));
        }
        let col = self.t.col_ref(self.date_col);
        if !col.is_empty() && col.get_days(col.len() - 1).is_none() {
            return Err(format!("Result[{}] has an empty Date", self.rows));
        }
        self.t.end_row();
        self.rows += 1;
        Ok(())
    }
}

/// Check the envelope and parse `Result` into the selection's columns,
/// sorted by date. `host` is only used in error messages.
pub fn parse_reply(text: &str, sel: &Selection, host: &str) -> Result<TableBuilder> {
    let bad = |e: &dyn std::fmt::Display| Error::malformed(PROVIDER, ENDPOINT, e);
    let text = crate::table::strip_bom(text);
    let env: Envelope = serde_json::from_str(text).map_err(|e| bad(&e))?;
    let info = env.error_info.as_deref().unwrap_or("");
    let code = match &env.error_code {
        Some(c) => c
            .to_i64()
            .map_err(|e| bad(&format!("ErrorCode: {e}")))?
            .unwrap_or(0),
        None => match env.action_status.as_deref() {
            Some(s) if s.eq_ignore_ascii_case("OK") => 0,
            Some(s) if s.eq_ignore_ascii_case("FAIL") => {
                return Err(Error::Api {
                    provider: PROVIDER,
                    code: -1,
                    message: format!("ActionStatus FAIL without ErrorCode: {}", redact(info)),
                })
            }
            _ => return Err(bad(&"reply has neither ErrorCode nor ActionStatus")),
        },
    };
    if code != 0 {
        return Err(classify(code, info, host));
    }
    let Some(raw) = env.result else {
        return Err(bad(&"reply has no Result"));
    };
    let spec = schema(sel);
    let t = TableBuilder::new(&spec);
    let pairs: Vec<(&str, &str)> = columns(sel)
        .into_iter()
        .map(|i| (FIELDS[i].0, FIELDS[i].1))
        .collect();
    let fields = FieldMap::new(&t, &pairs);
    let mut sink = Sink {
        date_col: t.index("date").unwrap_or(0),
        t,
        fields,
        rows: 0,
    };
    let mut de = serde_json::Deserializer::from_str(raw.get());
    Rows(&mut sink).deserialize(&mut de).map_err(|e| bad(&e))?;
    sort_by_date(sink.t, sink.date_col)
}

/// Sort rows by date ascending; a date seen twice is an error.
fn sort_by_date(t: TableBuilder, date_col: usize) -> Result<TableBuilder> {
    let n = t.n_rows();
    let dates: Vec<Option<i32>> = match t.col_ref(date_col) {
        Column::Date(v) => v.iter().collect(),
        _ => return Ok(t),
    };
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by_key(|&i| dates[i]);
    if let Some(w) = idx.windows(2).find(|w| dates[w[0]] == dates[w[1]]) {
        let d = dates[w[0]].unwrap_or_default();
        let date = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
            .and_then(|e| e.checked_add_signed(chrono::TimeDelta::days(d.into())))
            .map(|d| d.to_string())
            .unwrap_or_else(|| d.to_string());
        return Err(Error::malformed(
            PROVIDER,
            ENDPOINT,
            format!("date {date} appears twice in Result"),
        ));
    }
    if idx.windows(2).all(|w| w[0] < w[1]) {
        return Ok(t);
    }
    let cols = t
        .names()
        .iter()
        .enumerate()
        .map(|(i, name)| (name.clone(), t.col_ref(i).take(&idx)))
        .collect();
    Ok(TableBuilder::from_columns(cols, n))
}

/// The dates of a parsed table's rows.
pub fn dates(t: &TableBuilder) -> Vec<chrono::NaiveDate> {
    let Some(i) = t.index("date") else {
        return vec![];
    };
    let Column::Date(v) = t.col_ref(i) else {
        return vec![];
    };
    v.iter()
        .take(t.n_rows())
        .flatten()
        .map(crate::providers::common::days_to_date)
        .collect()
}

/// Build the frame of a parsed table.
pub fn finish(t: TableBuilder) -> Result<polars::prelude::DataFrame> {
    t.finish()
        .map_err(|e| Error::Internal(format!("building frame: {e}")))
}

/// Parse a saved `getappinfo` reply into the full-schema frame.
pub fn parse_saved(text: &str) -> Result<polars::prelude::DataFrame> {
    finish(parse_reply(text, &None, "")?)
}

#[cfg(test)]
mod tests;
