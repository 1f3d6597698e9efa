//! [`TableBuilder`]: named typed columns filled row by row, finished into
//! a Polars `DataFrame`; [`FieldMap`] maps a reply's field names to them.

use polars::prelude::*;

use super::cell::Cell;
use super::column::{Column, Kind};

/// An ordered set of named, typed columns being filled row by row.
#[derive(Debug, Clone)]
pub struct TableBuilder {
    names: Vec<String>,
    cols: Vec<Column>,
    rows: usize,
}

impl TableBuilder {
    pub fn new<S: AsRef<str>>(spec: &[(S, Kind)]) -> Self {
        TableBuilder {
            names: spec.iter().map(|(n, _)| n.as_ref().to_string()).collect(),
            cols: spec.iter().map(|(_, k)| Column::new(*k)).collect(),
            rows: 0,
        }
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    pub fn col(&mut self, i: usize) -> &mut Column {
        &mut self.cols[i]
    }

    pub fn col_ref(&self, i: usize) -> &Column {
        &self.cols[i]
    }

    /// A builder holding complete columns of `rows` rows each.
    pub fn from_columns(cols: Vec<(String, Column)>, rows: usize) -> Self {
        let (names, mut cols): (Vec<String>, Vec<Column>) = cols.into_iter().unzip();
        for c in &mut cols {
            c.truncate(rows);
            c.pad_to(rows);
        }
        TableBuilder { names, cols, rows }
    }

    /// Sort the completed rows by the given columns (stable).
    pub fn sort_by(&mut self, keys: &[usize]) {
        self.discard_row();
        let order = |a: usize, b: usize| {
            keys.iter()
                .map(|&k| self.cols[k].cmp_rows(a, b))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        };
        if self.in_order(keys) {
            return; // already in order (the common case)
        }
        let mut idx: Vec<usize> = (0..self.rows).collect();
        // (not in order: the stable sort moves some row)
        idx.sort_by(|&a, &b| order(a, b));
        for c in &mut self.cols {
            *c = c.take(&idx);
        }
    }

    /// Whether the rows are in ascending order of `keys`: one typed pass
    /// per key column.
    fn in_order(&self, keys: &[usize]) -> bool {
        let mut ord = vec![std::cmp::Ordering::Equal; self.rows.saturating_sub(1)];
        for &k in keys {
            self.cols[k].refine_adjacent(&mut ord);
        }
        ord.iter().all(|o| o.is_le())
    }

    /// Room for `factor` times the rows held now (e.g. when a first page
    /// tells how many rows follow), so that appending them copies nothing
    /// and leaves no doubled capacity behind. Best effort: capped, and a
    /// reservation the allocator refuses is skipped.
    pub fn reserve_scaled(&mut self, factor: f64) {
        if !(factor > 1.0 && factor.is_finite()) {
            return;
        }
        for c in &mut self.cols {
            c.reserve_scaled(factor);
        }
    }

    /// Remove every row (keeping the columns and their capacity).
    pub fn clear(&mut self) {
        for c in &mut self.cols {
            c.truncate(0);
        }
        self.rows = 0;
    }

    /// Rows completed so far.
    pub fn n_rows(&self) -> usize {
        self.rows
    }

    /// Set column `i` of the current row from a cell. A second value for
    /// the same column within one row (a duplicated JSON key) is ignored.
    pub fn set(&mut self, i: usize, cell: &Cell) -> Result<(), String> {
        let col = &mut self.cols[i];
        if col.len() > self.rows {
            return Ok(());
        }
        col.pad_to(self.rows);
        col.push_cell(cell)
    }

    /// True when column `i` already has a value in the current row.
    pub fn is_set(&self, i: usize) -> bool {
        self.cols[i].len() > self.rows
    }

    /// Finish the current row: unset columns become null.
    pub fn end_row(&mut self) {
        self.rows += 1;
        let n = self.rows;
        for c in &mut self.cols {
            c.pad_to(n);
        }
    }

    /// Drop a partly filled current row (on a parse error).
    pub fn discard_row(&mut self) {
        let n = self.rows;
        for c in &mut self.cols {
            c.truncate(n);
        }
    }

    /// Add a column (filled with nulls for existing rows).
    pub fn add_column(&mut self, name: &str, kind: Kind) -> usize {
        let mut c = Column::new(kind);
        c.pad_to(self.n_rows());
        self.names.push(name.to_string());
        self.cols.push(c);
        self.cols.len() - 1
    }

    /// Append the rows of another builder (columns matched by name; columns
    /// only one side has are null on the other side's rows).
    pub fn append(&mut self, mut other: TableBuilder) {
        other.discard_row();
        for (name, col) in other.names.into_iter().zip(other.cols) {
            let i = match self.index(&name) {
                Some(i) => i,
                None => self.add_column(&name, col.kind()),
            };
            self.cols[i].pad_to(self.rows);
            self.cols[i].extend(col);
        }
        self.rows += other.rows;
        let n = self.rows;
        for c in &mut self.cols {
            c.pad_to(n);
        }
    }

    pub fn finish(mut self) -> PolarsResult<DataFrame> {
        self.discard_row();
        let cols: Vec<polars::prelude::Column> = self
            .names
            .iter()
            .zip(self.cols)
            .map(|(n, c)| c.into_series(n).into())
            .collect();
        DataFrame::new_infer_height(cols)
    }
}

/// Build an empty frame with the given schema.
pub fn empty_frame<S: AsRef<str>>(spec: &[(S, Kind)]) -> DataFrame {
    TableBuilder::new(spec)
        .finish()
        .expect("an empty frame always builds")
}

/// Map source field names to columns of a [`TableBuilder`].
#[derive(Debug, Clone)]
pub struct FieldMap {
    keys: Vec<(String, usize)>,
}

impl FieldMap {
    /// `pairs` are (source key, output column name); columns are looked up
    /// in `t` (which must have them).
    pub fn new(t: &TableBuilder, pairs: &[(&str, &str)]) -> Self {
        FieldMap {
            keys: pairs
                .iter()
                .filter_map(|(src, out)| t.index(out).map(|i| (src.to_string(), i)))
                .collect(),
        }
    }

    pub fn get(&self, key: &str) -> Option<usize> {
        self.keys.iter().find(|(k, _)| k == key).map(|(_, i)| *i)
    }

    /// Set the column mapped from `key`, if any; unknown keys are ignored.
    pub fn set(&self, t: &mut TableBuilder, key: &str, cell: &Cell) -> Result<(), String> {
        match self.get(key) {
            Some(i) => t.set(i, cell).map_err(|e| format!("field {key:?}: {e}")),
            None => Ok(()),
        }
    }
}
