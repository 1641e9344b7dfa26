//! `#[derive(ErrorLabel)]`: an error names its kind for the `error_type` label. An enum names its
//! variants as `Type::Variant`; a struct names its type. The names come from the code only, never
//! from the error's data, so the label stays a small fixed set.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput};

pub(crate) fn derive(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(i) => i,
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
        impl #impl_generics ::monitor::ErrorLabel for #name #ty_generics #where_clause {
            fn error_label(&self) -> &'static str {
                #body
            }
        }
    }
}
