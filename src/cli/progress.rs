//! Progress of a plan run: one bar per loop nesting depth (epochs, then batches) with ETA, and
//! the time spent per operation kind (matrix products' rotations and products, polynomials,
//! bootstraps), logged with tracing at the end of each outermost trip.

use blindtune_runtime::backend::Backend;
use blindtune_runtime::executor::{Observer, TripBoundary};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::time::Duration;

pub struct Progress {
    multi: MultiProgress,
    bars: BTreeMap<usize, ProgressBar>,
    names: Vec<String>,
    pub seconds: BTreeMap<&'static str, f64>,
    /// wall seconds of each completed trip of the innermost loops
    pub trip_seconds: Vec<f64>,
    trip_start: Option<std::time::Instant>,
    innermost: usize,
}

impl Progress {
    /// `names`: what each loop depth counts (`epoch`, `batch`).
    pub fn new(names: &[&str], hidden: bool) -> Self {
        let multi = if hidden {
            MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
        } else {
            MultiProgress::new()
        };
        Progress {
            multi,
            bars: BTreeMap::new(),
            names: names.iter().map(|s| s.to_string()).collect(),
            seconds: BTreeMap::new(),
            trip_seconds: Vec::new(),
            trip_start: None,
            innermost: 0,
        }
    }

    fn depth(path: &str) -> usize {
        path.matches("loop").count().saturating_sub(1)
    }

    pub fn finish(&self) {
        for b in self.bars.values() {
            b.finish_and_clear();
        }
    }
}

impl<B: Backend> Observer<B> for Progress {
    fn on_trip(&mut self, path: &str, trip: u64, trips: u64) {
        let d = Self::depth(path);
        self.innermost = self.innermost.max(d);
        let name = self
            .names
            .get(d)
            .cloned()
            .unwrap_or_else(|| format!("loop {d}"));
        let bar = self.bars.entry(d).or_insert_with(|| {
            let b = self.multi.add(ProgressBar::new(trips));
            b.set_style(
                ProgressStyle::with_template(
                    "{prefix:>8} {bar:30} {pos}/{len} [{elapsed_precise}, ETA {eta}] {msg}",
                )
                .unwrap(),
            );
            b.set_prefix(name);
            b.enable_steady_tick(Duration::from_millis(500));
            b
        });
        if trip == 0 {
            bar.set_length(trips);
            bar.set_position(0);
            bar.reset_eta();
        }
        if d == self.innermost {
            self.trip_start = Some(std::time::Instant::now());
        }
    }

    fn on_op(&mut self, mnemonic: &'static str, elapsed: Duration) {
        *self.seconds.entry(mnemonic).or_default() += elapsed.as_secs_f64();
    }

    fn on_trip_end(
        &mut self,
        b: &TripBoundary<'_, B>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let d = Self::depth(b.path);
        if let Some(bar) = self.bars.get(&d) {
            bar.inc(1);
        }
        if d == self.innermost {
            if let Some(t) = self.trip_start.take() {
                self.trip_seconds.push(t.elapsed().as_secs_f64());
            }
        }
        if b.is_outermost() {
            let mut phases: Vec<(&&str, &f64)> = self.seconds.iter().collect();
            phases.sort_by(|a, b| b.1.total_cmp(a.1));
            let top: Vec<String> = phases
                .iter()
                .take(6)
                .map(|(k, v)| format!("{k} {v:.1}s"))
                .collect();
            tracing::info!(trip = b.completed(), phases = top.join(", "), "trip done");
        }
        Ok(())
    }
}
