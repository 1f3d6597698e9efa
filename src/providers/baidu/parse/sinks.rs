//! The row builders: one sink per reply shape (flat rows with a label,
//! retention cohorts, source groups with nested scenes, visitor
//! attributes, the `sum` block).

use std::borrow::Cow;

use chrono::NaiveDate;
use serde::de::{DeserializeSeed, Deserializer};
use serde::Deserialize;

use super::super::endpoints::{Gran, Report, ATTRIBUTES, SOURCE};
use super::labels::{parse_period, retention_period};
use super::schema::{metric_fields, schema};
use crate::table::{date_to_days, Cell, FieldMap, Kind, RowSink, Rows, TableBuilder};

/// How a row's label (`name`, or `data`/`date` for the TP totals) is stored.
#[derive(Debug, Clone, Copy)]
pub(super) enum Label {
    Period(Gran),
    Text(usize),
    Date(usize),
}

// ---------------------------------------------------------------- sinks

/// Rows with a label column and known metric fields.
pub(super) struct FlatSink {
    pub(super) t: TableBuilder,
    pub(super) fields: FieldMap,
    /// Name of the row list, for error messages.
    pub(super) list_key: &'static str,
    /// Keys of the row's label (`name`; the TP totals date their rows
    /// under `data` in the seed document and `date` in the Go SDK).
    pub(super) label_keys: &'static [&'static str],
    pub(super) label: Option<Label>,
    pub(super) day: Option<NaiveDate>,
    pub(super) consts: Vec<(usize, String)>,
    pub(super) items: usize,
}

impl FlatSink {
    fn read(&mut self, key: &str, cell: Cell) -> Result<(), String> {
        if self.label_keys.contains(&key) {
            match self.label {
                Some(Label::Text(i)) | Some(Label::Date(i)) => {
                    return self
                        .t
                        .set(i, &cell)
                        .map_err(|e| format!("field {key:?}: {e}"))
                }
                Some(Label::Period(g)) => {
                    let text = match &cell {
                        Cell::Str(s) => s.as_ref(),
                        other => {
                            return Err(format!(
                                "period label {key:?} is not text: {}",
                                other.describe()
                            ))
                        }
                    };
                    let (start, end) = parse_period(text, g, self.day)
                        .ok_or_else(|| format!("cannot read period label {text:?}"))?;
                    match g {
                        Gran::Hour => self.t.col(0).push_datetime(Some(start)),
                        Gran::Day => self.t.col(0).push_date(Some(start.date())),
                        _ => {
                            self.t.col(0).push_date(Some(start.date()));
                            self.t.col(1).push_date(Some(end));
                        }
                    }
                    return Ok(());
                }
                None => {}
            }
        }
        self.fields.set(&mut self.t, key, &cell)
    }
}

impl<'de> RowSink<'de> for FlatSink {
    fn cell(&mut self, key: &str, cell: Cell<'de>) -> Result<(), String> {
        self.read(key, cell)
            .map_err(|e| format!("{}[{}]: {e}", self.list_key, self.items))
    }

    fn end_row(&mut self) -> Result<(), String> {
        for (i, v) in &self.consts {
            self.t.set(*i, &Cell::Str(Cow::Borrowed(v.as_str())))?;
        }
        self.t.end_row();
        self.items += 1;
        Ok(())
    }
}

pub(super) fn flat_sink(report: &Report, day: Option<NaiveDate>) -> FlatSink {
    let s = schema(report);
    let t = TableBuilder::new(&s);
    let metrics = metric_fields(report);
    let mut pairs: Vec<(&str, &str)> = metrics.iter().map(|(n, _)| (*n, *n)).collect();
    let mut consts = vec![];
    let mut label_keys: &'static [&'static str] = &["name"];
    let label = match report {
        Report::UserTrend { gran } => Some(Label::Period(*gran)),
        Report::ActivityUser => Some(Label::Period(Gran::Day)),
        Report::Region => t.index("region").map(Label::Text),
        Report::Terminal { terminal_type } => {
            consts.push((
                t.index("terminal_type").expect("col"),
                terminal_type.clone(),
            ));
            t.index("terminal").map(Label::Text)
        }
        Report::VisitCharacter { character_type } => {
            consts.push((
                t.index("character_type").expect("col"),
                character_type.clone(),
            ));
            t.index("bucket").map(Label::Text)
        }
        Report::VisitPage => {
            pairs.extend([
                ("pageId", "page_id"),
                ("pageName", "page_name"),
                ("pageAlias", "page_alias"),
            ]);
            None
        }
        Report::TpData { .. } => {
            label_keys = &["data", "date"];
            t.index("date").map(Label::Date)
        }
        _ => None,
    };
    let fields = FieldMap::new(&t, &pairs);
    // activity_user labels are days: its `date` column is column 0.
    FlatSink {
        t,
        fields,
        list_key: if report.is_get() {
            "result"
        } else {
            "data_list"
        },
        label_keys,
        label,
        day,
        consts,
        items: 0,
    }
}

/// One retention value: period, as ratio, as count (each may fail).
/// (period, value as ratio, value as count): only the value of the
/// report type is read.
pub(super) type RetentionCell = (i64, Option<f64>, Option<i64>);

/// Retention rows: `name`, `active_user_count`, `第N天/周/月`.
pub(super) struct RetentionSink {
    pub(super) t: TableBuilder,
    pub(super) ratio: bool,
    pub(super) gran: Gran,
    pub(super) label: Option<(NaiveDate, NaiveDate)>,
    pub(super) size: Option<i64>,
    pub(super) cells: Vec<RetentionCell>,
    pub(super) items: usize,
}

impl RetentionSink {
    fn read(&mut self, key: &str, cell: Cell) -> Result<(), String> {
        match key {
            "name" => {
                let text = match &cell {
                    Cell::Str(s) => s.as_ref(),
                    other => return Err(format!("cohort label is not text: {}", other.describe())),
                };
                let (a, b) = parse_period(text, self.gran, None)
                    .ok_or_else(|| format!("cannot read cohort label {text:?}"))?;
                self.label = Some((a.date(), b));
            }
            "active_user_count" => {
                self.size = cell
                    .to_i64()
                    .map_err(|e| format!("field \"active_user_count\": {e}"))?
            }
            k => {
                if let Some(p) = retention_period(k)? {
                    let cell = if self.ratio {
                        (
                            p,
                            cell.to_f64().map_err(|e| format!("field {k:?}: {e}"))?,
                            None,
                        )
                    } else {
                        let i = cell.to_i64().map_err(|e| {
                            format!("field {k:?}: {e} (use report_type=\"ratio\" for ratios)")
                        })?;
                        (p, None, i)
                    };
                    self.cells.push(cell);
                }
            }
        }
        Ok(())
    }
}

impl<'de> RowSink<'de> for RetentionSink {
    fn cell(&mut self, key: &str, cell: Cell<'de>) -> Result<(), String> {
        self.read(key, cell)
            .map_err(|e| format!("data_list[{}]: {e}", self.items))
    }

    fn end_row(&mut self) -> Result<(), String> {
        let (start, end) = self.label.take().ok_or("retention row without a name")?;
        let size = self.size.take();
        self.cells.sort_by_key(|c| c.0);
        if self.cells.is_empty() {
            // No period keys at all: keep the cohort (and its size) with a
            // null period rather than dropping it.
            self.cells.push((0, None, None));
        }
        let (start, end) = (date_to_days(start), date_to_days(end));
        for (p, f, i) in self.cells.drain(..) {
            self.t.col(0).push_days(Some(start));
            self.t.col(1).push_days(Some(end));
            self.t.col(2).push_i64(size);
            self.t.col(3).push_i64((p > 0).then_some(p));
            if self.ratio {
                self.t.col(4).push_f64(f);
            } else {
                self.t.col(4).push_i64(i);
            }
            self.t.end_row();
        }
        self.items += 1;
        Ok(())
    }
}

/// Source groups with nested scene arrays.
pub(super) struct SourceSink {
    pub(super) scenes: TableBuilder,
    pub(super) groups: TableBuilder,
    pub(super) group_fields: FieldMap,
    pub(super) cur_scenes: TableBuilder,
    pub(super) scene_fields: FieldMap,
    pub(super) cur_source: Option<String>,
    pub(super) rank: i64,
    pub(super) items: usize,
}

pub(super) struct SceneSink<'a> {
    pub(super) t: &'a mut TableBuilder,
    pub(super) fields: &'a FieldMap,
    pub(super) source: &'a mut Option<String>,
    /// Index of the group in `data_list` (error messages).
    pub(super) group: usize,
}

impl SceneSink<'_> {
    fn read(&mut self, key: &str, cell: Cell) -> Result<(), String> {
        let field = |e: String| format!("field {key:?}: {e}");
        match key {
            "sceneId" => self.t.set(0, &cell).map_err(field),
            "name" => self.t.set(1, &cell).map_err(field),
            "source" => {
                let text = cell.to_text().map_err(field)?;
                if self.source.is_none() {
                    *self.source = text;
                }
                Ok(())
            }
            k => self.fields.set(self.t, k, &cell),
        }
    }
}

impl<'de> RowSink<'de> for SceneSink<'_> {
    fn cell(&mut self, key: &str, cell: Cell<'de>) -> Result<(), String> {
        let row = self.t.n_rows();
        self.read(key, cell)
            .map_err(|e| format!("data_list[{}].name[{row}]: {e}", self.group))
    }
    fn end_row(&mut self) -> Result<(), String> {
        self.t.end_row();
        Ok(())
    }
}

impl<'de> RowSink<'de> for SourceSink {
    fn value<D: Deserializer<'de>>(&mut self, key: &str, d: D) -> Result<(), D::Error> {
        if key == "name" {
            let mut sink = SceneSink {
                t: &mut self.cur_scenes,
                fields: &self.scene_fields,
                source: &mut self.cur_source,
                group: self.items,
            };
            return Rows(&mut sink).deserialize(d);
        }
        let cell = Cell::deserialize(d)?;
        self.cell(key, cell).map_err(serde::de::Error::custom)
    }

    fn cell(&mut self, key: &str, cell: Cell<'de>) -> Result<(), String> {
        self.group_fields
            .set(&mut self.groups, key, &cell)
            .map_err(|e| format!("data_list[{}]: {e}", self.items))
    }

    fn end_row(&mut self) -> Result<(), String> {
        self.rank += 1;
        let k = self.cur_scenes.n_rows();
        let g = self.groups.n_rows();
        // group-level row
        self.groups.set(0, &Cell::Int(self.rank))?;
        if let Some(src) = &self.cur_source {
            self.groups
                .set(1, &Cell::Str(Cow::Borrowed(src.as_str())))?;
        }
        self.groups.set(2, &Cell::Int(k as i64))?;
        self.groups.end_row();
        // scene-level rows, written in place: one per scene (or one with
        // null scene columns), the group's key and totals beside each
        let n_scene_cols = self.cur_scenes.names().len();
        let out = &mut self.scenes;
        for r in 0..k.max(1) {
            out.col(0).push_from(self.groups.col_ref(0), g);
            out.col(1).push_from(self.groups.col_ref(1), g);
            for j in 0..n_scene_cols {
                if r < k {
                    out.col(2 + j).push_from(self.cur_scenes.col_ref(j), r);
                } else {
                    out.col(2 + j).push_null();
                }
            }
            for j in 0..SOURCE.len() {
                out.col(2 + n_scene_cols + j)
                    .push_from(self.groups.col_ref(3 + j), g);
            }
            out.end_row();
        }
        self.cur_scenes.clear();
        self.cur_source = None;
        self.items += 1;
        Ok(())
    }
}

/// Visitor attributes: `{age: [...], sex: [...], interest: [...]}` rows.
pub(super) struct AttributeSink {
    pub(super) t: TableBuilder,
    pub(super) items: usize,
}

pub(super) struct AttrItemSink<'a> {
    pub(super) t: &'a mut TableBuilder,
    pub(super) attribute: &'a str,
    /// Rows of the table before this attribute's list (error messages).
    pub(super) first: usize,
}

impl<'de> RowSink<'de> for AttrItemSink<'_> {
    fn cell(&mut self, key: &str, cell: Cell<'de>) -> Result<(), String> {
        let col = match key {
            "attribute_id" => 1,
            "name" => 2,
            "count_ratio" | "user_count_ratio" => 3,
            _ => return Ok(()),
        };
        self.t.set(col, &cell).map_err(|e| {
            let row = self.t.n_rows() - self.first;
            format!("{}[{row}]: field {key:?}: {e}", self.attribute)
        })
    }
    fn end_row(&mut self) -> Result<(), String> {
        self.t.set(0, &Cell::Str(Cow::Borrowed(self.attribute)))?;
        self.t.end_row();
        Ok(())
    }
}

impl<'de> RowSink<'de> for AttributeSink {
    fn value<D: Deserializer<'de>>(&mut self, key: &str, d: D) -> Result<(), D::Error> {
        if let Some(a) = ATTRIBUTES.iter().find(|a| **a == key) {
            let first = self.t.n_rows();
            let mut sink = AttrItemSink {
                t: &mut self.t,
                attribute: a,
                first,
            };
            return Rows(&mut sink).deserialize(d);
        }
        serde::de::IgnoredAny::deserialize(d)?;
        Ok(())
    }
    fn cell(&mut self, _key: &str, _cell: Cell<'de>) -> Result<(), String> {
        Ok(())
    }
    fn end_row(&mut self) -> Result<(), String> {
        self.items += 1;
        Ok(())
    }
}

/// A `sum` block → one-row table of the report's metric columns.
pub(super) struct SumSink {
    pub(super) t: TableBuilder,
    pub(super) fields: FieldMap,
}

impl<'de> RowSink<'de> for SumSink {
    fn cell(&mut self, key: &str, cell: Cell<'de>) -> Result<(), String> {
        self.fields
            .set(&mut self.t, key, &cell)
            .map_err(|e| format!("sum: {e}"))
    }
    fn end_row(&mut self) -> Result<(), String> {
        self.t.end_row();
        Ok(())
    }
}

pub(super) fn sum_sink(report: &Report) -> SumSink {
    let spec: Vec<(String, Kind)> = metric_fields(report)
        .iter()
        .map(|(n, k)| (n.to_string(), *k))
        .collect();
    let t = TableBuilder::new(&spec);
    let pairs: Vec<(&str, &str)> = spec.iter().map(|(n, _)| (n.as_str(), n.as_str())).collect();
    let fields = FieldMap::new(&t, &pairs);
    SumSink { t, fields }
}
