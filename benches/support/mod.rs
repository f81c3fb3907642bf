//! What every criterion benchmark in `benches/` shares: the configuration that BENCHMARKS.md
//! describes (0.5 s of warm-up, 2 s of measurement in 20 samples, command-line options on top).

use std::time::Duration;

use criterion::Criterion;

/// Criterion as every amphi benchmark runs it.
pub(crate) fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .configure_from_args()
}
