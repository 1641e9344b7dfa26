//! `inputs = ".."` and `outputs = ".."`: the datasets a site reads and writes, for OpenLineage.
//!
//! The string is a comma-separated list; each entry is split here, at compile time, into the
//! OpenLineage namespace and name, so the call site's static metadata holds two `&'static str`
//! per dataset and a call never parses or allocates anything:
//!
//! | written | namespace | name |
//! |---|---|---|
//! | `scheme://authority/name` | `scheme://authority` | `name` (`postgres://db:5432/shop.public.orders` gives `shop.public.orders`) |
//! | `file:///abs/path`, `file:/abs/path`, `file:rel/path` | `file` | the path as written after `file:` (`//` dropped) |
//! | `namespace:name` | `namespace` | `name` (`bigquery:project.dataset.table`) |
//!
//! An entry that fits none of these, an empty entry and a dataset listed twice are spanned
//! compile errors on the string.

use syn::LitStr;

/// One dataset: `(namespace, name)`.
pub(crate) type Dataset = (String, String);

/// Splits one entry into namespace and name, or says why it cannot.
pub(crate) fn split(entry: &str) -> Result<Dataset, String> {
    const SHAPES: &str = "a dataset is `namespace:name` or `scheme://authority/name` \
                          (`file:/data/orders.csv`, `postgres://db:5432/shop.public.orders`)";
    let entry = entry.trim();
    if let Some(path) = entry.strip_prefix("file:") {
        // `file:///abs`, `file:/abs`, `file:rel`: the local file system (namespace `file`);
        // `file://host/path` is a remote one (namespace `file://host`).
        let path = match path.strip_prefix("//") {
            Some(rest) if !rest.starts_with('/') => {
                let (host, p) = rest.split_once('/').unwrap_or((rest, ""));
                if host.is_empty() || p.is_empty() {
                    return Err(format!("`{entry}`: {SHAPES}"));
                }
                return Ok((format!("file://{host}"), format!("/{p}")));
            }
            Some(rest) => rest,
            None => path,
        };
        if path.trim().is_empty() {
            return Err(format!("`{entry}`: the file path is empty"));
        }
        return Ok(("file".to_owned(), path.to_owned()));
    }
    if let Some((scheme, rest)) = entry.split_once("://") {
        let (authority, name) = rest.split_once('/').unwrap_or((rest, ""));
        let scheme_ok = !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !scheme_ok || authority.is_empty() || name.trim().is_empty() {
            return Err(format!("`{entry}`: {SHAPES}"));
        }
        return Ok((format!("{scheme}://{authority}"), name.to_owned()));
    }
    match entry.split_once(':') {
        Some((ns, name)) if !ns.trim().is_empty() && !name.trim().is_empty() => {
            Ok((ns.trim().to_owned(), name.trim().to_owned()))
        }
        _ => Err(format!("`{entry}`: {SHAPES}")),
    }
}

/// Parses the list in `lit` (the value of option `opt` of `#[attr]`).
pub(crate) fn parse_list(lit: &LitStr, attr: &str, opt: &str) -> syn::Result<Vec<Dataset>> {
    let text = lit.value();
    let mut out: Vec<Dataset> = Vec::new();
    for entry in text.split(',') {
        if entry.trim().is_empty() {
            return Err(syn::Error::new_spanned(
                lit,
                format!(
                    "`#[{attr}]`: `{opt}` has an empty entry; list datasets separated by commas"
                ),
            ));
        }
        let d = split(entry)
            .map_err(|e| syn::Error::new_spanned(lit, format!("`#[{attr}]`: `{opt}`: {e}")))?;
        if out.contains(&d) {
            return Err(syn::Error::new_spanned(
                lit,
                format!("`#[{attr}]`: `{opt}` lists `{}` twice", entry.trim()),
            ));
        }
        out.push(d);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::split;

    fn ok(entry: &str) -> (String, String) {
        split(entry).unwrap_or_else(|e| panic!("{entry}: {e}"))
    }

    fn pair(ns: &str, name: &str) -> (String, String) {
        (ns.to_owned(), name.to_owned())
    }

    #[test]
    fn the_documented_shapes_split_as_the_openlineage_naming_conventions_say() {
        assert_eq!(
            ok("postgres://db:5432/shop.public.orders"),
            pair("postgres://db:5432", "shop.public.orders")
        );
        assert_eq!(
            ok("s3://bucket/raw/2026/orders.parquet"),
            pair("s3://bucket", "raw/2026/orders.parquet")
        );
        assert_eq!(
            ok("sqlite://shop.sqlite/fact_orders"),
            pair("sqlite://shop.sqlite", "fact_orders")
        );
        assert_eq!(
            ok("file:///data/orders.csv"),
            pair("file", "/data/orders.csv")
        );
        assert_eq!(
            ok("file:/data/orders.csv"),
            pair("file", "/data/orders.csv")
        );
        assert_eq!(ok("file:orders.csv"), pair("file", "orders.csv"));
        assert_eq!(
            ok("file://nas/share/orders.csv"),
            pair("file://nas", "/share/orders.csv")
        );
        assert_eq!(
            ok(" bigquery:project.dataset.table "),
            pair("bigquery", "project.dataset.table")
        );
    }

    #[test]
    fn entries_without_a_namespace_or_a_name_are_refused() {
        for bad in [
            "orders.csv",
            "file:",
            "file://",
            "file://host",
            "postgres://db:5432",
            "postgres://db:5432/",
            "://x/y",
            "p g://x/y",
            ":name",
            "ns:",
        ] {
            assert!(split(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
