//! Seed 001, "parallel image processing (simulated)": eight images, each "processed" by a
//! 50 ms wait (100 ms in the original), first one after another, then with [`ThreadPool::map`]
//! on four workers. The results must be equal and in order; the report shows both timings and
//! the speed-up.

use std::time::Duration;

use crate::Run;
use amphi::time::Instant;
use amphi::{thread, Error, ThreadPool};

const IMAGES: usize = 8;
const WORK: Duration = Duration::from_millis(50);

fn process_image(image_path: String) -> Result<String, Error> {
    thread::sleep(WORK)?;
    Ok(format!("processed: {image_path}"))
}

pub(super) fn run(run: &mut Run) -> Result<(), Error> {
    let images: Vec<String> = (0..IMAGES).map(|i| format!("image_{i}.jpg")).collect();

    run.line("serial:");
    let start = Instant::now();
    let serial = images
        .iter()
        .cloned()
        .map(process_image)
        .collect::<Result<Vec<_>, _>>()?;
    let serial_time = start.elapsed();
    run.line(format!("  time: {:.2} s", serial_time.as_secs_f64()));

    run.line("4 workers:");
    let start = Instant::now();
    let pool = ThreadPool::new(4)?;
    let parallel = pool
        .map_chunked(images, process_image, 1)?
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    pool.close();
    pool.join()?;
    let parallel_time = start.elapsed();
    run.line(format!("  time: {:.2} s", parallel_time.as_secs_f64()));
    for line in &parallel[..3] {
        run.line(format!("  {line}"));
    }
    let speedup = serial_time.as_secs_f64() / parallel_time.as_secs_f64().max(1e-9);

    run.check(
        "parallel results equal the serial ones, in order",
        parallel == serial,
        format!(
            "serial {:.0} ms, 4 workers {:.0} ms: speed-up {speedup:.2}x",
            serial_time.as_secs_f64() * 1e3,
            parallel_time.as_secs_f64() * 1e3
        ),
    );
    Ok(())
}
