//! Lines for stdout. `println!` panics when stdout is a closed pipe (`fieldcrm customer list |
//! head -3`); a command whose reader has gone ends quietly with success instead, as other
//! command-line tools do. Everything the command changed is committed before it prints.

use std::io::Write;

/// Prints one line to stdout: `out!("{} of {}", shown, total)`.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))
    };
}
pub(crate) use out;

pub fn line(text: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    if let Err(err) = writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write the output: {err}");
        std::process::exit(1);
    }
}
