//! The serde seeds that stream a reply's payload into a [`KeyedSink`],
//! whatever its shape, and the one pass over a whole reply.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::super::endpoints::Report;
use super::super::errors::{classify, OK};
use super::{bad, open};
use crate::error::Result;
use crate::table::{Cell, Key, Row, RowSink};

/// A row sink that is told where each row begins and what its key is.
pub trait KeyedSink<'de>: RowSink<'de> {
    /// A row begins; `key` is its key in a keyed object (`None` for array
    /// items and for a flat object).
    fn begin(&mut self, key: Option<&str>) -> Result<(), String>;
    /// Whether top-level scalars form one flat row (realtime); otherwise
    /// they are ignored.
    fn flat_ok(&self) -> bool;
}

/// Seed for the whole payload.
struct Payload<'s, S>(&'s mut S);

impl<'de, S: KeyedSink<'de>> DeserializeSeed<'de> for Payload<'_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, S: KeyedSink<'de>> Visitor<'de> for Payload<'_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object or an array of objects")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut flat = false;
        while let Some(Key(k)) = map.next_key::<Key>()? {
            map.next_value_seed(Entry {
                sink: &mut *self.0,
                key: &k,
                flat: &mut flat,
            })?;
        }
        if flat {
            self.0.end_row().map_err(de::Error::custom)?;
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Item(&mut *self.0))?.is_some() {}
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        if v.trim().is_empty() {
            Ok(())
        } else {
            Err(E::custom(format!(
                "expected an object or an array, got the text {v:?}"
            )))
        }
    }
}

/// An array item: one row.
struct Item<'s, S>(&'s mut S);

impl<'de, S: KeyedSink<'de>> DeserializeSeed<'de> for Item<'_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.0.begin(None).map_err(de::Error::custom)?;
        d.deserialize_map(Row(self.0))
    }
}

/// The value of one top-level key.
struct Entry<'s, 'k, S> {
    sink: &'s mut S,
    key: &'k str,
    flat: &'s mut bool,
}

impl<'de, S: KeyedSink<'de>> DeserializeSeed<'de> for Entry<'_, '_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, S: KeyedSink<'de>> Entry<'_, '_, S> {
    fn scalar<E: de::Error>(self, cell: Cell<'de>) -> Result<(), E> {
        if !self.sink.flat_ok() {
            return Ok(());
        }
        if !*self.flat {
            self.sink.begin(None).map_err(E::custom)?;
            *self.flat = true;
        }
        self.sink.cell(self.key, cell).map_err(E::custom)
    }
}

impl<'de, S: KeyedSink<'de>> Visitor<'de> for Entry<'_, '_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of fields")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.sink.begin(Some(self.key)).map_err(de::Error::custom)?;
        Row(self.sink).visit_map(map)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        // A wrapper such as {"list": [...]}: its items are rows.
        while seq.next_element_seed(Item(&mut *self.sink))?.is_some() {}
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.scalar(Cell::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.scalar(Cell::from_u64(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.scalar(Cell::Float(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.scalar(Cell::Bool(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<(), E> {
        self.scalar(Cell::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.scalar(Cell::Str(Cow::Owned(v.to_string())))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar(Cell::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.scalar(Cell::Null)
    }
}

/// The whole reply in one pass: the payload (`ret_data`, or `data`) goes
/// straight into `sink` (no pre-scan of the envelope).
struct ReplySeed<'s, S> {
    sink: &'s mut S,
    code: Option<Result<Option<i64>, String>>,
    msg: Option<String>,
    payload_seen: bool,
}

impl<'de, S: KeyedSink<'de>> serde::de::Visitor<'de> for &mut ReplySeed<'_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an MTA reply object")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(crate::table::Key(k)) = map.next_key()? {
            match k.as_ref() {
                "ret_code" => self.code = Some(map.next_value::<Cell>()?.to_i64()),
                "ret_msg" => self.msg = map.next_value::<Cell>()?.to_string_opt(),
                "ret_data" | "data" if !self.payload_seen => {
                    self.payload_seen = true;
                    map.next_value_seed(Payload(&mut *self.sink))?
                }
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

pub(super) fn one_pass<'de, S: KeyedSink<'de>>(
    report: &Report,
    text: &'de str,
    sink: &mut S,
) -> Result<()> {
    let mut seed = ReplySeed {
        sink,
        code: None,
        msg: None,
        payload_seen: false,
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = serde::Deserializer::deserialize_map(&mut de, &mut seed).and_then(|_| de.end());
    if let Err(e) = parsed {
        // an error reply whose payload did not fit: report the API error
        open(report, text)?;
        return Err(bad(report, e));
    }
    let code = match seed.code {
        None => return Err(bad(report, "reply has no ret_code")),
        Some(Ok(Some(c))) => c,
        Some(_) => return Err(bad(report, "ret_code is not a number")),
    };
    if code != OK {
        return Err(classify(code, seed.msg.as_deref().unwrap_or("")));
    }
    Ok(())
}
