//! SQL text and error messages as `monitor` shows them: literals replaced by `?`, comments
//! dropped, whitespace collapsed, long text cut with a visible marker, so parameter values and
//! literals (which hold personal data and secrets) never reach a log line, a report or an
//! exporter. Every failing call's message goes through [`error_message`]; the plan analysis in
//! `query` reads statements with the same tokenizer.
//!
//! ```
//! use monitor_core::sql::normalize;
//! assert_eq!(
//!     normalize("SELECT * FROM users WHERE email = 'ann@example.com' AND age > 42 -- adult"),
//!     "SELECT * FROM users WHERE email = ? AND age > ?"
//! );
//! // Placeholders stay as written.
//! assert_eq!(normalize("select id from t where a = $1 and b = ?2"), "select id from t where a = $1 and b = ?2");
//! ```
//!
//! The tokenizer is lenient: it never fails and never panics, whatever bytes it is given
//! (unterminated strings and comments run to the end of the text and are redacted whole).
//!
//! May import: `site`.

use std::fmt::Write as _;

/// Longest SQL text kept, in characters; longer text is cut and marked.
pub const MAX_SQL_CHARS: usize = 2048;

/// One lexical token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok<'a> {
    /// A bare or quoted identifier, or a keyword (compare with [`Tok::is_kw`]).
    Ident(&'a str),
    /// A string, number, dollar-quoted, hex or bit literal: never shown.
    Literal,
    /// A placeholder: `?`, `?1`, `$1`, `:name`, `@name`.
    Param(&'a str),
    /// An operator or punctuation.
    Punct(&'a str),
}

impl<'a> Tok<'a> {
    pub(crate) fn is_kw(&self, kw: &str) -> bool {
        matches!(self, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }

    pub(crate) fn ident(&self) -> Option<&'a str> {
        match self {
            Tok::Ident(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn is_punct(&self, p: &str) -> bool {
        matches!(self, Tok::Punct(s) if *s == p)
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

/// Splits SQL into tokens, dropping whitespace and comments.
pub(crate) fn tokenize(sql: &str) -> Vec<Tok<'_>> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let len = b.len();
    // Byte-oriented scanning; every slice boundary below is at an ASCII byte or at `len`, so
    // slicing never splits a UTF-8 sequence.
    while i < len {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => i += 1,
            b'-' if b.get(i + 1).is_some_and(u8::is_ascii_digit) && !ends_operand(&out) => {
                // A negative number literal: `-3` is one value, not an operator and a value.
                i = skip_number(b, i + 1);
                out.push(Tok::Literal);
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < len && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                // PostgreSQL nests block comments.
                let mut depth = 0usize;
                while i < len {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            b'\'' => {
                i = skip_quoted(b, i, b'\'');
                out.push(Tok::Literal);
            }
            // E'..', X'..', B'..', N'..' string prefixes.
            b'e' | b'E' | b'x' | b'X' | b'b' | b'B' | b'n' | b'N'
                if b.get(i + 1) == Some(&b'\'') && !prev_is_ident_char(b, i) =>
            {
                i = skip_quoted(b, i + 1, b'\'');
                out.push(Tok::Literal);
            }
            b'"' | b'`' => {
                let end = skip_quoted(b, i, c);
                let inner_end = if end > i + 1 && b[end - 1] == c {
                    end - 1
                } else {
                    end
                };
                out.push(Tok::Ident(&sql[i + 1..inner_end.max(i + 1)]));
                i = end;
            }
            b'[' if prev_allows_bracket_ident(&out) => {
                // SQLite's `[identifier]`.
                let start = i + 1;
                while i < len && b[i] != b']' {
                    i += 1;
                }
                out.push(Tok::Ident(&sql[start..i]));
                i = (i + 1).min(len);
            }
            b'$' => {
                if b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                    let start = i;
                    i += 1;
                    while i < len && b[i].is_ascii_digit() {
                        i += 1;
                    }
                    out.push(Tok::Param(&sql[start..i]));
                } else if let Some(end) = dollar_quoted_end(sql, i) {
                    i = end;
                    out.push(Tok::Literal);
                } else {
                    out.push(Tok::Punct("$"));
                    i += 1;
                }
            }
            b'?' => {
                let start = i;
                i += 1;
                while i < len && b[i].is_ascii_digit() {
                    i += 1;
                }
                out.push(Tok::Param(&sql[start..i]));
            }
            b':' | b'@'
                if b.get(i + 1)
                    .is_some_and(|n| n.is_ascii_alphabetic() || *n == b'_')
                    && !(c == b':' && i > 0 && b[i - 1] == b':') =>
            {
                let start = i;
                i += 1;
                while i < len && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                out.push(Tok::Param(&sql[start..i]));
            }
            b'0'..=b'9' => {
                i = skip_number(b, i);
                out.push(Tok::Literal);
            }
            b'.' if b.get(i + 1).is_some_and(u8::is_ascii_digit) && !prev_is_ident_char(b, i) => {
                i = skip_number(b, i);
                out.push(Tok::Literal);
            }
            _ if c.is_ascii() => {
                let two = sql.get(i..i + 2).unwrap_or("");
                let three = sql.get(i..i + 3).unwrap_or("");
                if is_ident_start(char::from(c)) {
                    let start = i;
                    while i < len && b[i].is_ascii() && is_ident_char(char::from(b[i])) {
                        i += 1;
                    }
                    // Non-ASCII letters continue the identifier too.
                    while i < len && !b[i].is_ascii() {
                        i = next_char_boundary(sql, i);
                        while i < len && b[i].is_ascii() && is_ident_char(char::from(b[i])) {
                            i += 1;
                        }
                    }
                    out.push(Tok::Ident(&sql[start..i]));
                } else if three == "->>" {
                    out.push(Tok::Punct(three));
                    i += 3;
                } else if matches!(two, "<=" | ">=" | "<>" | "!=" | "||" | "::" | "->" | "==") {
                    out.push(Tok::Punct(two));
                    i += 2;
                } else {
                    out.push(Tok::Punct(&sql[i..=i]));
                    i += 1;
                }
            }
            _ => {
                // A non-ASCII character: part of an identifier (letters) or an odd symbol.
                let start = i;
                i = next_char_boundary(sql, i);
                let ch = sql[start..i].chars().next().unwrap_or(' ');
                if is_ident_start(ch) {
                    while i < len {
                        let n = next_char_boundary(sql, i);
                        let nc = sql[i..n].chars().next().unwrap_or(' ');
                        if !is_ident_char(nc) {
                            break;
                        }
                        i = n;
                    }
                    out.push(Tok::Ident(&sql[start..i]));
                } else if !ch.is_whitespace() {
                    out.push(Tok::Punct(&sql[start..i]));
                }
            }
        }
    }
    out
}

/// Whether the last token ends an operand (so a following `-` is binary minus).
fn ends_operand(out: &[Tok<'_>]) -> bool {
    match out.last() {
        Some(Tok::Ident(w)) => !is_clause_keyword(w) && !is_reserved(w),
        Some(Tok::Literal | Tok::Param(_)) => true,
        Some(Tok::Punct(p)) => matches!(*p, ")" | "]"),
        None => false,
    }
}

fn next_char_boundary(s: &str, i: usize) -> usize {
    let mut j = i + 1;
    while j < s.len() && !s.is_char_boundary(j) {
        j += 1;
    }
    j.min(s.len())
}

fn prev_is_ident_char(b: &[u8], i: usize) -> bool {
    i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_' || b[i - 1] >= 0x80)
}

fn prev_allows_bracket_ident(out: &[Tok<'_>]) -> bool {
    // After an identifier or `]`-closed ident `[` is PostgreSQL array subscript, not a name.
    !matches!(
        out.last(),
        Some(Tok::Ident(_) | Tok::Param(_)) | Some(Tok::Punct(")"))
    )
}

/// Index just past a quoted run starting at `start` (the opening quote), doubling as escape.
fn skip_quoted(b: &[u8], start: usize, q: u8) -> usize {
    let mut i = start + 1;
    while i < b.len() {
        if b[i] == b'\\' && q == b'\'' {
            // Backslash escapes (E'' strings, MySQL); harmless for standard strings since the
            // whole literal is dropped either way.
            i += 2;
            continue;
        }
        if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

fn skip_number(b: &[u8], mut i: usize) -> usize {
    if b[i] == b'0' && matches!(b.get(i + 1), Some(b'x' | b'X')) {
        i += 2;
        while i < b.len() && b[i].is_ascii_hexdigit() {
            i += 1;
        }
        return i;
    }
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.' || b[i] == b'_') {
        i += 1;
    }
    if i < b.len() && matches!(b[i], b'e' | b'E') {
        let mut j = i + 1;
        if j < b.len() && matches!(b[j], b'+' | b'-') {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            i = j;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    i
}

/// `$tag$ ... $tag$` (or `$$ ... $$`) starting at `start`; the index past its end.
fn dollar_quoted_end(sql: &str, start: usize) -> Option<usize> {
    let rest = &sql[start + 1..];
    let tag_len = rest.find('$')?;
    let tag = &rest[..tag_len];
    if !tag.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return None;
    }
    let delim = format!("${tag}$");
    let body_start = start + 1 + tag_len + 1;
    match sql[body_start..].find(&delim) {
        Some(p) => Some(body_start + p + delim.len()),
        None => Some(sql.len()),
    }
}

/// Renders tokens with single spaces, literals as `?`.
fn render(tokens: &[Tok<'_>]) -> String {
    let mut s = String::new();
    let mut prev: Option<&Tok<'_>> = None;
    for t in tokens {
        let text: &str = match t {
            Tok::Ident(x) | Tok::Param(x) | Tok::Punct(x) => x,
            Tok::Literal => "?",
        };
        let glue = match (prev, t) {
            (None, _) => true,
            (_, Tok::Punct("," | ")" | "." | ";" | "::" | "]")) => true,
            (Some(Tok::Punct("(" | "." | "::" | "[")), _) => true,
            (Some(Tok::Ident(_) | Tok::Punct(")" | "]")), Tok::Punct("[")) => true,
            // `count(` and `f(`: no space between a function name and its parenthesis.
            (Some(Tok::Ident(name)), Tok::Punct("(")) => !is_clause_keyword(name),
            _ => false,
        };
        if !glue {
            s.push(' ');
        }
        if let Tok::Ident(x) = t {
            if needs_quotes(x) {
                let _ = write!(s, "\"{x}\"");
                prev = Some(t);
                continue;
            }
        }
        s.push_str(text);
        prev = Some(t);
    }
    s
}

fn needs_quotes(ident: &str) -> bool {
    ident.is_empty()
        || !ident.chars().next().is_some_and(is_ident_start)
        || !ident.chars().all(is_ident_char)
}

fn is_clause_keyword(w: &str) -> bool {
    const KW: &[&str] = &[
        "in",
        "and",
        "or",
        "not",
        "exists",
        "from",
        "join",
        "on",
        "where",
        "as",
        "values",
        "select",
        "using",
        "any",
        "all",
        "some",
        "over",
        "filter",
        "within",
        "into",
        "set",
        "then",
        "else",
        "when",
        "by",
        "with",
        "returning",
        "lateral",
        "union",
        "except",
        "intersect",
    ];
    KW.iter().any(|k| w.eq_ignore_ascii_case(k))
}

/// The SQL with every literal replaced by `?`, comments dropped, whitespace collapsed, and cut at
/// [`MAX_SQL_CHARS`] with a `…[truncated, N chars]` marker. Placeholders are kept as written.
#[must_use]
pub fn normalize(sql: &str) -> String {
    truncate(&render(&tokenize(sql)), MAX_SQL_CHARS)
}

/// Replaces the literals in an expression (a plan's filter, an error message) by `?`, keeping
/// everything else, including spacing, as it is.
#[must_use]
pub fn redact_literals(text: &str) -> String {
    replace_literals(text, Literals::All)
}

/// Which literals [`replace_literals`] replaces.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Literals {
    /// Strings (with their `E`/`X`/`B`/`N` prefixes), dollar-quoted strings and numbers.
    All,
    /// Only single-quoted strings: what a database error quotes from a row.
    Quoted,
}

/// Replaces each literal of the `which` kind by `?`, keeping everything else as it is.
fn replace_literals(text: &str, which: Literals) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let all = which == Literals::All;
        let lit_end = match b[i] {
            b'\'' => Some(skip_quoted(b, i, b'\'')),
            b'e' | b'E' | b'x' | b'X' | b'b' | b'B' | b'n' | b'N'
                if b.get(i + 1) == Some(&b'\'') && !prev_is_ident_char(b, i) =>
            {
                Some(skip_quoted(b, i + 1, b'\''))
            }
            b'$' if all && !b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                dollar_quoted_end(text, i)
            }
            b'0'..=b'9' if all && !(prev_is_ident_char(b, i) || i > 0 && b[i - 1] == b'$') => {
                Some(skip_number(b, i))
            }
            _ => None,
        };
        match lit_end {
            Some(end) => {
                out.push('?');
                i = end;
            }
            None => {
                let n = next_char_boundary(text, i);
                out.push_str(&text[i..n]);
                i = n;
            }
        }
    }
    out
}

/// An error's text as `monitor` logs and reports it for a site of `kind`. For queries, database
/// errors can quote the row that failed (PostgreSQL's `DETAIL: Key (email)=(..) already exists`),
/// so `DETAIL` lines are dropped and quoted string literals replaced by `?` (bare numbers stay:
/// "timeout after 30s" keeps its meaning); step errors are shown as they are.
#[must_use]
pub fn error_message(kind: crate::site::Kind, error: &dyn std::fmt::Display) -> String {
    let text = error.to_string();
    if kind == crate::site::Kind::Step {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if line.trim_start().starts_with("DETAIL:") {
            out.push_str("DETAIL: [values not shown]");
        } else {
            out.push_str(&replace_literals(line, Literals::Quoted));
        }
    }
    truncate(&out, MAX_SQL_CHARS)
}

/// Cuts `text` to `max` characters, adding a visible `…[truncated, N chars]` marker.
#[must_use]
pub fn truncate(text: &str, max: usize) -> String {
    let total = text.chars().count();
    if total <= max {
        return text.to_owned();
    }
    let mut s: String = text.chars().take(max).collect();
    let _ = write!(s, " …[truncated, {total} chars]");
    s
}

/// A key for matching the same statement written by two parties (this process and the server's
/// `pg_stat_statements`): normalized, every literal and placeholder as `?`, lowercase.
#[must_use]
pub fn fingerprint(sql: &str) -> String {
    let toks: Vec<Tok<'_>> = tokenize(sql)
        .into_iter()
        .map(|t| match t {
            Tok::Param(_) => Tok::Literal,
            t => t,
        })
        .filter(|t| !t.is_punct(";"))
        .collect();
    render(&toks).to_lowercase()
}

/// The highest `$n` placeholder in the statement (PostgreSQL's parameter count).
#[must_use]
pub fn dollar_param_count(sql: &str) -> usize {
    tokenize(sql)
        .iter()
        .filter_map(|t| match t {
            Tok::Param(p) => p.strip_prefix('$')?.parse::<usize>().ok(),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

/// Whether the statement only reads: a single `SELECT`/`WITH`/`VALUES`/`TABLE`/`SHOW` without
/// data-modifying keywords, row locks or `INTO`. Conservative: anything unsure is "no".
#[must_use]
pub fn is_read_only(sql: &str) -> bool {
    let toks = tokenize(sql);
    let Some(first) = toks.first() else {
        return false;
    };
    if !["select", "with", "values", "table", "show"]
        .iter()
        .any(|k| first.is_kw(k))
    {
        return false;
    }
    const WRITES: &[&str] = &[
        "insert",
        "update",
        "delete",
        "merge",
        "truncate",
        "create",
        "drop",
        "alter",
        "copy",
        "call",
        "do",
        "grant",
        "revoke",
        "into",
        "nextval",
        "setval",
        "lock",
        "vacuum",
        "analyze",
        "refresh",
        "listen",
        "notify",
        "pg_advisory_lock",
        "set_config",
        "lo_import",
    ];
    let body = toks
        .iter()
        .position(|t| t.is_punct(";"))
        .map_or(&toks[..], |p| {
            // A second statement after `;` is not read-only by our standards.
            &toks[..p]
        });
    if toks.iter().skip(body.len() + 1).any(|t| !t.is_punct(";")) {
        return false;
    }
    let writes = body.iter().any(|t| WRITES.iter().any(|w| t.is_kw(w)));
    let locks = body.windows(2).any(|w| {
        w[0].is_kw("for")
            && ["update", "share", "no", "key"]
                .iter()
                .any(|k| w[1].is_kw(k))
    });
    !writes && !locks
}

pub(crate) fn is_reserved(w: &str) -> bool {
    const RESERVED: &[&str] = &[
        "select",
        "from",
        "where",
        "and",
        "or",
        "not",
        "null",
        "is",
        "in",
        "like",
        "ilike",
        "between",
        "true",
        "false",
        "exists",
        "case",
        "when",
        "then",
        "else",
        "end",
        "on",
        "as",
        "join",
        "group",
        "order",
        "by",
        "having",
        "limit",
        "any",
        "all",
        "some",
        "distinct",
        "current_date",
        "current_timestamp",
        "now",
        "interval",
        "asc",
        "desc",
        "nulls",
        "first",
        "last",
        "collate",
        "escape",
        "similar",
        "cast",
    ];
    RESERVED.iter().any(|k| w.eq_ignore_ascii_case(k))
}
