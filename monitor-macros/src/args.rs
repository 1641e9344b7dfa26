//! The attribute's arguments.
//!
//! `#[monitor_step]`, `#[monitor_step(name = "load", rows, memory_warn = "512MiB",
//! max_peak = "2GiB", max_duration = "10m", slow = "1s", inputs = "..", outputs = "..",
//! crate = path)]`.
//! `#[monitor_query("name")]`, `#[monitor_query("name", slow = "250ms", memory, rows,
//! max_duration = "1m", explain(conn = conn, sql = sql, every = 100), inputs = "..",
//! outputs = "..", crate = path)]`.
//!
//! Unknown and repeated options are hard errors spanned at the offending token: there is no legacy
//! grammar to stay compatible with.

use proc_macro2::Span;
use syn::parse::ParseStream;
use syn::{LitStr, Token};

mod kw {
    syn::custom_keyword!(name);
    syn::custom_keyword!(slow);
    syn::custom_keyword!(memory);
    syn::custom_keyword!(memory_warn);
    syn::custom_keyword!(max_peak);
    syn::custom_keyword!(max_duration);
    syn::custom_keyword!(rows);
    syn::custom_keyword!(explain);
    syn::custom_keyword!(inputs);
    syn::custom_keyword!(outputs);
}

/// Which attribute is being parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Step,
    Query,
}

impl Kind {
    pub(crate) fn attr_name(self) -> &'static str {
        match self {
            Kind::Step => "monitor_step",
            Kind::Query => "monitor_query",
        }
    }
}

/// Parsed arguments.
#[derive(Debug, Default)]
pub(crate) struct Args {
    /// Explicit name (`name = "..."` for steps, the leading literal for queries).
    pub(crate) name: Option<LitStr>,
    pub(crate) slow_ns: Option<u64>,
    pub(crate) memory: Option<Span>,
    pub(crate) memory_warn: Option<u64>,
    pub(crate) max_peak: Option<u64>,
    pub(crate) max_duration_ns: Option<u64>,
    /// Span of the `rows` keyword, so a return type without `RowCount` is reported there.
    pub(crate) rows: Option<Span>,
    pub(crate) krate: Option<syn::Path>,
    /// `explain(conn = .., sql = ..)`: capture the query's plan (queries only).
    pub(crate) explain: Option<crate::explain::ExplainArgs>,
    /// `inputs = ".."`: datasets read, as (namespace, name) (see [`crate::datasets`]).
    pub(crate) inputs: Option<Vec<crate::datasets::Dataset>>,
    /// `outputs = ".."`: datasets written.
    pub(crate) outputs: Option<Vec<crate::datasets::Dataset>>,
}

pub(crate) fn set_once<T>(
    slot: &mut Option<T>,
    value: T,
    span: Span,
    attr: &str,
    opt: &str,
) -> syn::Result<()> {
    set_once_or(
        slot,
        value,
        span,
        attr,
        &format!("option `{opt}` is given more than once"),
    )
}

/// [`set_once`] with the whole complaint given: for options whose name is not one word
/// (`explain(conn = ..)`), or that share a slot (`explain(mode = ..)` and `explain(every = ..)`).
pub(crate) fn set_once_or<T>(
    slot: &mut Option<T>,
    value: T,
    span: Span,
    attr: &str,
    complaint: &str,
) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(span, format!("`#[{attr}]`: {complaint}")));
    }
    *slot = Some(value);
    Ok(())
}

fn duration(lit: &LitStr, attr: &str, opt: &str) -> syn::Result<u64> {
    monitor_units::parse_duration_nanos(&lit.value()).map_err(|e| {
        syn::Error::new_spanned(
            lit,
            format!("`#[{attr}]`: `{opt}` is not a valid duration: {e}"),
        )
    })
}

fn bytes(lit: &LitStr, attr: &str, opt: &str) -> syn::Result<u64> {
    monitor_units::parse_bytes(&lit.value()).map_err(|e| {
        syn::Error::new_spanned(
            lit,
            format!("`#[{attr}]`: `{opt}` is not a valid byte size: {e}"),
        )
    })
}

/// Parses `= "literal"` after an option keyword.
fn eq_lit(input: ParseStream<'_>, attr: &str, opt: &str) -> syn::Result<LitStr> {
    if !input.peek(Token![=]) {
        return Err(input.error(format!("`#[{attr}]`: expected `{opt} = \"...\"`")));
    }
    input.parse::<Token![=]>()?;
    input.parse::<LitStr>().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("`#[{attr}]`: `{opt}` takes a string literal"),
        )
    })
}

impl Args {
    pub(crate) fn parse(kind: Kind, input: ParseStream<'_>) -> syn::Result<Args> {
        let attr = kind.attr_name();
        let mut args = Args::default();
        if kind == Kind::Query {
            if input.is_empty() {
                return Err(syn::Error::new(
                    Span::call_site(),
                    format!(
                        "`#[{attr}]` needs a query name: `#[{attr}(\"customer_aggregation\")]`"
                    ),
                ));
            }
            if !input.peek(LitStr) {
                return Err(input.error(format!(
                    "`#[{attr}]` expects the query name as a string literal first: `#[{attr}(\"customer_aggregation\")]`"
                )));
            }
            let name: LitStr = input.parse()?;
            if name.value().trim().is_empty() {
                return Err(syn::Error::new_spanned(
                    &name,
                    format!("`#[{attr}]`: the query name must not be empty"),
                ));
            }
            args.name = Some(name);
            if input.is_empty() {
                return Ok(args);
            }
            input.parse::<Token![,]>()?;
        }
        // Where `memory_warn`/`max_peak` were written: on a query they need `memory`.
        let mut memory_option: Option<(Span, &str)> = None;
        while !input.is_empty() {
            let lookahead = input.lookahead1();
            let span = input.span();
            if kind == Kind::Step && lookahead.peek(kw::name) {
                input.parse::<kw::name>()?;
                let lit = eq_lit(input, attr, "name")?;
                if lit.value().trim().is_empty() {
                    return Err(syn::Error::new_spanned(
                        &lit,
                        format!("`#[{attr}]`: the step name must not be empty"),
                    ));
                }
                set_once(&mut args.name, lit, span, attr, "name")?;
            } else if lookahead.peek(kw::slow) {
                input.parse::<kw::slow>()?;
                let v = duration(&eq_lit(input, attr, "slow")?, attr, "slow")?;
                set_once(&mut args.slow_ns, v, span, attr, "slow")?;
            } else if lookahead.peek(kw::memory_warn) {
                input.parse::<kw::memory_warn>()?;
                let v = bytes(&eq_lit(input, attr, "memory_warn")?, attr, "memory_warn")?;
                set_once(&mut args.memory_warn, v, span, attr, "memory_warn")?;
                memory_option.get_or_insert((span, "memory_warn"));
            } else if lookahead.peek(kw::max_peak) {
                input.parse::<kw::max_peak>()?;
                let v = bytes(&eq_lit(input, attr, "max_peak")?, attr, "max_peak")?;
                set_once(&mut args.max_peak, v, span, attr, "max_peak")?;
                memory_option.get_or_insert((span, "max_peak"));
            } else if lookahead.peek(kw::max_duration) {
                input.parse::<kw::max_duration>()?;
                let v = duration(&eq_lit(input, attr, "max_duration")?, attr, "max_duration")?;
                set_once(&mut args.max_duration_ns, v, span, attr, "max_duration")?;
            } else if kind == Kind::Query && lookahead.peek(kw::memory) {
                input.parse::<kw::memory>()?;
                set_once(&mut args.memory, span, span, attr, "memory")?;
            } else if kind == Kind::Query && lookahead.peek(kw::explain) {
                input.parse::<kw::explain>()?;
                let e = crate::explain::ExplainArgs::parse(span, attr, input)?;
                set_once(&mut args.explain, e, span, attr, "explain")?;
            } else if lookahead.peek(kw::inputs) {
                input.parse::<kw::inputs>()?;
                let lit = eq_lit(input, attr, "inputs")?;
                let v = crate::datasets::parse_list(&lit, attr, "inputs")?;
                set_once(&mut args.inputs, v, span, attr, "inputs")?;
            } else if lookahead.peek(kw::outputs) {
                input.parse::<kw::outputs>()?;
                let lit = eq_lit(input, attr, "outputs")?;
                let v = crate::datasets::parse_list(&lit, attr, "outputs")?;
                set_once(&mut args.outputs, v, span, attr, "outputs")?;
            } else if lookahead.peek(kw::rows) {
                input.parse::<kw::rows>()?;
                set_once(&mut args.rows, span, span, attr, "rows")?;
            } else if lookahead.peek(Token![crate]) {
                input.parse::<Token![crate]>()?;
                input.parse::<Token![=]>()?;
                let p: syn::Path = input.parse()?;
                set_once(&mut args.krate, p, span, attr, "crate")?;
            } else {
                let e = lookahead.error();
                return Err(syn::Error::new(
                    e.span(),
                    format!("`#[{attr}]`: unknown option; {e}"),
                ));
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        if let (Kind::Query, None, Some((span, opt))) = (kind, args.memory, memory_option) {
            // A query times only unless told to track memory: the threshold would never fire.
            return Err(syn::Error::new(
                span,
                format!(
                    "`#[{attr}]`: `{opt}` needs `memory` (queries time only by default): \
                     `#[{attr}(\"{}\", memory, {opt} = ..)]`",
                    args.name.as_ref().map_or_else(String::new, LitStr::value)
                ),
            ));
        }
        Ok(args)
    }
}

/// Parses attribute arguments for one attribute kind.
pub(crate) struct ArgsFor(pub(crate) Kind);

impl ArgsFor {
    pub(crate) fn parse(self, tokens: proc_macro2::TokenStream) -> syn::Result<Args> {
        let kind = self.0;
        syn::parse::Parser::parse2(|input: ParseStream<'_>| Args::parse(kind, input), tokens)
    }
}
