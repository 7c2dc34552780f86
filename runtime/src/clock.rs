//! Run ids and wall-clock timestamps (UTC), shared by the run loop and the steps that record them.

/// A new run id: UTC time, process id and milliseconds; unique per machine and sortable.
pub fn new_run_id() -> String {
    let now = chrono::Utc::now();
    format!(
        "run_{}_{:04x}{:03}",
        now.format("%Y%m%d%H%M%S"),
        std::process::id() & 0xffff,
        now.timestamp_subsec_millis()
    )
}

/// RFC 3339 UTC timestamp with milliseconds.
pub fn timestamp() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn run_ids_and_timestamps_sort_by_time() {
        let id = super::new_run_id();
        assert!(id.starts_with("run_20") && id.len() == 26, "{id}");
        let stamp = super::timestamp();
        assert!(
            stamp.len() == 24 && stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
            "{stamp}"
        );
    }
}
