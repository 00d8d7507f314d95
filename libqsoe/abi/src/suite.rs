//! How the in-guest suite is told which tests to run: the harness's
//! `make test T=a,b` becomes the boot argument `qsoe.tests=a,b`, which
//! taskman checks for its own tests and passes on to the process-side
//! suite as `QSOE_TESTS`.

/// Whether the test `name` is selected by `filter`: a comma-separated list
/// of name fragments, any of which may occur in the name (as `cargo test`
/// matches); a fragment ending in `$` must be the whole name. An empty
/// filter selects everything.
pub fn selects(filter: &str, name: &str) -> bool {
    let matches = |f: &str| match f.strip_suffix('$') {
        Some(whole) => name == whole,
        None => name.contains(f),
    };
    filter.is_empty() || filter.split(',').any(|f| !f.is_empty() && matches(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_any_of_which_may_match() {
        assert!(selects("", "ipc::pulse"));
        assert!(selects("ipc::pulse", "ipc::pulse"));
        assert!(!selects("ipc::pulse", "thread::pulse_channel_per_thread"));
        assert!(selects("smp,ipc::pulse", "smp::every_core_runs"));
        assert!(selects("smp,ipc::pulse", "ipc::pulse"));
        assert!(!selects("smp,ipc::pulse", "leak::fault_1000"));
        assert!(!selects(",", "leak::fault_1000"));
        assert!(selects("ipc::pulse$", "ipc::pulse"));
        assert!(!selects("ipc::pulse$", "ipc::pulse_any_channel"));
        assert!(!selects("$", "ipc::pulse"));
    }
}
