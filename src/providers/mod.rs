//! One module per provider. Providers depend on the core (`error`, `http`,
//! `table`), never on the sandbox or the Python bindings.

pub mod baidu;
pub mod common;
pub mod many;
pub mod mta;
pub mod retention;
pub mod tim;
