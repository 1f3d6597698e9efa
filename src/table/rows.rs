//! Streaming JSON rows into a sink with serde seeds (no
//! `serde_json::Value` trees): arrays of objects ([`Rows`]), one object
//! ([`Row`]), borrowed keys ([`Key`]).

use std::fmt;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::cell::Cell;

/// Receives the fields of JSON objects, one row at a time.
///
/// The default [`RowSink::value`] reads a scalar [`Cell`]; sinks override it
/// for keys whose values are nested (e.g. Baidu's scene arrays).
pub trait RowSink<'de> {
    fn value<D: Deserializer<'de>>(&mut self, key: &str, d: D) -> Result<(), D::Error> {
        let cell = Cell::deserialize(d)?;
        self.cell(key, cell).map_err(de::Error::custom)
    }
    fn cell(&mut self, key: &str, cell: Cell<'de>) -> Result<(), String>;
    fn end_row(&mut self) -> Result<(), String>;
}

/// Seed: a JSON array of objects, each fed to the sink as one row.
pub struct Rows<'s, S>(pub &'s mut S);
/// Seed: one JSON object fed to the sink as one row.
pub struct Row<'s, S>(pub &'s mut S);

struct ValueSeed<'s, 'k, S> {
    sink: &'s mut S,
    key: &'k str,
}

impl<'de, S: RowSink<'de>> DeserializeSeed<'de> for ValueSeed<'_, '_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.sink.value(self.key, d)
    }
}

/// A map key, borrowed from the input when it has no escapes.
pub struct Key<'de>(pub std::borrow::Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de, S: RowSink<'de>> Visitor<'de> for Row<'_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(k)) = map.next_key::<Key>()? {
            map.next_value_seed(ValueSeed {
                sink: &mut *self.0,
                key: &k,
            })?;
        }
        self.0.end_row().map_err(de::Error::custom)
    }
}

impl<'de, S: RowSink<'de>> DeserializeSeed<'de> for Row<'_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, S: RowSink<'de>> Visitor<'de> for Rows<'_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Row(&mut *self.0))?.is_some() {}
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

impl<'de, S: RowSink<'de>> DeserializeSeed<'de> for Rows<'_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}
