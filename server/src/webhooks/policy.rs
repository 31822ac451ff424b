//! The rules of webhook registration and redelivery: which URLs are accepted, what a secret
//! must be, and when a failed delivery is tried again.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::http::Uri;

/// Longest webhook URL accepted.
pub const MAX_URL_CHARS: usize = 2_000;
/// Shortest and longest secret an admin may choose (a generated one has 64 hex characters).
pub const MIN_SECRET_CHARS: usize = 24;
pub const MAX_SECRET_CHARS: usize = 200;
/// Webhooks one organisation may register (each has a delivery task).
pub const MAX_WEBHOOKS: usize = 50;

/// How deliveries are tried (`serve --webhook-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryPolicy {
    /// Attempts of one event before it is parked.
    pub max_attempts: u32,
    /// The wait after the first failure; doubled after each further one.
    pub base_backoff: Duration,
    /// The longest wait between two attempts.
    pub max_backoff: Duration,
    /// A receiver that has not answered in full by then has failed this attempt.
    pub timeout: Duration,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        DeliveryPolicy {
            max_attempts: 8,
            base_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(600),
            timeout: Duration::from_secs(10),
        }
    }
}

impl DeliveryPolicy {
    /// The wait after failed attempt number `attempts` (1 after the first failure), or `None`
    /// when that was the last attempt and the delivery is parked.
    pub fn backoff_after(&self, attempts: u32) -> Option<Duration> {
        if attempts >= self.max_attempts {
            return None;
        }
        let doublings = attempts.saturating_sub(1).min(30);
        let wait = self.base_backoff.saturating_mul(1u32 << doublings);
        Some(wait.min(self.max_backoff))
    }
}

/// Why a webhook URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefusal {
    #[error("the URL does not parse")]
    Malformed,
    #[error("the URL is longer than {MAX_URL_CHARS} characters")]
    TooLong,
    #[error("only http and https URLs are accepted")]
    Scheme,
    #[error("the URL names no host")]
    NoHost,
    #[error("the URL carries credentials; put no user or password in it")]
    Credentials,
    #[error("the URL points at this server itself")]
    ThisServer,
}

/// A webhook URL checked for registration (and again before each delivery).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    pub https: bool,
    pub host: String,
    pub port: u16,
}

/// Whether `host` (as written in a URL) is this machine by name or loopback/unspecified address.
fn is_local(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return ip.is_loopback() || ip.is_unspecified();
    }
    let lower = bare.to_ascii_lowercase();
    let lower = lower.trim_end_matches('.');
    lower == "localhost" || lower.ends_with(".localhost")
}

/// Whether a resolved address is the server listening at `own`: its port, and loopback,
/// unspecified or its own IP.
pub fn is_this_server(addr: SocketAddr, own: SocketAddr) -> bool {
    addr.port() == own.port()
        && (addr.ip().is_loopback() || addr.ip().is_unspecified() || addr.ip() == own.ip())
}

/// Checks `url`: http or https, a host, no credentials, and not this server: `own` is the
/// address the server listens on (when known); a URL on this machine (loopback, `localhost`,
/// or the listening address) at the listening port is refused. Another port of loopback is
/// another program and is allowed.
pub fn check_url(url: &str, own: Option<SocketAddr>) -> Result<WebhookUrl, UrlRefusal> {
    if url.chars().count() > MAX_URL_CHARS {
        return Err(UrlRefusal::TooLong);
    }
    let uri: Uri = url.parse().map_err(|_| UrlRefusal::Malformed)?;
    let https = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        _ => return Err(UrlRefusal::Scheme),
    };
    let authority = uri.authority().ok_or(UrlRefusal::NoHost)?;
    if authority.as_str().contains('@') {
        return Err(UrlRefusal::Credentials);
    }
    let host = authority.host();
    if host.is_empty() {
        return Err(UrlRefusal::NoHost);
    }
    let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
    if let Some(own) = own
        && port == own.port()
    {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let this_server = match bare.parse::<IpAddr>() {
            Ok(ip) => is_this_server(SocketAddr::new(ip, port), own),
            Err(_) => is_local(host),
        };
        if this_server {
            return Err(UrlRefusal::ThisServer);
        }
    }
    Ok(WebhookUrl {
        https,
        host: host.to_owned(),
        port,
    })
}

/// Why an admin's own secret is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretRefusal {
    #[error("the secret must have {MIN_SECRET_CHARS} to {MAX_SECRET_CHARS} characters")]
    Length,
    #[error("the secret must be printable ASCII without spaces")]
    Characters,
}

pub fn check_secret(secret: &str) -> Result<(), SecretRefusal> {
    if !(MIN_SECRET_CHARS..=MAX_SECRET_CHARS).contains(&secret.len()) {
        return Err(SecretRefusal::Length);
    }
    if !secret.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(SecretRefusal::Characters);
    }
    Ok(())
}

/// A new secret: 32 random bytes in hex.
pub fn generate_secret() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own() -> Option<SocketAddr> {
        Some("127.0.0.1:8080".parse().unwrap())
    }

    #[test]
    fn http_and_https_urls_elsewhere_are_accepted() {
        let checked = check_url("https://hooks.example.org/fieldcrm", own()).unwrap();
        assert_eq!((checked.https, checked.port), (true, 443));
        let checked = check_url("http://10.0.0.5:9000/in", own()).unwrap();
        assert_eq!((checked.host.as_str(), checked.port), ("10.0.0.5", 9000));
        // Loopback on another port is another program (the tests' receivers are there).
        assert!(check_url("http://127.0.0.1:9001/hook", own()).is_ok());
        assert!(check_url("http://localhost:9001/hook", own()).is_ok());
    }

    #[test]
    fn other_schemes_and_malformed_urls_are_refused() {
        for url in [
            "ftp://example.org/",
            "file:///etc/passwd",
            "example.org/hook",
            "",
            "http://",
        ] {
            assert!(check_url(url, own()).is_err(), "{url}");
        }
        assert_eq!(
            check_url("gopher://example.org/", own()),
            Err(UrlRefusal::Scheme)
        );
        assert_eq!(
            check_url("http://user:pw@example.org/", own()),
            Err(UrlRefusal::Credentials)
        );
        let long = format!("http://example.org/{}", "a".repeat(MAX_URL_CHARS));
        assert_eq!(check_url(&long, own()), Err(UrlRefusal::TooLong));
    }

    #[test]
    fn this_server_is_refused_by_every_local_name_at_its_port() {
        for url in [
            "http://127.0.0.1:8080/v1/sync/push",
            "http://localhost:8080/",
            "http://LOCALHOST.:8080/",
            "http://[::1]:8080/",
            "http://0.0.0.0:8080/",
            "https://127.0.0.1:8080/",
        ] {
            assert_eq!(check_url(url, own()), Err(UrlRefusal::ThisServer), "{url}");
        }
        let on_all: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(
            check_url("http://127.0.0.1:8080/", Some(on_all)),
            Err(UrlRefusal::ThisServer)
        );
        let public: SocketAddr = "192.0.2.7:80".parse().unwrap();
        assert_eq!(
            check_url("http://192.0.2.7/", Some(public)),
            Err(UrlRefusal::ThisServer)
        );
        // What a name resolves to, checked before each delivery.
        let own = own().unwrap();
        assert!(is_this_server("127.0.0.1:8080".parse().unwrap(), own));
        assert!(is_this_server("[::1]:8080".parse().unwrap(), own));
        assert!(!is_this_server("127.0.0.1:8081".parse().unwrap(), own));
        assert!(!is_this_server("10.1.2.3:8080".parse().unwrap(), own));
    }

    #[test]
    fn the_backoff_doubles_up_to_its_cap_and_the_last_attempt_parks() {
        let policy = DeliveryPolicy {
            max_attempts: 6,
            base_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(5),
            timeout: Duration::from_secs(1),
        };
        let waits: Vec<_> = (1..=6).map(|n| policy.backoff_after(n)).collect();
        assert_eq!(
            waits,
            [
                Some(Duration::from_secs(1)),
                Some(Duration::from_secs(2)),
                Some(Duration::from_secs(4)),
                Some(Duration::from_secs(5)),
                Some(Duration::from_secs(5)),
                None,
            ]
        );
        let many = DeliveryPolicy {
            max_attempts: u32::MAX,
            ..policy
        };
        assert_eq!(many.backoff_after(200), Some(Duration::from_secs(5)));
    }

    #[test]
    fn secrets_need_a_length_and_printable_characters() {
        assert!(check_secret(&"x".repeat(MIN_SECRET_CHARS)).is_ok());
        assert_eq!(check_secret("short"), Err(SecretRefusal::Length));
        assert_eq!(
            check_secret(&format!("{} x", "y".repeat(30))),
            Err(SecretRefusal::Characters)
        );
        let generated = generate_secret().unwrap();
        assert_eq!(generated.len(), 64);
        assert!(check_secret(&generated).is_ok());
        assert_ne!(generated, generate_secret().unwrap());
    }
}
