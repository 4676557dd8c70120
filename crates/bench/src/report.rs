//! How figures are printed: one line per figure with its limit and ratio.

use std::time::Duration;

pub fn machine() {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or_default().trim().to_owned())
        })
        .unwrap_or_default();
    println!("machine: {cores} cores, {model}");
}

pub fn rate(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(1e-9)
}

pub fn line(figure: &str, measured: String, limit: String, ratio: Option<f64>) {
    let ratio = ratio.map_or_else(|| "-".to_owned(), |r| format!("{:.0}%", r * 100.0));
    println!("{figure:<48} {measured:>22}   limit {limit:>22}   ratio {ratio}");
}
