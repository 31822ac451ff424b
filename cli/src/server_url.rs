//! The server address a user types: `http://` or `https://` as given; without a scheme,
//! `http://` for a server on this machine (a loopback host) and an error that names the scheme
//! for any other, since plain HTTP across a network would send the password in the clear.

use std::net::{Ipv4Addr, Ipv6Addr};

/// The base URL for `text` (no trailing slash), or what is wrong with it and what to add
/// (clap's value parser for `--server`, so a wrong one is refused with the usage).
pub fn server_url(text: &str) -> Result<String, String> {
    let text = text.trim();
    if let Some((scheme, rest)) = text.split_once("://") {
        let rest = rest.trim_end_matches('/');
        if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
            return Err(format!(
                "the scheme {scheme}:// is not one the server speaks: use https:// (or http:// on this machine)"
            ));
        }
        if rest.is_empty() {
            return Err("no host after the scheme".into());
        }
        return Ok(format!("{scheme}://{rest}"));
    }
    let text = text.trim_end_matches('/');
    let host = host_of(text);
    if host.is_empty() {
        return Err("no host: give e.g. https://crm.example.com".into());
    }
    if !is_loopback(host) {
        return Err(format!(
            "no scheme: add https:// (https://{text}); only a server on this machine may go without one"
        ));
    }
    // A bare IPv6 address (`::1`) needs brackets in a URL.
    if host == text && host.contains(':') {
        return Ok(format!("http://[{host}]"));
    }
    Ok(format!("http://{text}"))
}

/// The host of `host[:port][/path]`, `[v6][:port]` or a bare IPv6 address.
fn host_of(text: &str) -> &str {
    let authority = text.split('/').next().unwrap_or_default();
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    if authority.matches(':').count() > 1 {
        return authority; // a bare IPv6 address
    }
    authority.split(':').next().unwrap_or_default()
}

/// 127.0.0.0/8, ::1 (also as an IPv4-mapped address) and `localhost`.
fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Ok(v4) = host.parse::<Ipv4Addr>() {
        return v4.is_loopback();
    }
    match host.parse::<Ipv6Addr>() {
        Ok(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> String {
        match server_url(text) {
            Ok(url) => url,
            Err(err) => panic!("{text}: {err}"),
        }
    }

    fn err(text: &str) -> String {
        match server_url(text) {
            Ok(url) => panic!("{text} gave {url}"),
            Err(err) => err,
        }
    }

    #[test]
    fn loopback_without_a_scheme_is_plain_http() {
        assert_eq!(ok("127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(ok("127.1.2.3:8080/"), "http://127.1.2.3:8080");
        assert_eq!(ok("localhost:8080"), "http://localhost:8080");
        assert_eq!(ok("LOCALHOST"), "http://LOCALHOST");
        assert_eq!(ok("[::1]:8080"), "http://[::1]:8080");
        assert_eq!(ok("::1"), "http://[::1]");
        assert_eq!(ok("[::ffff:127.0.0.1]:80"), "http://[::ffff:127.0.0.1]:80");
    }

    #[test]
    fn a_scheme_given_is_kept() {
        assert_eq!(ok("http://127.0.0.1:8080/"), "http://127.0.0.1:8080");
        assert_eq!(ok("https://crm.example.com"), "https://crm.example.com");
        assert_eq!(ok("HTTP://10.0.0.5:8080"), "HTTP://10.0.0.5:8080");
    }

    #[test]
    fn other_hosts_without_a_scheme_are_errors_naming_it() {
        for text in [
            "crm.example.com",
            "10.0.0.5:8080",
            "128.0.0.1:8080",
            "localhost.example.com:8080",
            "[2001:db8::1]:8080",
            "0.0.0.0:8080",
        ] {
            let message = err(text);
            assert!(message.contains("add https://"), "{text}: {message}");
            assert!(message.contains(text), "{text}: {message}");
        }
        assert!(err("ftp://127.0.0.1").contains("ftp://"));
        assert!(err("http://").contains("no host"));
        assert!(err("").contains("no host"));
        assert!(err(":8080").contains("no host"));
    }
}
