//! The one place xtask spawns processes, so every failure names the command and shows its output.

use anyhow::{Context, Result, bail};

/// Runs a command to completion and returns its standard output.
pub fn run(command: &mut std::process::Command) -> Result<String> {
    let shown = format!("{command:?}");
    let output = command.output().with_context(|| format!("cannot start {shown}"))?;
    if !output.status.success() {
        bail!("{shown} failed ({}):\n{}", output.status, String::from_utf8_lossy(&output.stderr));
    }
    String::from_utf8(output.stdout).with_context(|| format!("{shown} printed something that is not UTF-8"))
}
