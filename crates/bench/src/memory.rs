//! Idle memory: `civicpay demo` (the binary built beside this one) on a
//! fresh data folder, its resident set size read from /proc once it
//! answers and has settled, against the 60 MB target.

use crate::report::line;
use std::time::Duration;

/// A `kB` field of /proc/PID/status: `VmRSS:` now, `VmHWM:` at its peak.
pub(crate) fn status_kb(pid: u32, field: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The `civicpay` binary built beside this one.
pub(crate) fn binary() -> anyhow::Result<std::path::PathBuf> {
    let binary = std::env::current_exe()?.with_file_name("civicpay");
    anyhow::ensure!(
        binary.exists(),
        "build the binary first: cargo build --release (looked for {})",
        binary.display()
    );
    Ok(binary)
}

pub async fn run() -> anyhow::Result<()> {
    let binary = binary()?;
    let dir = std::env::temp_dir().join(format!("civicpay-bench-memory-{}", std::process::id()));
    let (portal, pay) = (free_port()?, free_port()?);
    let mut child = std::process::Command::new(&binary)
        .args([
            "demo",
            "--portal-addr",
            &format!("127.0.0.1:{portal}"),
            "--pay-addr",
            &format!("127.0.0.1:{pay}"),
        ])
        .env("CIVICPAY_DATA_DIR", &dir)
        .env("CIVICPAY_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", portal))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = status_kb(child.id(), "VmRSS:");
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    line(
        "idle RSS of civicpay demo (MB)",
        idle.map_or_else(|| "?".to_owned(), |kb| format!("{:.1}", kb as f64 / 1024.0)),
        "60 (target)".to_owned(),
        None,
    );
    Ok(())
}
