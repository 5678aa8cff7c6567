//! The binary's terminal: indicatif progress bars on standard error, log
//! lines above them, nothing with `--quiet`.

use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crypto_lab::progress::Progress;

/// Progress bars on standard error; log lines above them.
pub struct Terminal {
    quiet: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl Terminal {
    /// A terminal that shows everything, or only errors when `quiet`.
    pub fn new(quiet: bool) -> Self {
        Terminal {
            quiet,
            bar: Mutex::new(None),
        }
    }

    fn with_bar(&self, f: impl FnOnce(&mut Option<ProgressBar>)) {
        if let Ok(mut guard) = self.bar.lock() {
            f(&mut guard);
        }
    }
}

impl Progress for Terminal {
    fn start(&self, what: &str, total: u64) {
        if self.quiet {
            return;
        }
        let bar = if total == 0 {
            let b = ProgressBar::new_spinner();
            b.enable_steady_tick(std::time::Duration::from_millis(120));
            b.set_style(
                ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b
        } else {
            let b = ProgressBar::new(total);
            b.set_style(
                ProgressStyle::with_template(
                    "{msg:20} [{bar:30}] {pos}/{len} {elapsed} (eta {eta})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            b
        };
        bar.set_draw_target(ProgressDrawTarget::stderr());
        bar.set_message(what.to_string());
        self.with_bar(|slot| {
            if let Some(old) = slot.replace(bar) {
                old.finish_and_clear();
            }
        });
    }

    fn start_bytes(&self, what: &str, total: u64) {
        self.start(what, total);
        if total > 0 {
            self.with_bar(|slot| {
                if let Some(b) = slot {
                    b.set_style(
                        ProgressStyle::with_template(
                            "{msg:12} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} (eta {eta})",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                    );
                }
            });
        }
    }

    fn advance(&self, n: u64) {
        self.with_bar(|slot| {
            if let Some(b) = slot {
                b.inc(n);
            }
        });
    }

    fn log(&self, line: &str) {
        if self.quiet {
            return;
        }
        let mut printed = false;
        self.with_bar(|slot| {
            if let Some(b) = slot {
                b.suspend(|| eprintln!("{line}"));
                printed = true;
            }
        });
        if !printed {
            eprintln!("{line}");
        }
    }

    fn finish(&self) {
        self.with_bar(|slot| {
            if let Some(b) = slot.take() {
                b.finish_and_clear();
            }
        });
    }
}
