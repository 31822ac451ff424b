# Sourced by the scripts in this folder: makes sure a Rust toolchain new enough for the
# workspace (rust-version in Cargo.toml) is on PATH, with rustfmt and clippy.
# Machines of this project's kind come with rustup; Debian's own rustc is too old, so there is
# nothing to apt-get here, only a clear message when Rust is missing.

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo not found. FieldCRM needs Rust 1.90 or newer, installed with rustup." >&2
    exit 1
fi
required="1.90"
have="$(rustc --version | awk '{print $2}')"
if [ "$(printf '%s\n%s\n' "$required" "$have" | sort -V | head -n1)" != "$required" ]; then
    echo "error: rustc $have is too old; FieldCRM needs $required or newer (rustup update)." >&2
    exit 1
fi
if command -v rustup >/dev/null 2>&1; then
    rustup component add rustfmt clippy >/dev/null 2>&1 || true
fi
