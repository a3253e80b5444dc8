//! Progress bars on stderr while provdiff downloads and fetches, when stderr is a terminal; nothing
//! otherwise (so logs and pipes stay clean).

use std::io::IsTerminal;
use std::time::Duration;

use provdiff_core::{ProgressSink, Transferred};

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
    /// Where a library reports how far its transfer has come: the spinner turns into a bar of
    /// bytes (a download whose length is known) or of objects (a git fetch). `None` when nothing
    /// is shown.
    pub fn sink(&self) -> Option<ProgressSink> {
        let bar = self.bar.clone()?;
        Some(ProgressSink::new(move |transferred: Transferred| match transferred {
            Transferred { objects: Some((received, total)), bytes, .. } if total > 0 => {
                if bar.length() != Some(total) {
                    restyle(&bar, "{msg} [{bar:30}] {pos}/{len} objects, {prefix}");
                    bar.set_length(total);
                }
                bar.set_prefix(indicatif::HumanBytes(bytes).to_string());
                bar.set_position(received);
            }
            Transferred { total_bytes: Some(total), bytes, .. } => {
                if bar.length() != Some(total) {
                    restyle(&bar, "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec})");
                    bar.set_length(total);
                }
                bar.set_position(bytes);
            }
            Transferred { bytes, .. } => {
                if bar.position() == 0 && bytes > 0 {
                    restyle(&bar, "{spinner} {msg} {bytes} ({elapsed})");
                }
                bar.set_position(bytes);
            }
        }))
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn restyle(bar: &indicatif::ProgressBar, template: &str) {
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.finish();
    }
}
