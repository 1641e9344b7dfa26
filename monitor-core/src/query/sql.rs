//! SQL text as `monitor` shows it: literals replaced by `?`, comments dropped, whitespace
//! collapsed, long text cut with a visible marker, so parameter values and literals (which hold
//! personal data and secrets) never reach a log line, a report or an exporter. The same tokenizer
//! gives the plan analysis the tables, aliases and columns a statement uses.
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
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let lit_end = match c {
            b'\'' => Some(skip_quoted(b, i, b'\'')),
            b'e' | b'E' | b'x' | b'X' | b'b' | b'B' | b'n' | b'N'
                if b.get(i + 1) == Some(&b'\'') && !prev_is_ident_char(b, i) =>
            {
                Some(skip_quoted(b, i + 1, b'\''))
            }
            b'$' if !b.get(i + 1).is_some_and(u8::is_ascii_digit) => dollar_quoted_end(text, i),
            b'0'..=b'9' if !(prev_is_ident_char(b, i) || i > 0 && b[i - 1] == b'$') => {
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
pub fn error_message(kind: crate::Kind, error: &dyn std::fmt::Display) -> String {
    let text = error.to_string();
    if kind == crate::Kind::Step {
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
            out.push_str(&redact_quoted(line));
        }
    }
    truncate(&out, MAX_SQL_CHARS)
}

/// Replaces single-quoted string literals (with their `E`/`X`/`B`/`N` prefixes) by `?`.
fn redact_quoted(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let start = match b[i] {
            b'\'' => Some(i),
            b'e' | b'E' | b'x' | b'X' | b'b' | b'B' | b'n' | b'N'
                if b.get(i + 1) == Some(&b'\'') && !prev_is_ident_char(b, i) =>
            {
                Some(i + 1)
            }
            _ => None,
        };
        match start {
            Some(q) => {
                out.push('?');
                i = skip_quoted(b, q, b'\'');
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

/// A table named in `FROM` or `JOIN`, with its alias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableRef {
    pub(crate) name: String,
    pub(crate) alias: Option<String>,
}

/// How a column is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnRole {
    /// `col = ...`, `col IN (...)`, `col IS NULL`.
    Equality,
    /// `col < ...`, `BETWEEN`, `LIKE`.
    Range,
    /// `a.col = b.col` in `ON` or `WHERE`.
    Join,
    /// `ORDER BY col` / `GROUP BY col`.
    Order,
}

/// A column reference found in a predicate or an `ORDER BY`/`GROUP BY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ColumnUse {
    pub(crate) qualifier: Option<String>,
    pub(crate) column: String,
    pub(crate) role: ColumnRole,
}

const NOT_ALIAS: &[&str] = &[
    "where",
    "join",
    "inner",
    "left",
    "right",
    "full",
    "outer",
    "cross",
    "natural",
    "on",
    "using",
    "group",
    "order",
    "limit",
    "offset",
    "having",
    "union",
    "except",
    "intersect",
    "window",
    "returning",
    "set",
    "for",
    "fetch",
    "values",
    "lateral",
    "as",
    "straight_join",
    "indexed",
    "not",
];

/// Tables in `FROM` / `JOIN` clauses (subqueries skipped), with aliases.
pub(crate) fn tables(sql: &str) -> Vec<TableRef> {
    let toks = tokenize(sql);
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let starts_list = toks[i].is_kw("from") || toks[i].is_kw("join") || toks[i].is_kw("update");
        let into = toks[i].is_kw("into");
        i += 1;
        if !(starts_list || into) {
            continue;
        }
        while let Some((name, next)) = qualified_name(&toks, i) {
            i = next;
            let mut alias = None;
            if toks.get(i).is_some_and(|t| t.is_kw("as")) {
                i += 1;
            }
            if let Some(a) = toks.get(i).and_then(Tok::ident) {
                if !NOT_ALIAS.iter().any(|k| a.eq_ignore_ascii_case(k)) {
                    alias = Some(a.to_owned());
                    i += 1;
                }
            }
            out.push(TableRef { name, alias });
            // `FROM a, b` continues the list.
            if starts_list && toks.get(i).is_some_and(|t| t.is_punct(",")) {
                i += 1;
                continue;
            }
            break;
        }
    }
    out
}

/// `schema.table` or `table` at `i`: the last part and the index after it.
fn qualified_name(toks: &[Tok<'_>], mut i: usize) -> Option<(String, usize)> {
    let mut name = toks.get(i)?.ident()?;
    if NOT_ALIAS.iter().any(|k| name.eq_ignore_ascii_case(k)) || name.eq_ignore_ascii_case("select")
    {
        return None;
    }
    i += 1;
    while toks.get(i).is_some_and(|t| t.is_punct(".")) {
        name = toks.get(i + 1)?.ident()?;
        i += 2;
    }
    // A function call in FROM (`generate_series(..)`) is not a table.
    if toks.get(i).is_some_and(|t| t.is_punct("(")) {
        return None;
    }
    Some((name.to_owned(), i))
}

/// A column reference ending at index `end` (inclusive): `col` or `q.col`.
fn column_ref_ending(toks: &[Tok<'_>], end: usize) -> Option<(Option<String>, String)> {
    let col = toks.get(end)?.ident()?;
    if is_reserved(col) {
        return None;
    }
    if end >= 2 && toks[end - 1].is_punct(".") {
        let q = toks[end - 2].ident()?;
        return Some((Some(q.to_owned()), col.to_owned()));
    }
    Some((None, col.to_owned()))
}

/// A column reference starting at `start`: `col` or `q.col`, not a function call.
fn column_ref_starting(toks: &[Tok<'_>], start: usize) -> Option<(Option<String>, String, usize)> {
    let a = toks.get(start)?.ident()?;
    if is_reserved(a) {
        return None;
    }
    if toks.get(start + 1).is_some_and(|t| t.is_punct(".")) {
        let b = toks.get(start + 2)?.ident()?;
        if toks.get(start + 3).is_some_and(|t| t.is_punct("(")) {
            return None;
        }
        return Some((Some(a.to_owned()), b.to_owned(), start + 3));
    }
    if toks.get(start + 1).is_some_and(|t| t.is_punct("(")) {
        return None;
    }
    Some((None, a.to_owned(), start + 1))
}

fn is_reserved(w: &str) -> bool {
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

/// Columns used in `WHERE`/`ON` predicates and in `ORDER BY`/`GROUP BY`, in order of appearance.
pub(crate) fn column_uses(sql: &str) -> Vec<ColumnUse> {
    column_uses_in(&tokenize(sql), false)
}

/// Columns used in a bare expression (a PostgreSQL plan's `Filter` or `Join Filter`).
pub(crate) fn expression_columns(expr: &str) -> Vec<ColumnUse> {
    column_uses_in(&tokenize(expr), true)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Clause {
    Other,
    Predicate,
    OrderBy,
}

fn column_uses_in(toks: &[Tok<'_>], bare_expression: bool) -> Vec<ColumnUse> {
    let mut out: Vec<ColumnUse> = Vec::new();
    let mut clause = if bare_expression {
        Clause::Predicate
    } else {
        Clause::Other
    };
    let push = |q: Option<String>, c: String, role: ColumnRole, out: &mut Vec<ColumnUse>| {
        if !out
            .iter()
            .any(|u| u.qualifier == q && u.column.eq_ignore_ascii_case(&c) && u.role == role)
        {
            out.push(ColumnUse {
                qualifier: q,
                column: c,
                role,
            });
        }
    };
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        if !bare_expression {
            if t.is_kw("where") || t.is_kw("on") || t.is_kw("having") {
                clause = Clause::Predicate;
            } else if (t.is_kw("order") || t.is_kw("group"))
                && toks.get(i + 1).is_some_and(|n| n.is_kw("by"))
            {
                clause = Clause::OrderBy;
                i += 2;
                // The list: `a, b.c DESC, d`.
                while let Some((q, c, next)) = column_ref_starting(toks, i) {
                    push(q, c, ColumnRole::Order, &mut out);
                    i = next;
                    while toks.get(i).is_some_and(|t| {
                        ["asc", "desc", "nulls", "first", "last"]
                            .iter()
                            .any(|k| t.is_kw(k))
                    }) {
                        i += 1;
                    }
                    if toks.get(i).is_some_and(|t| t.is_punct(",")) {
                        i += 1;
                    } else {
                        break;
                    }
                }
                continue;
            } else if [
                "select",
                "limit",
                "offset",
                "returning",
                "set",
                "values",
                "union",
                "window",
            ]
            .iter()
            .any(|k| t.is_kw(k))
                || t.is_kw("from")
            {
                clause = Clause::Other;
            }
        }
        if clause == Clause::Predicate {
            let op = match t {
                Tok::Punct("=" | "==") => Some(ColumnRole::Equality),
                Tok::Punct("<" | ">" | "<=" | ">=" | "<>" | "!=") => Some(ColumnRole::Range),
                Tok::Ident(w) if w.eq_ignore_ascii_case("in") || w.eq_ignore_ascii_case("is") => {
                    Some(ColumnRole::Equality)
                }
                Tok::Ident(w)
                    if ["like", "ilike", "between", "glob"]
                        .iter()
                        .any(|k| w.eq_ignore_ascii_case(k)) =>
                {
                    Some(ColumnRole::Range)
                }
                _ => None,
            };
            if let Some(role) = op {
                // Left side: a column, possibly wrapped in one parenthesis (plan filters).
                let mut left_end = i.checked_sub(1);
                if let Some(le) = left_end {
                    if toks[le].is_kw("not") {
                        left_end = le.checked_sub(1);
                    }
                }
                let left = left_end.and_then(|le| column_ref_ending(toks, le));
                let right = column_ref_starting(toks, i + 1);
                match (left, right) {
                    (Some((lq, lc)), Some((rq, rc, _))) if role == ColumnRole::Equality => {
                        push(lq, lc, ColumnRole::Join, &mut out);
                        push(rq, rc, ColumnRole::Join, &mut out);
                    }
                    (Some((lq, lc)), _) => push(lq, lc, role, &mut out),
                    (None, Some((rq, rc, _)))
                        if left_end
                            .is_some_and(|le| matches!(toks[le], Tok::Literal | Tok::Param(_))) =>
                    {
                        // `$1 = col` or `5 < col`.
                        push(rq, rc, role, &mut out);
                    }
                    _ => {}
                }
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_become_placeholders() {
        assert_eq!(
            normalize(
                "SELECT  *\n FROM t WHERE name = 'O''Brien' AND n IN (1, 2.5, -3e10) /* x */"
            ),
            "SELECT * FROM t WHERE name = ? AND n IN (?, ?, ?)"
        );
        assert_eq!(
            normalize("select $$secret$$, $tag$a $$ b$tag$, E'\\'x', x'ff', 0x1F"),
            "select ?, ?, ?, ?, ?"
        );
        assert_eq!(
            normalize("select a::text from t1"),
            "select a::text from t1"
        );
        assert_eq!(
            normalize("select count(*) from \"My Table\""),
            "select count(*) from \"My Table\""
        );
        assert_eq!(
            normalize("where a = :name and b = @p and c = ?"),
            "where a = :name and b = @p and c = ?"
        );
    }

    #[test]
    fn unterminated_input_is_redacted_whole() {
        assert_eq!(normalize("select 'secret"), "select ?");
        assert_eq!(normalize("select 1 /* never closed 'x'"), "select ?");
        assert_eq!(normalize(""), "");
    }

    #[test]
    fn long_text_is_cut_with_a_marker() {
        let sql = format!("select {}", "a, ".repeat(2000));
        let n = normalize(&sql);
        assert!(n.ends_with("chars]"), "{n}");
        assert!(n.contains("…[truncated, "));
        assert!(n.chars().count() < MAX_SQL_CHARS + 40);
    }

    #[test]
    fn redacts_plan_expressions() {
        assert_eq!(
            redact_literals("((email)::text = 'ann@x.org'::text) AND (id > 42)"),
            "((email)::text = ?::text) AND (id > ?)"
        );
        assert_eq!(redact_literals("(customer_id = $1)"), "(customer_id = $1)");
        assert_eq!(redact_literals("t1.a = t2.b"), "t1.a = t2.b");
    }

    #[test]
    fn query_errors_lose_row_values() {
        let e = "db error: ERROR: duplicate key value violates unique constraint \"users_email_key\"\nDETAIL: Key (email)=(ann@example.com) already exists.";
        let shown = error_message(crate::Kind::Query, &e);
        assert!(!shown.contains("ann@"), "{shown}");
        assert!(shown.contains("users_email_key"), "{shown}");
        assert_eq!(error_message(crate::Kind::Step, &"id 42 'x'"), "id 42 'x'");
        assert_eq!(
            error_message(crate::Kind::Query, &"no row 'x' after 30s"),
            "no row ? after 30s"
        );
    }

    #[test]
    fn fingerprints_match_across_placeholder_styles() {
        assert_eq!(
            fingerprint("SELECT * FROM t WHERE a = $1 AND b = 'x';"),
            fingerprint("select *  from t where a = 5 and b = $2")
        );
    }

    #[test]
    fn read_only_detection() {
        assert!(is_read_only("SELECT * FROM t WHERE a = $1"));
        assert!(is_read_only("with x as (select 1) select * from x"));
        assert!(!is_read_only(
            "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d"
        ));
        assert!(!is_read_only("select * from t for update"));
        assert!(!is_read_only("select nextval('s')"));
        assert!(!is_read_only("insert into t values (1)"));
        assert!(!is_read_only("select 1; delete from t"));
        assert!(!is_read_only("select * into t2 from t"));
    }

    #[test]
    fn finds_tables_and_aliases() {
        let t = tables(
            "SELECT * FROM fact_orders o JOIN dim_customers AS c ON o.customer_id = c.id WHERE 1",
        );
        let names: Vec<_> = t
            .iter()
            .map(|t| (t.name.as_str(), t.alias.as_deref()))
            .collect();
        assert_eq!(
            names,
            [("fact_orders", Some("o")), ("dim_customers", Some("c"))]
        );
        assert_eq!(
            tables("select * from public.events where a = 1")[0].name,
            "events"
        );
        assert_eq!(tables("select * from a, b bb where a.x = bb.y").len(), 2);
        assert_eq!(
            normalize("select a - 1, a-1, x[1]"),
            "select a - ?, a - ?, x[?]"
        );
        assert!(tables("select * from generate_series(1, 3)").is_empty());
    }

    #[test]
    fn finds_predicate_and_order_columns() {
        let u = column_uses(
            "SELECT c.name FROM fact_orders o JOIN dim_customers c ON o.customer_id = c.id \
             WHERE o.order_date >= ? AND c.customer_status = 'active' GROUP BY c.customer_id ORDER BY c.name DESC",
        );
        let got: Vec<_> = u
            .iter()
            .map(|u| (u.qualifier.as_deref(), u.column.as_str(), u.role))
            .collect();
        assert_eq!(
            got,
            [
                (Some("o"), "customer_id", ColumnRole::Join),
                (Some("c"), "id", ColumnRole::Join),
                (Some("o"), "order_date", ColumnRole::Range),
                (Some("c"), "customer_status", ColumnRole::Equality),
                (Some("c"), "customer_id", ColumnRole::Order),
                (Some("c"), "name", ColumnRole::Order),
            ]
        );
        let f = expression_columns("((customer_id = $1) AND (kind <> 'x'::text))");
        assert_eq!(f[0].column, "customer_id");
        assert_eq!(f[0].role, ColumnRole::Equality);
        assert_eq!(f[1].column, "kind");
    }

    #[test]
    fn tokenizer_survives_arbitrary_bytes() {
        for s in [
            "'", "\"", "$", "$a", "$a$", "[", "/*", "--", "é'ü", "0x", "1e", "::", "?1?", "`x",
        ] {
            let _ = normalize(s);
            let _ = tables(s);
            let _ = column_uses(s);
            let _ = redact_literals(s);
        }
    }
}
