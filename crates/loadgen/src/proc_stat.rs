//! CPU time and memory of a process, from /proc (Linux).

use std::time::Instant;

use anyhow::Context;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    pub at: Instant,
    /// User plus system CPU time of all the process's threads, in seconds.
    pub cpu_secs: f64,
    pub rss_kib: u64,
}

/// Samples `pid`, or this process when `None`.
pub(crate) fn sample(pid: Option<u32>) -> anyhow::Result<Sample> {
    let dir = match pid {
        Some(pid) => format!("/proc/{pid}"),
        None => "/proc/self".to_string(),
    };
    let stat = std::fs::read_to_string(format!("{dir}/stat"))
        .with_context(|| format!("reading {dir}/stat"))?;
    let status = std::fs::read_to_string(format!("{dir}/status"))
        .with_context(|| format!("reading {dir}/status"))?;
    Ok(Sample {
        at: Instant::now(),
        cpu_secs: cpu_secs(&stat).context("unexpected /proc stat format")?,
        rss_kib: rss_kib(&status).unwrap_or(0),
    })
}

/// utime + stime (fields 14 and 15) in seconds. The command name, field 2,
/// may hold spaces, so fields are counted after its closing parenthesis.
fn cpu_secs(stat: &str) -> Option<f64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf only reads a system constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks = if ticks > 0 { ticks as f64 } else { 100.0 };
    Some((utime + stime) as f64 / ticks)
}

fn rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let s = sample(None).unwrap();
        assert!(s.rss_kib > 0);
        assert!(s.cpu_secs >= 0.0);
        let stat = "12 (a b) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0";
        let expected = 300.0 / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        assert_eq!(cpu_secs(stat), Some(expected));
    }
}
