//! `explain(conn = <arg>, sql = <arg or path>, [mode = "slow" | "always"], [every = N],
//! [analyze])`: the option of `#[monitor_query]` that captures the query's plan after the call.
//!
//! The named arguments are used again *after* the body has run, so they must still be usable
//! then: `conn` must be a reference (`&Connection`, `&mut Client`, `&PgPool`,
//! `&mut Transaction<Postgres>`) and `sql` a shared reference (`&str`, `&String`). Anything else
//! is a compile error naming the option and the argument. `sql` may instead name a `const` or
//! `static` in scope (`sql = SQL`, `sql = queries::ORDERS`), passed as `&*SQL`.
//!
//! A `&mut` connection is moved into a hidden binding and the argument's name is re-bound to a
//! reborrow of it, so the body (which `move`s what it captures) only consumes the reborrow and the
//! connection is usable again once the body has returned. In async code a `&mut` connection is
//! explained through `ExplainPlanAsyncMut` (sqlx connections need `&mut` to run anything), a
//! shared one through `ExplainPlanAsync`.
//!
//! Besides `async fn` and plain `fn`, the future-returning shapes of `crate::async_like` (an
//! `#[async_trait]` method, `Box::pin(async move { .. })`) are explained: the capture runs in an
//! outer `async move` block after the inner future has completed.

use crate::args::set_once_or;
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::ParseStream;
use syn::{FnArg, Ident, LitInt, LitStr, Pat, Token, Type};

mod kw {
    syn::custom_keyword!(conn);
    syn::custom_keyword!(sql);
    syn::custom_keyword!(mode);
    syn::custom_keyword!(every);
    syn::custom_keyword!(analyze);
}

/// When to capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Slow,
    Always,
    Every(u64),
}

/// The parsed `explain(..)` option.
#[derive(Debug)]
pub(crate) struct ExplainArgs {
    /// The `explain` keyword, for errors about the option as a whole.
    span: Span,
    conn: Ident,
    sql: syn::Path,
    mode: Mode,
    analyze: bool,
}

impl ExplainArgs {
    /// Parses `( ... )` after the `explain` keyword.
    pub(crate) fn parse(span: Span, attr: &str, input: ParseStream<'_>) -> syn::Result<Self> {
        let usage = format!(
            "`#[{attr}]`: expected `explain(conn = <argument>, sql = <argument>)`, optionally with \
             `mode = \"slow\" | \"always\"`, `every = N` or `analyze`"
        );
        if !input.peek(syn::token::Paren) {
            return Err(syn::Error::new(span, usage));
        }
        let content;
        syn::parenthesized!(content in input);
        let mut conn: Option<Ident> = None;
        let mut sql: Option<syn::Path> = None;
        let mut mode: Option<(Mode, Span)> = None;
        let mut analyze: Option<()> = None;
        let twice = |what: &str| format!("`explain({what})` is given more than once");
        let either = "give either `explain(mode = ..)` or `explain(every = ..)`, once";
        while !content.is_empty() {
            let la = content.lookahead1();
            let at = content.span();
            if la.peek(kw::conn) {
                content.parse::<kw::conn>()?;
                let id = arg_ident(&content, attr, "conn")?;
                set_once_or(&mut conn, id, at, attr, &twice("conn = .."))?;
            } else if la.peek(kw::sql) {
                content.parse::<kw::sql>()?;
                let path = sql_path(&content, attr)?;
                set_once_or(&mut sql, path, at, attr, &twice("sql = .."))?;
            } else if la.peek(kw::mode) {
                content.parse::<kw::mode>()?;
                content.parse::<Token![=]>()?;
                let lit: LitStr = content.parse().map_err(|e| {
                    syn::Error::new(
                        e.span(),
                        format!("`#[{attr}]`: `explain(mode = ..)` takes \"slow\" or \"always\""),
                    )
                })?;
                let m = match lit.value().as_str() {
                    "slow" => Mode::Slow,
                    "always" => Mode::Always,
                    other => {
                        return Err(syn::Error::new_spanned(
                            &lit,
                            format!("`#[{attr}]`: unknown explain mode {other:?}; expected \"slow\" (the default) or \"always\", or use `every = N`"),
                        ))
                    }
                };
                set_once_or(&mut mode, (m, at), at, attr, either)?;
            } else if la.peek(kw::every) {
                content.parse::<kw::every>()?;
                content.parse::<Token![=]>()?;
                let lit: LitInt = content.parse().map_err(|e| {
                    syn::Error::new(
                        e.span(),
                        format!("`#[{attr}]`: `explain(every = N)` takes a whole number"),
                    )
                })?;
                let n: u64 = lit.base10_parse()?;
                if n == 0 {
                    return Err(syn::Error::new_spanned(
                        &lit,
                        format!("`#[{attr}]`: `explain(every = N)` needs N of at least 1"),
                    ));
                }
                set_once_or(&mut mode, (Mode::Every(n), at), at, attr, either)?;
            } else if la.peek(kw::analyze) {
                content.parse::<kw::analyze>()?;
                set_once_or(&mut analyze, (), at, attr, &twice("analyze"))?;
            } else {
                let e = la.error();
                return Err(syn::Error::new(
                    e.span(),
                    format!("`#[{attr}]`: unknown `explain` option; {e}"),
                ));
            }
            if content.is_empty() {
                break;
            }
            content.parse::<Token![,]>()?;
        }
        let missing = |what: &str| {
            syn::Error::new(
                span,
                format!("`#[{attr}]`: `explain(..)` needs `{what} = <argument>`, naming the function's {}", if what == "conn" { "connection argument" } else { "SQL text argument" }),
            )
        };
        Ok(ExplainArgs {
            span,
            conn: conn.ok_or_else(|| missing("conn"))?,
            sql: sql.ok_or_else(|| missing("sql"))?,
            mode: mode.map_or(Mode::Slow, |(m, _)| m),
            analyze: analyze.is_some(),
        })
    }
}

fn arg_ident(input: ParseStream<'_>, attr: &str, what: &str) -> syn::Result<Ident> {
    input.parse::<Token![=]>().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("`#[{attr}]`: expected `explain({what} = <argument>)`"),
        )
    })?;
    input.parse::<Ident>().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("`#[{attr}]`: `explain({what} = ..)` takes the name of one of the function's arguments"),
        )
    })
}

/// `sql = <argument, const or static>`: a path, one identifier for an argument.
fn sql_path(input: ParseStream<'_>, attr: &str) -> syn::Result<syn::Path> {
    input.parse::<Token![=]>().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("`#[{attr}]`: expected `explain(sql = <argument, const or static>)`"),
        )
    })?;
    input.parse::<syn::Path>().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("`#[{attr}]`: `explain(sql = ..)` takes the name of one of the function's arguments, or of a `const` or `static` holding the SQL"),
        )
    })
}

/// What the expansion needs, after checking the named arguments against the signature.
pub(crate) struct Explain<'a> {
    args: &'a ExplainArgs,
    /// The user's own binding of the connection (its ident and `mut`, if any).
    conn_binding: (Ident, Option<Token![mut]>),
    conn_is_mut: bool,
    /// `sql` names a `const` or `static`, not an argument.
    sql_is_item: bool,
}

/// Finds `name` among the arguments: its binding and type.
fn find_arg<'s>(sig: &'s syn::Signature, name: &Ident) -> Option<(&'s syn::PatIdent, &'s Type)> {
    sig.inputs.iter().find_map(|a| match a {
        FnArg::Typed(t) => match &*t.pat {
            Pat::Ident(pi) if pi.ident == *name => Some((pi, &*t.ty)),
            _ => None,
        },
        FnArg::Receiver(_) => None,
    })
}

fn type_text(ty: &Type) -> String {
    quote!(#ty)
        .to_string()
        .replace(" < ", "<")
        .replace(" >", ">")
        .replace("& ", "&")
}

/// Checks the option against the function; errors are spanned at the named argument.
pub(crate) fn check<'a>(
    args: &'a ExplainArgs,
    attr: &str,
    sig: &syn::Signature,
    never_returns: bool,
) -> syn::Result<Explain<'a>> {
    if never_returns {
        return Err(syn::Error::new(
            args.span,
            format!("`#[{attr}]`: `explain(..)` cannot be used on a function that never returns"),
        ));
    }
    let not_an_arg = |id: &Ident, what: &str| {
        syn::Error::new(
            id.span(),
            format!(
                "`#[{attr}]`: `explain({what} = {id})`: `{id}` is not an argument of this function"
            ),
        )
    };
    let (conn_pat, conn_ty) =
        find_arg(sig, &args.conn).ok_or_else(|| not_an_arg(&args.conn, "conn"))?;
    let conn_is_mut = match conn_ty {
        Type::Reference(r) => r.mutability.is_some(),
        other => {
            return Err(syn::Error::new(
                args.conn.span(),
                format!(
                    "`#[{attr}]`: `explain(conn = {id})`: `{id}` must be a reference (`&T` or `&mut T`), because the plan is captured after the body has run and the connection must still be usable then; it has type `{ty}`",
                    id = args.conn,
                    ty = type_text(other)
                ),
            ))
        }
    };
    // An argument of that name, else a `const` or `static` the compiler resolves.
    let sql_arg = args
        .sql
        .get_ident()
        .and_then(|id| find_arg(sig, id).map(|(_, ty)| (id, ty)));
    if let Some((id, sql_ty)) = sql_arg {
        match sql_ty {
            Type::Reference(r) if r.mutability.is_none() => {}
            other => {
                return Err(syn::Error::new(
                    id.span(),
                    format!(
                        "`#[{attr}]`: `explain(sql = {id})`: `{id}` must be a shared reference such as `&str`, because the SQL is read again after the body has run; it has type `{ty}`",
                        ty = type_text(other)
                    ),
                ))
            }
        }
    }
    Ok(Explain {
        args,
        conn_binding: (conn_pat.ident.clone(), conn_pat.mutability),
        conn_is_mut,
        sql_is_item: sql_arg.is_none(),
    })
}

impl Explain<'_> {
    fn hidden_conn() -> Ident {
        format_ident!("__monitor_explain_conn", span = Span::mixed_site())
    }

    /// The `static __MONITOR_EXPLAIN` next to the call site.
    pub(crate) fn site_static(&self, p: &TokenStream) -> TokenStream {
        let mode = match self.args.mode {
            Mode::Slow => quote!(#p::ExplainMode::Slow),
            Mode::Always => quote!(#p::ExplainMode::Always),
            Mode::Every(n) => quote!(#p::ExplainMode::Every(#n)),
        };
        let analyze = self.args.analyze;
        quote! {
            static __MONITOR_EXPLAIN: #p::ExplainSite =
                #p::ExplainSite::new(&__MONITOR_CALLSITE, #mode, #analyze);
        }
    }

    /// For `&mut` connections: keep the connection, give the body a reborrow under its name.
    pub(crate) fn prelude(&self) -> TokenStream {
        if !self.conn_is_mut {
            return TokenStream::new();
        }
        let hidden = Self::hidden_conn();
        let (ident, mutability) = &self.conn_binding;
        quote! {
            let #hidden = #ident;
            #[allow(unused_variables, unused_mut, clippy::needless_borrow)]
            let #mutability #ident = &mut *#hidden;
        }
    }

    /// The connection expression for a sync capture (`&mut C` with `C: ExplainPlan`).
    fn sync_conn(&self) -> TokenStream {
        let hidden = Self::hidden_conn();
        let conn = &self.args.conn;
        if self.conn_is_mut {
            quote!(&mut *#hidden)
        } else {
            quote!(&mut { #conn })
        }
    }

    /// The SQL expression: the argument itself (a shared reference), or `&*PATH` for a `const`
    /// or `static`.
    fn sql(&self) -> TokenStream {
        let sql = &self.args.sql;
        if self.sql_is_item {
            quote!(&*#sql)
        } else {
            quote!(#sql)
        }
    }

    /// `__MONITOR_EXPLAIN.capture(summary, conn, sql);`, spanned at `conn = ..` so a connection
    /// type without `ExplainPlan` is reported at the attribute.
    pub(crate) fn capture_sync(&self, summary: &TokenStream) -> TokenStream {
        let conn = self.sync_conn();
        let sql = self.sql();
        let span = self.args.conn.span();
        quote_spanned! {span=>
            __MONITOR_EXPLAIN.capture(#summary, #conn, #sql);
        }
    }

    /// `__MONITOR_EXPLAIN.capture_async(summary, conn, sql).await;` for a shared connection
    /// (`C: ExplainPlanAsync`), `capture_async_mut(summary, &mut *conn, sql)` for a `&mut` one
    /// (`C: ExplainPlanAsyncMut`).
    pub(crate) fn capture_async(&self, summary: &TokenStream) -> TokenStream {
        let sql = self.sql();
        let span = self.args.conn.span();
        if self.conn_is_mut {
            let hidden = Self::hidden_conn();
            quote_spanned! {span=>
                __MONITOR_EXPLAIN.capture_async_mut(#summary, &mut *#hidden, #sql).await;
            }
        } else {
            let conn = &self.args.conn;
            quote_spanned! {span=>
                __MONITOR_EXPLAIN.capture_async(#summary, #conn, #sql).await;
            }
        }
    }
}
