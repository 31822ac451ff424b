//! The rule both command-line programs keep (`fieldcrm-server` and the device CLI `fieldcrm`):
//! every command and every argument says in `--help` what it is for.

/// The commands and arguments of `command`'s tree without a description, as `" root sub arg"`
/// paths: every command (the root too, for its global options), every option and positional
/// argument, flattened ones included; clap's own `help` and `version` are left out. Runs clap's
/// `debug_assert` first, so an inconsistent tree fails too.
pub fn undescribed(command: &clap::Command) -> Vec<String> {
    command.clone().debug_assert();
    let mut missing = Vec::new();
    walk(command, "", &mut missing);
    missing
}

fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
    let path = format!("{path} {}", command.get_name());
    if command.get_about().is_none() {
        missing.push(path.clone());
    }
    for arg in command.get_arguments() {
        let builtin = matches!(arg.get_id().as_str(), "help" | "version");
        if !builtin && arg.get_help().is_none() {
            missing.push(format!("{path} {}", arg.get_id()));
        }
    }
    for sub in command.get_subcommands() {
        if sub.get_name() != "help" {
            walk(sub, &path, missing);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_argument_or_command_without_help_is_named() {
        let command = clap::Command::new("tool")
            .about("a tool")
            .arg(
                clap::Arg::new("described")
                    .long("described")
                    .help("says what"),
            )
            .arg(clap::Arg::new("bare").long("bare"))
            .subcommand(clap::Command::new("quiet"));
        assert_eq!(undescribed(&command), [" tool bare", " tool quiet"]);
    }
}
