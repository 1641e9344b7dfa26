//! `#[derive(ErrorLabel)]`: an error names its kind for the `error_type` label. An enum names its
//! variants as `Type::Variant`; a struct names its type. The names come from the code only, never
//! from the error's data, so the label stays a small fixed set.
//!
//! `#[error_label(crate = path)]` names the facade for a user who renamed the dependency, as
//! `crate = path` does for the attributes.

use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput};

pub(crate) fn derive(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(i) => i,
        Err(e) => return e.to_compile_error(),
    };
    let krate = match facade_path(&input.attrs) {
        Ok(p) => p,
        Err(e) => return e.to_compile_error(),
    };
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let body = match &input.data {
        Data::Enum(e) if e.variants.is_empty() => quote!(match *self {}),
        Data::Enum(e) => {
            let arms = e.variants.iter().map(|v| {
                let variant = &v.ident;
                let label = format!("{name}::{variant}");
                quote!(Self::#variant { .. } => #label,)
            });
            quote!(match self { #(#arms)* })
        }
        Data::Struct(_) | Data::Union(_) => {
            let label = name.to_string();
            quote!(#label)
        }
    };
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::ErrorLabel for #name #ty_generics #where_clause {
            fn error_label(&self) -> &'static str {
                #body
            }
        }
    }
}

/// The facade's path: `::monitor`, or what `#[error_label(crate = path)]` names.
fn facade_path(attrs: &[syn::Attribute]) -> syn::Result<TokenStream> {
    let mut krate = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("error_label")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                let path: syn::Path = meta.value()?.parse()?;
                crate::args::set_once(&mut krate, path, meta.path.span(), "error_label", "crate")
            } else {
                Err(meta.error("unknown `error_label` option: expected `crate = path`"))
            }
        })?;
    }
    Ok(krate.map_or_else(|| quote!(::monitor), |p| quote!(#p)))
}
