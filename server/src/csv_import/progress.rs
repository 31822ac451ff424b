//! The import command's progress bar (`indicatif`): bytes of the file read, rows seen. Drawn
//! only when stderr is a terminal, so logs and pipes get none.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar over a file of `len` bytes; hidden unless stderr is a terminal.
pub fn progress_bar(len: u64) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(len), target);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg} (eta {eta})",
    ) {
        bar.set_style(style);
    }
    bar
}

/// What the import's progress callback does with the bar.
pub fn advance(bar: &ProgressBar, bytes: u64, rows: u64) {
    bar.set_position(bytes);
    bar.set_message(format!("{rows} rows"));
}
