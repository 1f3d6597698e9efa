//! Build script: links libpython into the Rust test binaries, and only when
//! asked (`tools/cargo-py` sets `APPSTATS_TEST_LIBPYTHON`).
//!
//! The tests are built with the `python` feature and the exact PyO3
//! environment maturin uses, so they share one Polars build with the
//! extension; an extension module does not link libpython, a test
//! executable must.

fn main() {
    println!("cargo:rerun-if-env-changed=APPSTATS_TEST_LIBPYTHON");
    if let Ok(spec) = std::env::var("APPSTATS_TEST_LIBPYTHON") {
        // "<directory>:<library name>", e.g. "/usr/lib:python3.11"
        if let Some((dir, name)) = spec.rsplit_once(':') {
            println!("cargo:rustc-link-search=native={dir}");
            println!("cargo:rustc-link-lib=dylib={name}");
            println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
        }
    }
}
