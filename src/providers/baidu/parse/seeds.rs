//! One pass over a whole reply with serde seeds: the row list streams
//! into a sink, the `sum` block into its sink, the rest into [`Meta`].

use serde::de::{DeserializeSeed, Deserializer};

use super::super::endpoints::Report;
use super::super::errors::classify;
use super::sinks::{sum_sink, SumSink};
use super::{bad, open};
use crate::error::Result;
use crate::table::{Cell, Row, RowSink, Rows, TableBuilder};

/// What the envelope and `data` object say besides the rows.
#[derive(Default)]
pub(super) struct Meta {
    pub(super) errno: Option<i64>,
    pub(super) msg: Option<String>,
    pub(super) error_code: Option<i64>,
    pub(super) error_msg: Option<String>,
    pub(super) has_data: bool,
    pub(super) offset: Option<i64>,
    pub(super) total: Option<i64>,
    pub(super) time_span: Option<String>,
    pub(super) list_seen: bool,
}

/// One pass over a whole reply: the row list goes straight into `sink`,
/// the `sum` block into `sum`, everything else into [`Meta`].
pub(super) struct ReplySeed<'a, S> {
    pub(super) sink: &'a mut S,
    pub(super) sum: &'a mut SumSink,
    pub(super) meta: &'a mut Meta,
    /// Name of the row list (`data_list`, or `result` for getdata).
    pub(super) list_key: &'static str,
}

pub(super) struct DataSeed<'a, 'b, S>(&'b mut ReplySeed<'a, S>);

pub(super) fn num_cell<E: serde::de::Error>(c: Cell, what: &str) -> Result<Option<i64>, E> {
    c.to_i64().map_err(|e| E::custom(format!("{what}: {e}")))
}

impl<'de, S: RowSink<'de>> serde::de::Visitor<'de> for ReplySeed<'_, S> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a Baidu reply object")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        while let Some(crate::table::Key(k)) = map.next_key()? {
            match k.as_ref() {
                "errno" => self.meta.errno = num_cell(map.next_value::<Cell>()?, "errno")?,
                "error_code" => {
                    self.meta.error_code = num_cell(map.next_value::<Cell>()?, "error_code")?
                }
                "msg" => self.meta.msg = map.next_value::<Cell>()?.to_string_opt(),
                "error_msg" => self.meta.error_msg = map.next_value::<Cell>()?.to_string_opt(),
                "data" => {
                    self.meta.has_data = true;
                    map.next_value_seed(DataSeed(&mut self))?
                }
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

impl<'de, S: RowSink<'de>> DeserializeSeed<'de> for DataSeed<'_, '_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, S: RowSink<'de>> serde::de::Visitor<'de> for DataSeed<'_, '_, S> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("the data object")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let r = self.0;
        while let Some(crate::table::Key(k)) = map.next_key()? {
            match k.as_ref() {
                "offset" => r.meta.offset = num_cell(map.next_value::<Cell>()?, "data.offset")?,
                "total" => r.meta.total = num_cell(map.next_value::<Cell>()?, "data.total")?,
                "time_span" => r.meta.time_span = map.next_value::<Cell>()?.to_string_opt(),
                "sum" => map.next_value_seed(SumSeed(&mut *r.sum))?,
                key if (key == r.list_key || key == "data_list" || key == "result")
                    && !r.meta.list_seen =>
                {
                    r.meta.list_seen = true;
                    map.next_value_seed(Rows(&mut *r.sink))?
                }
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// The `sum` block: an object (one row), anything else ignored.
pub(super) struct SumSeed<'a>(&'a mut SumSink);

impl<'de> DeserializeSeed<'de> for SumSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for SumSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("the sum block")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        serde::de::Visitor::visit_map(Row(&mut *self.0), map)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
}

/// Parse a whole reply in one pass into `sink`; API errors are classified
/// (also when the rows could not be read, by a second look at the
/// envelope alone).
pub(super) fn one_pass<'de, S: RowSink<'de>>(
    report: &Report,
    text: &'de str,
    sink: &mut S,
) -> Result<(Meta, Option<TableBuilder>)> {
    let endpoint = report.endpoint();
    let mut meta = Meta::default();
    let mut sum = sum_sink(report);
    let seed = ReplySeed {
        sink,
        sum: &mut sum,
        meta: &mut meta,
        list_key: if report.is_get() {
            "result"
        } else {
            "data_list"
        },
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = de.deserialize_map(seed).and_then(|_| de.end());
    if let Err(e) = parsed {
        // an error reply whose data did not fit: report the API error
        open(endpoint, text)?;
        return Err(bad(endpoint, e));
    }
    if let Some(code) = meta.error_code.filter(|c| *c != 0) {
        return Err(classify(
            true,
            code,
            meta.error_msg.as_deref().unwrap_or(""),
        ));
    }
    match meta.errno {
        Some(0) => {}
        Some(code) => return Err(classify(false, code, meta.msg.as_deref().unwrap_or(""))),
        None if !meta.has_data => {
            return Err(bad(endpoint, "reply has neither errno nor error_code"))
        }
        None => {}
    }
    if !meta.has_data {
        return Err(bad(endpoint, "reply has no data object"));
    }
    let sum = (sum.t.n_rows() > 0).then_some(sum.t);
    Ok((meta, sum))
}
