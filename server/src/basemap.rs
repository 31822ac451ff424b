//! The dashboard's base map: an optional tile source (`--map-tiles`, `--map-attribution`),
//! checked at startup. Without one the route map is drawn on a plain grid and the page loads
//! nothing from another host; with one, the page may load images from the tile host only.

/// Longest tile URL template accepted.
const MAX_TEMPLATE_CHARS: usize = 2_048;
/// Longest attribution accepted.
const MAX_ATTRIBUTION_CHARS: usize = 300;
/// The placeholders the template must carry, each exactly once.
const REQUIRED_PLACEHOLDERS: [&str; 3] = ["{z}", "{x}", "{y}"];
/// `{r}`: Leaflet's `@2x` on high-density screens, for sources that have such tiles.
const OPTIONAL_PLACEHOLDERS: [&str; 1] = ["{r}"];

/// A raster tile URL template such as `https://tiles.example.org/{z}/{x}/{y}.png`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileTemplate {
    template: String,
    /// `scheme://host[:port]`: the one other origin the dashboard may load images from.
    origin: String,
}

impl TileTemplate {
    /// Checks a template (the value parser of `--map-tiles`): an absolute `http` or `https`
    /// URL whose host is a name or an IPv4 address (a content security policy cannot name an
    /// IPv6 literal), without user information, with `{z}`, `{x}` and `{y}` once each and no
    /// other placeholder than `{r}`.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.len() > MAX_TEMPLATE_CHARS {
            return Err(format!("longer than {MAX_TEMPLATE_CHARS} characters"));
        }
        if let Some(c) = text
            .chars()
            .find(|c| !c.is_ascii_graphic() || matches!(c, '"' | '\'' | '<' | '>' | '\\' | '`'))
        {
            return Err(format!(
                "the character {c:?} is not allowed in a URL template"
            ));
        }
        let (scheme, rest) = text
            .split_once("://")
            .filter(|(scheme, _)| matches!(*scheme, "http" | "https"))
            .ok_or("expected an http:// or https:// URL")?;
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        if host.is_empty()
            || !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            || host.starts_with(['.', '-'])
            || host.ends_with(['.', '-'])
        {
            return Err(format!(
                "the host {authority:?} must be a host name or an IPv4 address \
                 (no user, no placeholder, no IPv6 literal)"
            ));
        }
        if let Some(port) = port
            && port.parse::<u16>().map_or(true, |p| p == 0)
        {
            return Err(format!("the port {port:?} is not a port number"));
        }
        for placeholder in REQUIRED_PLACEHOLDERS {
            if path.matches(placeholder).count() != 1 {
                return Err(format!(
                    "the path must contain {placeholder} exactly once (placeholders: {{z}}, {{x}}, {{y}}, and {{r}} for @2x tiles)"
                ));
            }
        }
        let mut rest = path.to_owned();
        for placeholder in REQUIRED_PLACEHOLDERS.iter().chain(&OPTIONAL_PLACEHOLDERS) {
            rest = rest.replace(placeholder, "");
        }
        if rest.contains(['{', '}']) {
            return Err("unknown placeholder: only {z}, {x}, {y} and {r} are filled in".to_owned());
        }
        Ok(Self {
            origin: format!("{scheme}://{}", authority.to_ascii_lowercase()),
            template: text.to_owned(),
        })
    }

    /// The template as given.
    pub fn as_str(&self) -> &str {
        &self.template
    }

    /// `scheme://host[:port]` of the tile host.
    pub fn origin(&self) -> &str {
        &self.origin
    }
}

/// Checks an attribution (the value parser of `--map-attribution`): one line of plain text,
/// shown as text (never as HTML) in the corner of the map.
pub fn attribution(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty attribution".into());
    }
    if text.chars().count() > MAX_ATTRIBUTION_CHARS {
        return Err(format!("longer than {MAX_ATTRIBUTION_CHARS} characters"));
    }
    if text.chars().any(char::is_control) {
        return Err("an attribution is one line of text".into());
    }
    Ok(text.to_owned())
}

/// What the dashboard's route map is drawn on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Basemap {
    /// `None`: the offline grid.
    pub tiles: Option<TileTemplate>,
    /// Shown in the map's corner when tiles are drawn.
    pub attribution: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_names_its_origin() {
        let t = TileTemplate::parse("https://Tiles.example.org/osm/{z}/{x}/{y}{r}.png?key=abc")
            .unwrap();
        assert_eq!(t.origin(), "https://tiles.example.org");
        assert_eq!(
            t.as_str(),
            "https://Tiles.example.org/osm/{z}/{x}/{y}{r}.png?key=abc"
        );
        let local = TileTemplate::parse("http://127.0.0.1:8099/tiles/{z}/{x}/{y}.png").unwrap();
        assert_eq!(local.origin(), "http://127.0.0.1:8099");
    }

    #[test]
    fn bad_templates_are_refused_with_the_reason() {
        for (template, reason) in [
            ("tiles.example.org/{z}/{x}/{y}.png", "http://"),
            ("ftp://tiles.example.org/{z}/{x}/{y}.png", "http://"),
            ("https://tiles.example.org/{z}/{x}.png", "{y}"),
            ("https://tiles.example.org/{z}/{x}/{y}/{y}.png", "{y}"),
            ("https://{s}.tile.example.org/{z}/{x}/{y}.png", "host"),
            ("https://user@tiles.example.org/{z}/{x}/{y}.png", "host"),
            ("https://[::1]:8080/{z}/{x}/{y}.png", "host"),
            ("https://:8080/{z}/{x}/{y}.png", "host"),
            ("https://tiles.example.org:99999/{z}/{x}/{y}.png", "port"),
            ("https://tiles.example.org:/{z}/{x}/{y}.png", "port"),
            (
                "https://tiles.example.org/{z}/{x}/{y}.png?style={style}",
                "placeholder",
            ),
            (
                "https://tiles.example.org/{z}/{x}/{y}.png; script-src *",
                "' '",
            ),
            ("https://tiles.example.org/{z}/{x}/{y}.png\"", "'\"'"),
        ] {
            let err = TileTemplate::parse(template).unwrap_err();
            assert!(err.contains(reason), "{template}: {err}");
        }
        let long = format!(
            "https://t.example.org/{}/{{z}}/{{x}}/{{y}}",
            "a".repeat(2_100)
        );
        assert!(TileTemplate::parse(&long).unwrap_err().contains("longer"));
    }

    #[test]
    fn an_attribution_is_one_line_of_text() {
        assert_eq!(
            attribution("  © OpenStreetMap contributors ").unwrap(),
            "© OpenStreetMap contributors"
        );
        assert!(attribution("").is_err());
        assert!(attribution("a\nb").is_err());
        assert!(attribution(&"x".repeat(301)).is_err());
    }
}
