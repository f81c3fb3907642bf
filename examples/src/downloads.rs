//! Seed 002, "two downloads": two threads "download" at once, so the total time is near the
//! longer download, not the sum of both.
//!
//! ```python
//! def download(filename):
//!     print('Start download %s...' % filename)
//!     time_to_download = randint(5, 10)
//!     sleep(time_to_download)
//!     print('%s Complete! Total time spent:  %d seconds' % (filename, time_to_download))
//! t1 = Thread(target=download, args=('Python从入门到住院.pdf',)); t1.start()
//! t2 = Thread(target=download, args=('Peking Hot.avi',)); t2.start()
//! t1.join(); t2.join()
//! print('Total time spent:  %.2f seconds.' % (end - start))
//! ```
//!
//! The downloads are sleeps of different, fixed lengths (shorter than the seed's 5-10 s).
//! Checks, the seed's claim as bounds: the total is at least the longer download (both ran to
//! the end; within 0.9 of it, for timed waits that wake a hair early) and below the sum of both (they overlapped; one after the other it would take the
//! sum). The report shows the three timings.

use std::time::Duration;

use crate::Run;
use amphi::time::Instant;
use amphi::{thread, Error};

const DOWNLOADS: [(&str, Duration); 2] = [
    ("Python从入门到住院.pdf", Duration::from_millis(500)),
    ("Peking Hot.avi", Duration::from_millis(1500)),
];

/// The lower bound's allowance for a timed sleep that wakes a hair early (a browser's timed
/// wait rounds to the millisecond): 0.9 of the longer download.
const CLOCK_TOLERANCE: f64 = 0.9;

pub(super) fn run(run: &mut Run) -> Result<(), Error> {
    let start = Instant::now();
    let downloads = DOWNLOADS
        .iter()
        .map(|&(filename, time_to_download)| {
            let out = run.out().clone();
            thread::Builder::new()
                .name(format!("download {filename}"))
                .spawn(move || {
                    out.line(format!("Start download {filename}..."));
                    thread::sleep(time_to_download)?;
                    out.line(format!(
                        "{filename} Complete! Time spent: {:.2} seconds",
                        time_to_download.as_secs_f64()
                    ));
                    Ok::<_, Error>(())
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    for download in downloads {
        download.join()??;
    }
    let total = start.elapsed();
    run.line(format!(
        "Total time spent: {:.2} seconds.",
        total.as_secs_f64()
    ));

    let longer = DOWNLOADS.iter().map(|(_, d)| *d).max().unwrap_or_default();
    let sum: Duration = DOWNLOADS.iter().map(|(_, d)| *d).sum();
    run.check(
        "longer download <= total < sum of both downloads",
        longer.mul_f64(CLOCK_TOLERANCE) <= total && total < sum,
        format!(
            "total {:.0} ms; longer {:.0} ms; sum {:.0} ms",
            total.as_secs_f64() * 1000.0,
            longer.as_secs_f64() * 1000.0,
            sum.as_secs_f64() * 1000.0
        ),
    );
    Ok(())
}
