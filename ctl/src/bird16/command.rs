//! The commands of BIRD 1.6's CLI that Calico's tools and operators send,
//! parsed from one line. Anything else is BIRD's `9001 syntax error`, as
//! is an empty line and an abbreviation (`sh pro`): abbreviations are
//! expanded by `birdcl`, never by the daemon.

use std::net::IpAddr;

use ipnet::IpNet;

/// One parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `show status`.
    ShowStatus,
    /// `show protocols [all] [NAME | "PATTERN"]`.
    ShowProtocols {
        /// `all`: the `1006` detail block after each row.
        all: bool,
        /// A protocol name, or a quoted pattern with `*` and `?`.
        name: Option<String>,
    },
    /// `show route [all] [count] [primary] [protocol NAME] [PREFIX | for ADDR]`.
    ShowRoute(RouteFilter),
    /// Not a command this daemon knows: `9001 syntax error`.
    SyntaxError,
}

/// The options of `show route`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteFilter {
    /// `all`: each route's type and attributes after its row.
    pub all: bool,
    /// `count`: one `0014` line instead of the rows.
    pub count: bool,
    /// `primary`: only the selected route of each network.
    pub primary: bool,
    /// `protocol NAME`: only routes from that protocol.
    pub protocol: Option<String>,
    /// `PREFIX`: that network only.
    pub prefix: Option<IpNet>,
    /// `for ADDR`: the longest prefix holding the address.
    pub for_addr: Option<IpAddr>,
}

impl Command {
    /// Parses one line (without its `\n`; a trailing `\r` is ignored).
    pub fn parse(line: &str) -> Command {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["show", "status"] => Command::ShowStatus,
            ["show", "protocols", rest @ ..] => parse_protocols(rest),
            ["show", "route", rest @ ..] => parse_route(rest),
            _ => Command::SyntaxError,
        }
    }

    /// Whether the reply needs the routes (the shell fetches them only then).
    pub fn needs_routes(&self) -> bool {
        matches!(self, Command::ShowRoute(_))
    }
}

fn parse_protocols(rest: &[&str]) -> Command {
    let (all, rest) = match rest {
        ["all", tail @ ..] => (true, tail),
        _ => (false, rest),
    };
    match rest {
        [] => Command::ShowProtocols { all, name: None },
        [name] if valid_name(name) => {
            Command::ShowProtocols { all, name: Some((*name).to_owned()) }
        }
        _ => Command::SyntaxError,
    }
}

fn parse_route(rest: &[&str]) -> Command {
    let mut f = RouteFilter::default();
    let mut words = rest.iter();
    while let Some(w) = words.next() {
        match *w {
            "all" if !f.all => f.all = true,
            "count" if !f.count => f.count = true,
            "primary" if !f.primary => f.primary = true,
            "protocol" if f.protocol.is_none() => match words.next() {
                Some(n) if valid_name(n) && !n.starts_with('"') => {
                    f.protocol = Some((*n).to_owned())
                }
                _ => return Command::SyntaxError,
            },
            "for" if f.for_addr.is_none() && f.prefix.is_none() => {
                match words.next().and_then(|a| a.parse().ok()) {
                    Some(a) => f.for_addr = Some(a),
                    None => return Command::SyntaxError,
                }
            }
            w if f.prefix.is_none() && f.for_addr.is_none() => match w.parse::<IpNet>() {
                Ok(p) => f.prefix = Some(p.trunc()),
                Err(_) => return Command::SyntaxError,
            },
            _ => return Command::SyntaxError,
        }
    }
    Command::ShowRoute(f)
}

/// A protocol name (BIRD symbol) or a quoted pattern.
fn valid_name(w: &str) -> bool {
    if let Some(inner) = w.strip_prefix('"').and_then(|w| w.strip_suffix('"')) {
        return !inner.contains('"');
    }
    let mut chars = w.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// BIRD's `patmatch`: `*` any run, `?` any one character.
pub(super) fn pattern_matches(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calico_commands_parse() {
        assert_eq!(Command::parse("show status"), Command::ShowStatus);
        assert_eq!(
            Command::parse("show protocols"),
            Command::ShowProtocols { all: false, name: None }
        );
        assert_eq!(
            Command::parse("show protocols all Mesh_10_0_0_2"),
            Command::ShowProtocols { all: true, name: Some("Mesh_10_0_0_2".into()) }
        );
        assert_eq!(Command::parse("show route"), Command::ShowRoute(RouteFilter::default()));
        let Command::ShowRoute(f) = Command::parse("show route protocol Mesh_1 count") else {
            panic!()
        };
        assert!(f.count);
        assert_eq!(f.protocol.as_deref(), Some("Mesh_1"));
    }

    #[test]
    fn empty_lines_abbreviations_and_unknown_words_are_syntax_errors() {
        for l in
            ["", "   ", "sh pro", "foo bar", "show", "show route all all", "show route 10.0.0.0/33"]
        {
            assert_eq!(Command::parse(l), Command::SyntaxError, "{l:?}");
        }
    }

    #[test]
    fn patterns_match_as_birds_patmatch() {
        assert!(pattern_matches("Mesh*", "Mesh_10_0_0_2"));
        assert!(pattern_matches("Node_?", "Node_1"));
        assert!(!pattern_matches("Mesh*", "Node_1"));
    }
}
