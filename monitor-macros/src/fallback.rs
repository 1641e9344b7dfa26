//! On any error: the error, plus the function exactly as written, so the user sees one clean
//! diagnostic and no follow-on "cannot find function" errors (no-panic, thiserror do the same).

use proc_macro2::TokenStream;

pub(crate) fn with_original(err: &syn::Error, item: TokenStream) -> TokenStream {
    let mut out = err.to_compile_error();
    out.extend(item);
    out
}
