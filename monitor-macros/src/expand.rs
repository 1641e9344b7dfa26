//! Code generation.
//!
//! Sync functions keep their signature; the body runs as `call_once(move || body)` under a
//! [`CallGuard`]-like guard so that `return` and `?` land in the closure and the returned value can
//! be probed for `Err` and rows. `async fn` bodies run as `async move { body }` inside a
//! `MonitoredFuture` that times each poll. Every path is absolute (`::monitor::__private::…` or
//! the `crate = path` override) and every local starts with `__monitor_`.

use crate::args::{Args, ArgsFor, Kind};
use crate::async_like::{self, AsyncShape};
use crate::fallback;
use crate::item;
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::visit_mut::VisitMut;
use syn::{ReturnType, Type};

/// Entry point shared by both attributes.
pub(crate) fn attribute(kind: Kind, attr: TokenStream, item: TokenStream) -> TokenStream {
    attribute_with(kind, attr, item, cfg!(feature = "off"))
}

/// [`attribute`] with the opt-out given explicitly, so tests can expand both ways.
pub(crate) fn attribute_with(
    kind: Kind,
    attr: TokenStream,
    item: TokenStream,
    off: bool,
) -> TokenStream {
    match expand(kind, attr, item.clone(), off) {
        Ok(ts) => ts,
        Err(e) => fallback::with_original(&e, item),
    }
}

fn expand(kind: Kind, attr: TokenStream, item: TokenStream, off: bool) -> syn::Result<TokenStream> {
    let args = ArgsFor(kind).parse(attr)?;
    let func = item::parse_fn(kind, item.clone())?;
    let explain = match &args.explain {
        Some(e) => Some(crate::explain::check(
            e,
            kind.attr_name(),
            &func.sig,
            is_never(&func.sig.output),
        )?),
        None => None,
    };
    if off {
        // The opt-out: the function exactly as written, token for token.
        return Ok(item);
    }
    Ok(generate(kind, &args, explain.as_ref(), func))
}

/// Replaces every `impl Trait` with `_`, recursively, so a type can annotate a `let`.
struct EraseImplTrait;

impl VisitMut for EraseImplTrait {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::ImplTrait(it) = ty {
            *ty = Type::Infer(syn::TypeInfer {
                underscore_token: syn::Token![_](syn::spanned::Spanned::span(&it.impl_token)),
            });
            return;
        }
        syn::visit_mut::visit_type_mut(self, ty);
    }
}

/// `: Type` for the `let` holding the result, or nothing when the type is wholly `impl Trait`.
fn let_annotation(ret: &ReturnType) -> TokenStream {
    match ret {
        ReturnType::Default => quote!(: ()),
        ReturnType::Type(_, ty) => {
            if matches!(**ty, Type::ImplTrait(_)) {
                return TokenStream::new();
            }
            let mut ty = (**ty).clone();
            EraseImplTrait.visit_type_mut(&mut ty);
            quote!(: #ty)
        }
    }
}

fn is_never(ret: &ReturnType) -> bool {
    matches!(ret, ReturnType::Type(_, ty) if matches!(**ty, Type::Never(_)))
}

fn generate(
    kind: Kind,
    args: &Args,
    explain: Option<&crate::explain::Explain<'_>>,
    func: syn::ItemFn,
) -> TokenStream {
    let krate = args
        .krate
        .as_ref()
        .map_or_else(|| quote!(::monitor), ToTokens::to_token_stream);
    let p = quote!(#krate::__private);
    let syn::ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = func;
    let (outer, inner): (Vec<_>, Vec<_>) = attrs
        .into_iter()
        .partition(|a| matches!(a.style, syn::AttrStyle::Outer));

    let name = args.name.as_ref().map_or_else(
        || syn::LitStr::new(&sig.ident.to_string(), sig.ident.span()),
        Clone::clone,
    );
    let kind_tokens = match kind {
        Kind::Step => quote!(#p::Kind::Step),
        Kind::Query => quote!(#p::Kind::Query),
    };
    let mut setters = TokenStream::new();
    if let Some(ns) = args.slow_ns {
        setters.extend(quote!(.slow_ns(#ns)));
    }
    if args.memory.is_some() {
        setters.extend(quote!(.memory(true)));
    }
    if let Some(b) = args.memory_warn {
        setters.extend(quote!(.memory_warn(#b)));
    }
    if let Some(b) = args.max_peak {
        setters.extend(quote!(.max_peak(#b)));
    }
    if let Some(ns) = args.max_duration_ns {
        setters.extend(quote!(.max_duration_ns(#ns)));
    }
    if args.rows.is_some() {
        setters.extend(quote!(.rows(true)));
    }
    if explain.is_some() {
        setters.extend(quote!(.explain(true)));
    }
    // Dataset names go into the static metadata, split at compile time: nothing per call.
    for (setter, list) in [("inputs", &args.inputs), ("outputs", &args.outputs)] {
        if let Some(list) = list {
            let setter = syn::Ident::new(setter, Span::call_site());
            let names = list
                .iter()
                .map(|(ns, name)| quote!(#p::DatasetName::new(#ns, #name)));
            setters.extend(quote!(.#setter(&[#(#names),*])));
        }
    }
    let ident_span = sig.ident.span();
    let line = quote_spanned!(ident_span=> #p::line!());
    let callsite = quote! {
        static __MONITOR_CALLSITE: #p::Callsite = #p::Callsite::new(
            #p::Metadata::new(#name, #kind_tokens, #p::module_path!(), #p::file!(), #line)
            #setters
        );
    };
    let rows_of = |value: TokenStream| match &args.rows {
        // Spanned at `rows`, path included, so a type without `RowCount` is reported there.
        Some(span) => {
            let p = respan(p.clone(), *span);
            // Record batches (`Vec<RecordBatch>`, ...) count their rows, not their batches: the
            // probe picks that by auto-reference, and anything else goes through `RowCount`.
            quote_spanned!(*span=> {
                #[allow(unused_imports)]
                use #p::{RowsOfBatches as _, RowsOfOther as _};
                (&&#p::RowProbe(#value))
                    .__monitor_batch_rows()
                    .unwrap_or_else(|| #p::RowCount::row_count(#value))
            })
        }
        None => quote!(#p::Option::None),
    };
    let probe_imports = quote! {
        #[allow(unused_imports)]
        use #p::{ProbeAny as _, ProbeDebug as _, ProbeDisplay as _, ProbeLabel as _};
    };
    // The same rule as `Metadata::new` and `.memory(true)` above: steps and `memory` queries
    // measure memory; every other site gets the guard that carries no memory state.
    let (guard, mode) = if matches!(kind, Kind::Step) || args.memory.is_some() {
        (quote!(#p::CallGuard), quote!(#p::Tracked))
    } else {
        (quote!(#p::TimedGuard), quote!(#p::Untracked))
    };

    let body = if let Some(ex) = explain {
        explained_body(ExplainedParts {
            p: &p,
            explain: ex,
            callsite: &callsite,
            block: &block,
            sig: &sig,
            probe_imports: &probe_imports,
            rows_value: rows_of(quote!(__monitor_ret)),
            rows_ref: rows_of(quote!(&__monitor_ret)),
            guard: &guard,
            mode: &mode,
        })
    } else if sig.asyncness.is_some() {
        let fake_return = fake_return_edge(&sig.output);
        let rows = rows_of(quote!(__monitor_ret));
        let fut = quote!(async move { #fake_return #block });
        let wrapped = monitored_future(&p, &mode, &fut, &probe_imports, &rows);
        quote! {
            #callsite
            #wrapped.await
        }
    } else if let Some(shape) = async_like::find(&block) {
        let rows = rows_of(quote!(__monitor_ret));
        let mut stmts = block.stmts.clone();
        let tail = match shape {
            AsyncShape::BoxPin(a) => {
                let wrapped =
                    monitored_future(&p, &mode, &a.to_token_stream(), &probe_imports, &rows);
                quote!(::std::boxed::Box::pin(#wrapped))
            }
            AsyncShape::Block(a) => {
                monitored_future(&p, &mode, &a.to_token_stream(), &probe_imports, &rows)
            }
        };
        stmts.pop();
        quote! {
            #callsite
            #(#stmts)*
            #tail
        }
    } else if is_never(&sig.output) {
        quote! {
            #callsite
            let __monitor_guard = #guard::enter(&__MONITOR_CALLSITE);
            #block
        }
    } else {
        let ann = let_annotation(&sig.output);
        let rows = rows_of(quote!(&__monitor_ret));
        // The closure's return type is set by the fake `return` before the body, so the body's
        // value is checked against the function's return type and coerces exactly as without the
        // macro (`Err(Box::new(e))` into `Box<dyn Error>`, `.into()` targets).
        let fake_return = fake_return_edge(&sig.output);
        quote! {
            #callsite
            let __monitor_guard = #guard::enter(&__MONITOR_CALLSITE);
            #[allow(unknown_lints, clippy::let_unit_value, clippy::redundant_closure_call)]
            let __monitor_ret #ann = #p::call_once(move || { #fake_return #block });
            {
                #probe_imports
                __monitor_guard.finish((&&&&#p::Probe(&__monitor_ret)).__monitor_outcome(), #rows);
            }
            __monitor_ret
        }
    };

    let brace = block.brace_token;
    let mut out = TokenStream::new();
    for a in &outer {
        a.to_tokens(&mut out);
    }
    vis.to_tokens(&mut out);
    sig.to_tokens(&mut out);
    brace.surround(&mut out, |out| {
        for a in &inner {
            a.to_tokens(out);
        }
        body.to_tokens(out);
    });
    out
}

/// What [`explained_body`] needs from [`generate`].
struct ExplainedParts<'a> {
    p: &'a TokenStream,
    explain: &'a crate::explain::Explain<'a>,
    callsite: &'a TokenStream,
    block: &'a syn::Block,
    sig: &'a syn::Signature,
    probe_imports: &'a TokenStream,
    rows_value: TokenStream,
    rows_ref: TokenStream,
    guard: &'a TokenStream,
    mode: &'a TokenStream,
}

/// The body of an `explain(..)` query: the usual measurement, then the plan capture after the
/// call has been recorded (so capturing is never part of the call's time).
fn explained_body(x: ExplainedParts<'_>) -> TokenStream {
    let ExplainedParts {
        p,
        explain,
        callsite,
        block,
        sig,
        probe_imports,
        rows_value,
        rows_ref,
        guard,
        mode,
    } = x;
    let site_static = explain.site_static(p);
    let prelude = explain.prelude();
    let summary = quote!(__monitor_summary);
    if sig.asyncness.is_some() {
        let fake_return = fake_return_edge(&sig.output);
        let fut = quote!(async move { #fake_return #block });
        let wrapped = monitored_future(p, mode, &fut, probe_imports, &rows_value);
        let capture = explain.capture_async(&summary);
        quote! {
            #callsite
            #site_static
            #prelude
            let (__monitor_ret, #summary) = #p::ExplainedFuture::new(#wrapped).await;
            #capture
            __monitor_ret
        }
    } else if let Some(shape) = async_like::find(block) {
        // `#[async_trait]` or `Box::pin(async move { .. })`: the capture runs in an outer future,
        // after the inner one (the real work) has completed.
        let (inner, boxed) = match shape {
            AsyncShape::BoxPin(a) => (a, true),
            AsyncShape::Block(a) => (a, false),
        };
        let wrapped = monitored_future(
            p,
            mode,
            &inner.to_token_stream(),
            probe_imports,
            &rows_value,
        );
        let capture = explain.capture_async(&summary);
        let mut stmts = block.stmts.clone();
        stmts.pop();
        let fut = quote! {
            async move {
                #prelude
                let (__monitor_ret, #summary) = #p::ExplainedFuture::new(#wrapped).await;
                #capture
                __monitor_ret
            }
        };
        let tail = if boxed {
            quote!(::std::boxed::Box::pin(#fut))
        } else {
            fut
        };
        quote! {
            #callsite
            #site_static
            #(#stmts)*
            #tail
        }
    } else {
        let ann = let_annotation(&sig.output);
        let capture = explain.capture_sync(&summary);
        let fake_return = fake_return_edge(&sig.output);
        quote! {
            #callsite
            #site_static
            #prelude
            let __monitor_guard = #guard::enter(&__MONITOR_CALLSITE);
            #[allow(unknown_lints, clippy::let_unit_value, clippy::redundant_closure_call)]
            let __monitor_ret #ann = #p::call_once(move || { #fake_return #block });
            let #summary = {
                #probe_imports
                __monitor_guard.finish_explained(
                    (&&&&#p::Probe(&__monitor_ret)).__monitor_outcome(),
                    #rows_ref,
                )
            };
            #capture
            __monitor_ret
        }
    }
}

/// `MonitoredFuture::<_, _, Mode>::new(&__MONITOR_CALLSITE, fut, |ret| (outcome, rows))`.
fn monitored_future(
    p: &TokenStream,
    mode: &TokenStream,
    fut: &TokenStream,
    imports: &TokenStream,
    rows: &TokenStream,
) -> TokenStream {
    quote! {
        #p::MonitoredFuture::<_, _, #mode>::new(&__MONITOR_CALLSITE, #fut, |__monitor_ret| {
            #imports
            ((&&&&#p::Probe(__monitor_ret)).__monitor_outcome(), #rows)
        })
    }
}

/// Sets every token's span (used to point errors about generated code at an attribute option).
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tt| {
            if let proc_macro2::TokenTree::Group(g) = &tt {
                let mut group = proc_macro2::Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span);
                tt = proc_macro2::TokenTree::Group(group);
            } else {
                tt.set_span(span);
            }
            tt
        })
        .collect()
}

/// Gives an `async move` block, or the closure around a synchronous body, the function's return
/// type, so type errors, coercions and `?` conversions behave as in the original function
/// (tracing #2270).
fn fake_return_edge(ret: &ReturnType) -> TokenStream {
    let (ann, span) = match ret {
        ReturnType::Default => (quote!(()), Span::call_site()),
        ReturnType::Type(_, ty) => {
            if matches!(**ty, Type::ImplTrait(_) | Type::Never(_)) {
                return TokenStream::new();
            }
            let mut ty = (**ty).clone();
            EraseImplTrait.visit_type_mut(&mut ty);
            let span = syn::spanned::Spanned::span(&ty);
            (ty.to_token_stream(), span)
        }
    };
    quote_spanned! {span=>
        #[allow(
            unknown_lints,
            unreachable_code,
            clippy::diverging_sub_expression,
            clippy::let_unit_value,
            clippy::unreachable,
            clippy::let_with_type_underscore,
            clippy::empty_loop
        )]
        if false {
            let __monitor_fake_return: #ann = loop {};
            return __monitor_fake_return;
        }
    }
}
