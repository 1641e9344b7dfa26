//! Finding the future a function really runs.
//!
//! Besides `async fn`, two sync shapes return a future whose body is the real work (pitfall 1 in
//! STYLE.md): `#[async_trait]` output, `Box::pin(async move { .. })` as the body's tail, and a
//! bare trailing `async move { .. }` block in a function returning `impl Future`. For those we
//! measure the inner future, not its construction.

use syn::{Block, Expr, ExprAsync, Stmt};

/// Where the inner future sits in the body.
pub(crate) enum AsyncShape<'a> {
    /// The tail is `Box::pin(async move { .. })` (async-trait, manual boxing).
    BoxPin(&'a ExprAsync),
    /// The tail is `async move { .. }`.
    Block(&'a ExprAsync),
}

/// Detects a future-returning body; `None` for ordinary sync bodies.
pub(crate) fn find(block: &Block) -> Option<AsyncShape<'_>> {
    let Some(Stmt::Expr(tail, None)) = block.stmts.last() else {
        return None;
    };
    match tail {
        Expr::Async(a) if a.capture.is_some() => Some(AsyncShape::Block(a)),
        Expr::Call(call) if call.args.len() == 1 => {
            let Expr::Path(p) = &*call.func else {
                return None;
            };
            let segs: Vec<String> = p
                .path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            let is_box_pin =
                segs.len() >= 2 && segs[segs.len() - 1] == "pin" && segs[segs.len() - 2] == "Box";
            match (&call.args[0], is_box_pin) {
                (Expr::Async(a), true) if a.capture.is_some() => Some(AsyncShape::BoxPin(a)),
                _ => None,
            }
        }
        _ => None,
    }
}
