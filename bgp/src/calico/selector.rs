//! Calico's label selector language (libcalico-go `selector`), parsed with
//! nom and matched against a node's labels.
//!
//! ```text
//! or      := and ( "||" and )*            lowest precedence
//! and     := unary ( "&&" unary )*
//! unary   := "!" unary | primary
//! primary := "(" or ")" | "all()" | "has(" label ")"
//!          | label ( "==" | "!=" | "contains" | "starts with" | "ends with" ) string
//!          | label ( "in" | "not in" ) "{" [ string ( "," string )* ] "}"
//! string  := '...' | "..."
//! ```
//!
//! As in Calico: an empty (or all-whitespace) selector is `all()`;
//! `k != 'v'` and `k not in {...}` also match when `k` is absent; `==`,
//! `in`, `contains`, `starts with` and `ends with` need the label present.

use std::fmt;

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while, take_while1};
use nom::character::complete::{char, multispace0, multispace1};
use nom::combinator::{cut, map};
use nom::multi::separated_list0;
use nom::sequence::{delimited, preceded};
use nom::{IResult, Parser};

use super::resources::Labels;

/// A parsed selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// `all()`, or the empty selector.
    All,
    /// `has(k)`.
    Has(String),
    /// `k == 'v'`.
    Eq(String, String),
    /// `k != 'v'`.
    Ne(String, String),
    /// `k in {...}`.
    In(String, Vec<String>),
    /// `k not in {...}`.
    NotIn(String, Vec<String>),
    /// `k contains 'v'`.
    Contains(String, String),
    /// `k starts with 'v'`.
    StartsWith(String, String),
    /// `k ends with 'v'`.
    EndsWith(String, String),
    /// `!e`.
    Not(Box<Selector>),
    /// `a && b && ...`.
    And(Vec<Selector>),
    /// `a || b || ...`.
    Or(Vec<Selector>),
}

/// Why a selector does not parse, and at which byte offset.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("selector {selector:?}: {message} at position {position}")]
pub struct SelectorError {
    /// The selector text.
    pub selector: String,
    /// Byte offset of the problem.
    pub position: usize,
    /// What was expected.
    pub message: String,
}

/// Deepest parenthesis nesting accepted (keeps the recursive parser's stack
/// bounded on hostile input).
const MAX_DEPTH: usize = 64;

impl Selector {
    /// Parses a selector.
    pub fn parse(text: &str) -> Result<Selector, SelectorError> {
        let fail = |position: usize, message: &str| SelectorError {
            selector: text.to_owned(),
            position,
            message: message.to_owned(),
        };
        if text.trim().is_empty() {
            return Ok(Selector::All);
        }
        if let Some(pos) = too_deep(text) {
            return Err(fail(pos, "parentheses nested too deeply"));
        }
        match delimited(multispace0, or_expr, multispace0).parse(text) {
            Ok(("", sel)) => Ok(sel),
            Ok((rest, _)) => Err(fail(text.len() - rest.len(), "unexpected content")),
            Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
                Err(fail(text.len() - e.input.len(), "expected an expression"))
            }
            Err(nom::Err::Incomplete(_)) => Err(fail(text.len(), "unexpected end")),
        }
    }

    /// Whether `labels` match.
    pub fn matches(&self, labels: &Labels) -> bool {
        let get = |k: &String| labels.get(k);
        match self {
            Selector::All => true,
            Selector::Has(k) => labels.contains_key(k),
            Selector::Eq(k, v) => get(k) == Some(v),
            Selector::Ne(k, v) => get(k) != Some(v),
            Selector::In(k, set) => get(k).is_some_and(|v| set.contains(v)),
            Selector::NotIn(k, set) => !get(k).is_some_and(|v| set.contains(v)),
            Selector::Contains(k, s) => get(k).is_some_and(|v| v.contains(s.as_str())),
            Selector::StartsWith(k, s) => get(k).is_some_and(|v| v.starts_with(s.as_str())),
            Selector::EndsWith(k, s) => get(k).is_some_and(|v| v.ends_with(s.as_str())),
            Selector::Not(e) => !e.matches(labels),
            Selector::And(es) => es.iter().all(|e| e.matches(labels)),
            Selector::Or(es) => es.iter().any(|e| e.matches(labels)),
        }
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |s: &[String]| s.iter().map(|v| format!("'{v}'")).collect::<Vec<_>>().join(",");
        let join = |f: &mut fmt::Formatter<'_>, es: &[Selector], op: &str| {
            let parts: Vec<String> = es.iter().map(|e| format!("({e})")).collect();
            f.write_str(&parts.join(op))
        };
        match self {
            Selector::All => f.write_str("all()"),
            Selector::Has(k) => write!(f, "has({k})"),
            Selector::Eq(k, v) => write!(f, "{k} == '{v}'"),
            Selector::Ne(k, v) => write!(f, "{k} != '{v}'"),
            Selector::In(k, s) => write!(f, "{k} in {{{}}}", set(s)),
            Selector::NotIn(k, s) => write!(f, "{k} not in {{{}}}", set(s)),
            Selector::Contains(k, v) => write!(f, "{k} contains '{v}'"),
            Selector::StartsWith(k, v) => write!(f, "{k} starts with '{v}'"),
            Selector::EndsWith(k, v) => write!(f, "{k} ends with '{v}'"),
            Selector::Not(e) => write!(f, "!({e})"),
            Selector::And(es) => join(f, es, " && "),
            Selector::Or(es) => join(f, es, " || "),
        }
    }
}

/// The offset where parentheses (outside string literals) nest deeper than
/// [`MAX_DEPTH`], if they do.
fn too_deep(text: &str) -> Option<usize> {
    let (mut depth, mut quote) = (0usize, None);
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(i);
                }
            }
            (None, ')') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

fn ws<'a, O>(
    p: impl Parser<&'a str, Output = O, Error = nom::error::Error<&'a str>>,
) -> impl Parser<&'a str, Output = O, Error = nom::error::Error<&'a str>> {
    delimited(multispace0, p, multispace0)
}

fn or_expr(i: &str) -> IResult<&str, Selector> {
    let (i, first) = and_expr(i)?;
    let (i, mut rest) = nom::multi::many0(preceded(ws(tag("||")), cut(and_expr))).parse(i)?;
    if rest.is_empty() {
        return Ok((i, first));
    }
    rest.insert(0, first);
    Ok((i, Selector::Or(rest)))
}

fn and_expr(i: &str) -> IResult<&str, Selector> {
    let (i, first) = unary(i)?;
    let (i, mut rest) = nom::multi::many0(preceded(ws(tag("&&")), cut(unary))).parse(i)?;
    if rest.is_empty() {
        return Ok((i, first));
    }
    rest.insert(0, first);
    Ok((i, Selector::And(rest)))
}

/// `!` prefixes are counted in a loop, so a long run of them cannot
/// exhaust the stack.
fn unary(mut i: &str) -> IResult<&str, Selector> {
    let mut nots = 0usize;
    loop {
        let (rest, _) = multispace0(i)?;
        match rest.strip_prefix('!') {
            Some(after) => {
                nots += 1;
                i = after;
            }
            None => {
                i = rest;
                break;
            }
        }
    }
    let (i, mut sel) = primary(i)?;
    for _ in 0..nots {
        sel = Selector::Not(Box::new(sel));
    }
    Ok((i, sel))
}

fn primary(i: &str) -> IResult<&str, Selector> {
    let (i, _) = multispace0(i)?;
    alt((
        delimited(char('('), ws(or_expr), cut(char(')'))),
        map((tag("all"), ws(char('(')), char(')')), |_| Selector::All),
        map((tag("has"), ws(char('(')), cut(ws(label)), cut(char(')'))), |(_, _, k, _)| {
            Selector::Has(k.to_owned())
        }),
        comparison,
    ))
    .parse(i)
}

fn comparison(i: &str) -> IResult<&str, Selector> {
    let (i, key) = label(i)?;
    let (i, _) = multispace0(i)?;
    let key = key.to_owned();
    alt((
        map(preceded(tag("=="), cut(ws(string))), {
            let key = key.clone();
            move |v| Selector::Eq(key.clone(), v)
        }),
        map(preceded(tag("!="), cut(ws(string))), {
            let key = key.clone();
            move |v| Selector::Ne(key.clone(), v)
        }),
        map(preceded((tag("not"), multispace1, tag("in")), cut(ws(set))), {
            let key = key.clone();
            move |v| Selector::NotIn(key.clone(), v)
        }),
        map(preceded(tag("in"), cut(ws(set))), {
            let key = key.clone();
            move |v| Selector::In(key.clone(), v)
        }),
        map(preceded(tag("contains"), cut(ws(string))), {
            let key = key.clone();
            move |v| Selector::Contains(key.clone(), v)
        }),
        map(preceded((tag("starts"), multispace1, tag("with")), cut(ws(string))), {
            let key = key.clone();
            move |v| Selector::StartsWith(key.clone(), v)
        }),
        map(preceded((tag("ends"), multispace1, tag("with")), cut(ws(string))), {
            let key = key.clone();
            move |v| Selector::EndsWith(key.clone(), v)
        }),
    ))
    .parse(i)
}

/// A label key: letters, digits, `_`, `.`, `/`, `-` (Kubernetes label keys,
/// with their DNS prefix).
fn label(i: &str) -> IResult<&str, &str> {
    take_while1(|c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'))(i)
}

fn string(i: &str) -> IResult<&str, String> {
    map(
        alt((
            delimited(char('\''), take_while(|c| c != '\''), char('\'')),
            delimited(char('"'), take_while(|c| c != '"'), char('"')),
        )),
        str::to_owned,
    )
    .parse(i)
}

fn set(i: &str) -> IResult<&str, Vec<String>> {
    delimited(char('{'), ws(separated_list0(ws(char(',')), string)), cut(char('}'))).parse(i)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn selectors_match_as_calico_defines_them() {
        let rr = labels(&[("routeReflector", "true"), ("rack", "a")]);
        let plain = labels(&[("rack", "b")]);
        let table: &[(&str, bool, bool)] = &[
            // selector, matches rr, matches plain
            ("", true, true),
            ("   ", true, true),
            ("all()", true, true),
            ("has(routeReflector)", true, false),
            ("!has(routeReflector)", false, true),
            ("routeReflector == 'true'", true, false),
            ("routeReflector == \"true\"", true, false),
            ("routeReflector != 'true'", false, true),
            ("rack in {'a','c'}", true, false),
            ("rack not in { 'a' }", false, true),
            ("missing not in {'a'}", true, true),
            ("missing != 'a'", true, true),
            ("missing in {}", false, false),
            ("rack contains 'a'", true, false),
            ("rack starts with 'b'", false, true),
            ("rack ends with 'a'", true, false),
            ("has(rack) && !has(routeReflector)", false, true),
            ("has(routeReflector) || rack == 'b'", true, true),
            // && binds tighter than ||.
            ("rack == 'b' || has(routeReflector) && rack == 'x'", false, true),
            ("(rack == 'b' || has(routeReflector)) && rack == 'x'", false, false),
            ("!!has(rack)", true, true),
            ("!(has(rack) && rack == 'a')", false, true),
            ("kubernetes.io/hostname == 'x'", false, false),
        ];
        for (text, want_rr, want_plain) in table {
            let sel = Selector::parse(text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(sel.matches(&rr), *want_rr, "{text} on rr");
            assert_eq!(sel.matches(&plain), *want_plain, "{text} on plain");
            // The rendering parses back to the same selector.
            assert_eq!(Selector::parse(&sel.to_string()).unwrap(), sel, "{text}");
        }
    }

    #[test]
    fn bad_selectors_are_refused_with_the_position() {
        let table: &[(&str, usize)] = &[
            ("has(", 4),
            ("a ==", 4),
            ("a == 'x' &&", 11),
            ("a == 'x' b", 9),
            ("(a == 'x'", 9),
            ("a in {'x'", 9),
            ("a = 'x'", 2),
            ("== 'x'", 0),
        ];
        for (text, pos) in table {
            let e = Selector::parse(text).unwrap_err();
            assert_eq!(e.position, *pos, "{text}: {e}");
        }
        let deep = "(".repeat(1000);
        assert!(Selector::parse(&deep).is_err());
    }

    proptest! {
        #[test]
        fn parsing_never_panics(text in ".{0,64}") {
            let _ = Selector::parse(&text);
        }

        #[test]
        fn parsing_selector_shaped_text_never_panics(
            text in "[a-z!&|(){}'\" ,=]{0,64}"
        ) {
            let _ = Selector::parse(&text);
        }
    }
}
