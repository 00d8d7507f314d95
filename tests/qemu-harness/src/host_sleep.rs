//! The host's own timer, measured while the guest measures its wakeups:
//! a thread that sleeps 1 ms at a time whenever the guest's wakeup series
//! runs, so that `timer_wakeup_latency_us` has a host figure taken in the
//! same moments to be read against (QEMU's clock alarm is a host timer in
//! its main loop, so a guest wakeup can never be earlier than the host
//! wakes QEMU).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// What the guest prints before a wakeup series starts.
pub const SERIES_START: &str = "bench-phase: wakeups";
/// The start of the line it prints when a series ends.
pub const SERIES_END: &str = "bench: timer_wakeup_latency_us";

const SLEEP: Duration = Duration::from_millis(1);

#[derive(Default)]
struct Shared {
    sampling: AtomicBool,
    finished: AtomicBool,
    late_us: Mutex<Vec<u64>>,
}

/// The sampling thread.
pub struct HostSleeper {
    shared: Arc<Shared>,
    thread: JoinHandle<()>,
}

impl HostSleeper {
    pub fn start() -> HostSleeper {
        let shared = Arc::new(Shared::default());
        let mine = Arc::clone(&shared);
        let thread = thread::spawn(move || {
            while !mine.finished.load(Ordering::Acquire) {
                let deadline = Instant::now() + SLEEP;
                thread::sleep(SLEEP);
                let late = Instant::now().saturating_duration_since(deadline);
                if mine.sampling.load(Ordering::Acquire) {
                    let mut v = mine.late_us.lock().unwrap_or_else(|e| e.into_inner());
                    v.push(late.as_micros() as u64);
                }
            }
        });
        HostSleeper { shared, thread }
    }

    /// Follows the guest's console: samples between a series' start and
    /// its end line.
    pub fn follow(&self, line: &str) {
        if line.starts_with(SERIES_START) {
            self.shared.sampling.store(true, Ordering::Release);
        } else if line.starts_with(SERIES_END) {
            self.shared.sampling.store(false, Ordering::Release);
        }
    }

    /// Stops the thread; answers the bench line, if anything was sampled.
    pub fn finish(self) -> Option<String> {
        self.shared.finished.store(true, Ordering::Release);
        let _ = self.thread.join();
        let late = self
            .shared
            .late_us
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        summary(late)
    }
}

/// `bench: host_sleep_latency_us median M worst W over_1ms N of S`.
fn summary(mut late_us: Vec<u64>) -> Option<String> {
    if late_us.is_empty() {
        return None;
    }
    late_us.sort_unstable();
    let over = late_us.iter().filter(|&&l| l > 1_000).count();
    Some(format!(
        "bench: host_sleep_latency_us median {} worst {} over_1ms {over} of {}",
        late_us[late_us.len() / 2],
        late_us[late_us.len() - 1],
        late_us.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_gives_median_worst_and_count_over_a_millisecond() {
        assert_eq!(
            summary(vec![1_500, 20, 30, 40, 2_000]).as_deref(),
            Some("bench: host_sleep_latency_us median 40 worst 2000 over_1ms 2 of 5")
        );
        assert_eq!(summary(Vec::new()), None);
    }

    #[test]
    fn samples_only_inside_a_series() {
        let s = HostSleeper::start();
        thread::sleep(Duration::from_millis(20));
        s.follow(SERIES_START);
        thread::sleep(Duration::from_millis(20));
        s.follow("bench: timer_wakeup_latency_us median 1 worst 2 over_1ms 0");
        let line = s.finish().expect("samples inside the series");
        let total: usize = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!((1..=20).contains(&total), "{line}");
    }
}
