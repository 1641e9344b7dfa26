//! Expansion snapshots: what each attribute generates for the main function shapes, pretty-printed
//! with prettyplease and compared with the committed files in `src/snapshots/` (insta). Review
//! a change with `cargo insta review` or `INSTA_UPDATE=always cargo test -p pipeline-monitor-macros`.

use crate::args::Kind;
use crate::expand::attribute_with;
use proc_macro2::TokenStream;
use quote::quote;

fn pretty(tokens: &TokenStream) -> String {
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(file) => prettyplease::unparse(&file),
        Err(e) => panic!("expansion does not parse as a file: {e}\n{tokens}"),
    }
}

fn expand(kind: Kind, attr: TokenStream, item: TokenStream) -> String {
    pretty(&attribute_with(kind, attr, item, false))
}

#[test]
fn sync_step() {
    insta::assert_snapshot!(expand(
        Kind::Step,
        quote!(name = "load_orders", rows),
        quote! {
            /// Loads orders.
            pub fn load(path: &str) -> Result<Vec<Order>, std::io::Error> {
                let text = std::fs::read_to_string(path)?;
                Ok(parse(&text))
            }
        },
    ));
}

#[test]
fn sync_query_with_threshold() {
    insta::assert_snapshot!(expand(
        Kind::Query,
        quote!("customer_aggregation", slow = "250ms"),
        quote! {
            fn aggregate(conn: &Connection) -> rusqlite::Result<u64> {
                conn.query_row("SELECT count(*) FROM orders", [], |r| r.get(0))
            }
        },
    ));
}

#[test]
fn async_step() {
    insta::assert_snapshot!(expand(
        Kind::Step,
        quote!(),
        quote! {
            async fn fetch(client: &Client, id: u32) -> Result<Row, Error> {
                client.get(id).await
            }
        },
    ));
}

#[test]
fn method() {
    insta::assert_snapshot!(expand(
        Kind::Step,
        quote!(),
        quote! {
            fn next_batch(&mut self, n: usize) -> impl Iterator<Item = &Row> + '_ {
                self.rows.iter().take(n)
            }
        },
    ));
}

#[test]
fn async_trait_method() {
    // What `#[async_trait]` hands us when it runs first.
    insta::assert_snapshot!(expand(
        Kind::Query,
        quote!("put"),
        quote! {
            fn put<'life0, 'async_trait>(&'life0 self, v: u32)
                -> ::core::pin::Pin<Box<dyn ::core::future::Future<Output = Result<(), E>> + ::core::marker::Send + 'async_trait>>
            where 'life0: 'async_trait, Self: 'async_trait
            {
                Box::pin(async move {
                    let __self = self;
                    let v = v;
                    let __ret: Result<(), E> = { __self.store(v).await };
                    #[allow(unreachable_code)]
                    __ret
                })
            }
        },
    ));
}

#[test]
fn opt_out_emits_the_function_untouched() {
    let item = quote! {
        #[inline]
        pub(crate) async fn fetch<'a, T: Send>(x: &'a T) -> Result<&'a T, E> where T: Sync {
            helper(x).await?;
            Ok(x)
        }
    };
    for (kind, attr) in [
        (Kind::Step, quote!(rows)),
        (Kind::Query, quote!("q", slow = "1s")),
    ] {
        let out = attribute_with(kind, attr, item.clone(), true);
        assert_eq!(out.to_string(), item.to_string());
    }
}

#[test]
fn errors_come_with_the_untouched_function() {
    let item = quote!(
        fn f() -> u32 {
            1
        }
    );
    let out = attribute_with(Kind::Query, quote!(), item.clone(), false).to_string();
    assert!(out.starts_with(":: core :: compile_error ! {"), "{out}");
    assert!(out.contains("needs a query name"), "{out}");
    assert!(out.ends_with(&item.to_string()), "{out}");
}

#[test]
fn sync_query_with_explain_on_exclusive_connection() {
    insta::assert_snapshot!(expand(
        Kind::Query,
        quote!(
            "by_customer",
            slow = "100ms",
            explain(conn = client, sql = sql, every = 100)
        ),
        quote! {
            fn by_customer(client: &mut Client, sql: &str, id: i64) -> Result<Vec<Row>, Error> {
                client.query(sql, &[&id])
            }
        },
    ));
}

#[test]
fn async_query_with_explain() {
    insta::assert_snapshot!(expand(
        Kind::Query,
        quote!(
            "by_kind",
            explain(conn = client, sql = sql, mode = "always", analyze)
        ),
        quote! {
            async fn by_kind(client: &Client, sql: &str, kind: &str) -> Result<u64, Error> {
                client.execute(sql, &[&kind]).await
            }
        },
    ));
}

#[test]
fn error_label_derive() {
    insta::assert_snapshot!(pretty(&crate::error_label::derive(quote! {
        enum LoadError<E> {
            Timeout,
            Refused(String),
            Upstream { source: E },
        }
    })));
}

#[test]
fn step_with_datasets() {
    insta::assert_snapshot!(expand(
        Kind::Step,
        quote!(
            rows,
            inputs = "file:/data/orders.csv",
            outputs = "postgres://db:5432/shop.public.orders, file:orders_clean.csv"
        ),
        quote! {
            fn load(path: &str) -> Vec<Order> {
                read(path)
            }
        },
    ));
}
