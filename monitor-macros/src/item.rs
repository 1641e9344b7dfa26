//! Parsing the annotated item: a function with a body, and nothing else.

use crate::args::Kind;
use proc_macro2::TokenStream;

/// Parses `item` as a function with a body, or explains what is wrong with it.
pub(crate) fn parse_fn(kind: Kind, item: TokenStream) -> syn::Result<syn::ItemFn> {
    let attr = kind.attr_name();
    match syn::parse2::<syn::ItemFn>(item.clone()) {
        Ok(f) => {
            if let Some(c) = &f.sig.constness {
                return Err(syn::Error::new_spanned(
                    c,
                    format!("`#[{attr}]` cannot be used on a `const fn`: a const function cannot read a clock"),
                ));
            }
            if let Some(v) = &f.sig.variadic {
                return Err(syn::Error::new_spanned(
                    v,
                    format!("`#[{attr}]` cannot be used on a variadic function"),
                ));
            }
            Ok(f)
        }
        Err(_) => {
            if let Ok(f) = syn::parse2::<syn::TraitItemFn>(item.clone()) {
                return Err(syn::Error::new_spanned(
                    &f.sig,
                    format!("`#[{attr}]` needs a function body; put it on the implementation, not on the trait's declaration"),
                ));
            }
            Err(syn::Error::new_spanned(
                item,
                format!("`#[{attr}]` can only be used on functions and methods"),
            ))
        }
    }
}
