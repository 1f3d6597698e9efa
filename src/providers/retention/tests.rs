use super::*;
use crate::table::Cell;

#[test]
fn wide_pivot_keeps_dtype_and_order() {
    let mut long = TableBuilder::new(RETENTION_LONG);
    for (d, size, p, u) in [
        ("2024-03-01", Some(10), 1, Some(5)),
        ("2024-03-01", Some(10), 7, None),
        ("2024-03-02", None, 1, Some(4)),
    ] {
        long.set(0, &Cell::Str(d.into())).unwrap();
        long.set(1, &Cell::Str(d.into())).unwrap();
        long.set(2, &size.map_or(Cell::Null, Cell::Int)).unwrap();
        long.set(3, &Cell::Int(p)).unwrap();
        long.set(4, &u.map_or(Cell::Null, Cell::Int)).unwrap();
        long.end_row();
    }
    let wide = retention_wide(&long, "d").finish().unwrap();
    assert_eq!(
        wide.get_column_names(),
        ["cohort_date", "cohort_end", "cohort_size", "d1", "d7"]
    );
    assert_eq!(wide.height(), 2);
    assert_eq!(wide.column("d1").unwrap().i64().unwrap().get(1), Some(4));
    assert_eq!(wide.column("d7").unwrap().null_count(), 2);
    let empty = retention_wide(&TableBuilder::new(RETENTION_LONG), "d")
        .finish()
        .unwrap();
    assert_eq!(empty.width(), 3);
    assert_eq!(empty.height(), 0);
}
