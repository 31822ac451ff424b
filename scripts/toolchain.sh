# Sourced by the scripts in this folder: makes sure a Rust toolchain new enough for the
# workspace (rust-version in Cargo.toml) is on PATH, with rustfmt and clippy.
# Machines of this project's kind come with rustup; Debian's own rustc is too old, so Rust is
# not apt-get installed, only reported when missing. SQLCipher's vendored OpenSSL (core's
# feature `encryption`, always on in the bindings, so in every workspace build) is configured
# with perl, core modules such as IPC::Cmd included, and built with make: those are installed
# with apt-get where missing (Debian's perl-base alone lacks the modules).

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo not found. FieldCRM needs Rust 1.90 or newer, installed with rustup." >&2
    exit 1
fi
# CI builds a clean clone once: incremental caches would never be read again, and they are the
# largest part of target/ after the test binaries.
if [ "${CI:-}" = "true" ]; then
    export CARGO_INCREMENTAL=0
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
if ! command -v make >/dev/null 2>&1 || ! perl -MIPC::Cmd -MFile::Compare -e 1 >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
        echo "Installing perl and make for OpenSSL's build (apt-get)..." >&2
        sudo_cmd=()
        if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
        "${sudo_cmd[@]}" apt-get update -qq
        DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq perl make >/dev/null
    else
        echo "error: building OpenSSL for SQLCipher needs perl (with its core modules) and make." >&2
        exit 1
    fi
fi
