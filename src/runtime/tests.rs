#[test]
fn same_runtime_within_a_process() {
    let a = super::runtime() as *const _;
    let b = super::runtime() as *const _;
    assert_eq!(a, b);
}
