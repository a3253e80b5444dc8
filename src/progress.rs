//! Progress on stderr while provdiff downloads and fetches, when stderr is a terminal; nothing
//! otherwise (so logs and pipes stay clean).

use std::io::IsTerminal;
use std::time::Duration;

/// Shared by every task of one run.
#[derive(Debug, Clone)]
pub struct Progress {
    bars: Option<indicatif::MultiProgress>,
}

/// One task's spinner; finishing clears it.
#[derive(Debug)]
pub struct Task {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    pub fn new() -> Self {
        let visible = std::io::stderr().is_terminal() && std::env::var_os("PROVDIFF_NO_PROGRESS").is_none();
        Self { bars: visible.then(indicatif::MultiProgress::new) }
    }

    pub fn task(&self, message: String) -> Task {
        let bar = self.bars.as_ref().map(|bars| {
            let bar = bars.add(indicatif::ProgressBar::new_spinner());
            if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
                bar.set_style(style);
            }
            bar.set_message(message);
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Task { bar }
    }
}

impl Task {
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.finish();
    }
}
