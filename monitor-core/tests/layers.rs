//! The runtime's layering, checked from its sources: every top-level module (a folder, or a
//! single file) says in its module doc which others it may import (`May import: ...`), what it
//! imports (`crate::name` paths, `use crate::{..}` groups included) stays within that list, the
//! lists have no cycle, and `docs/ARCHITECTURE.md` names every module.
//!
//! A plain test rather than a tool: it reads the same `crate::` paths the compiler resolves, in
//! well under a second, and its failure names the file and line that goes the wrong way.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every top-level module and the files it is made of.
fn modules() -> BTreeMap<String, Vec<PathBuf>> {
    let mut out = BTreeMap::new();
    for entry in fs::read_dir(src()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            let mut files = Vec::new();
            collect(&path, &mut files);
            out.insert(name, files);
        } else if path.extension().is_some_and(|e| e == "rs") && name != "lib" {
            out.insert(name, vec![path]);
        }
    }
    out
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// The file whose doc describes the module: `name/mod.rs` or `name.rs`.
fn doc_file(name: &str) -> PathBuf {
    let folder = src().join(name).join("mod.rs");
    if folder.exists() {
        folder
    } else {
        src().join(format!("{name}.rs"))
    }
}

/// Code without comments (doc links name modules without importing them) or string literals.
fn code_of(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut in_str = false;
        let mut prev = ' ';
        let mut kept = String::new();
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if !in_str && c == '/' && chars.get(i + 1) == Some(&'/') {
                break;
            }
            if c == '"' && prev != '\\' {
                in_str = !in_str;
            } else if !in_str {
                kept.push(c);
            }
            prev = c;
            i += 1;
        }
        out.push_str(&kept);
        out.push('\n');
    }
    out
}

/// The top-level modules a piece of code names through `crate::`, with the line of each.
fn imports(code: &str, known: &BTreeSet<String>) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find("crate::").map(|i| i + from) {
        let after = &code[at + "crate::".len()..];
        let line = code[..at].matches('\n').count() + 1;
        // Not `some_crate::`: the word before must end there.
        let whole_word = !code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_');
        if whole_word {
            if let Some(group) = after.strip_prefix('{') {
                for item in top_level_items(group) {
                    push_name(&item, known, line, &mut found);
                }
            } else {
                push_name(after, known, line, &mut found);
            }
        }
        from = at + "crate::".len();
    }
    found
}

/// The items at the top of a `use crate::{...}` group, over as many lines as it takes.
fn top_level_items(group: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut depth = 0;
    let mut current = String::new();
    for c in group.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    items.push(current);
    items
}

fn push_name(path: &str, known: &BTreeSet<String>, line: usize, found: &mut Vec<(String, usize)>) {
    let name: String = path
        .trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if known.contains(&name) {
        found.push((name, line));
    }
}

/// A module's `May import:` list.
fn allowed(name: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let path = doc_file(name);
    let text = fs::read_to_string(&path).unwrap();
    let line = text
        .lines()
        .take_while(|l| l.starts_with("//!") || l.trim().is_empty())
        .find_map(|l| l.strip_prefix("//! May import:"))
        .unwrap_or_else(|| {
            panic!(
                "{} has no `May import:` line in its module doc",
                path.display()
            )
        });
    if line.trim() == "every folder." {
        return known.iter().filter(|m| *m != name).cloned().collect();
    }
    if line.trim() == "nothing from this crate." {
        return BTreeSet::new();
    }
    let names: BTreeSet<String> = line
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    for n in &names {
        assert!(
            known.contains(n),
            "{}: `May import:` names `{n}`, which is no module",
            path.display()
        );
    }
    names
}

#[test]
fn every_module_imports_only_what_its_doc_allows() {
    let modules = modules();
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    let mut wrong = Vec::new();
    for (name, files) in &modules {
        let may = allowed(name, &known);
        for file in files {
            let code = code_of(&fs::read_to_string(file).unwrap());
            // Code under `#[cfg(test)]` is the module's own tests: it may use anything.
            let code = code
                .split("#[cfg(test)]\nmod tests")
                .next()
                .unwrap_or_default();
            for (import, line) in imports(code, &known) {
                if import != *name && !may.contains(&import) {
                    wrong.push(format!(
                        "{}:{line}: `{name}` imports `{import}`, not in its `May import:` list",
                        file.display()
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layering:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_allowed_imports_have_no_cycle() {
    let known: BTreeSet<String> = modules().keys().cloned().collect();
    let graph: BTreeMap<String, BTreeSet<String>> = known
        .iter()
        .map(|m| (m.clone(), allowed(m, &known)))
        .collect();
    // Peel off modules that import nothing left; whatever remains sits on a cycle.
    let mut left = graph.clone();
    loop {
        let leaves: Vec<String> = left
            .iter()
            .filter(|(_, deps)| deps.iter().all(|d| !left.contains_key(d)))
            .map(|(m, _)| m.clone())
            .collect();
        if leaves.is_empty() {
            break;
        }
        for m in leaves {
            left.remove(&m);
        }
    }
    assert!(
        left.is_empty(),
        "these modules import each other in a cycle: {:?}",
        left.keys().collect::<Vec<_>>()
    );
}

#[test]
fn the_architecture_document_names_every_module() {
    let doc =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/ARCHITECTURE.md"))
            .expect("docs/ARCHITECTURE.md");
    let missing: Vec<String> = modules()
        .keys()
        .filter(|m| !doc.contains(&format!("`{m}`")) && !doc.contains(&format!("`{m}/`")))
        .cloned()
        .collect();
    assert!(
        missing.is_empty(),
        "docs/ARCHITECTURE.md does not name {missing:?}"
    );
}

#[test]
fn the_checker_sees_imports_in_every_form() {
    let known: BTreeSet<String> = ["call", "query", "run"].map(str::to_owned).into();
    let code = code_of(
        "use crate::call::guard;\nuse crate::{\n    query::plan,\n    run,\n};\n\
         let x = crate::call::f(); // crate::run\nlet s = \"crate::query\";\nuse other_crate::run;",
    );
    let found: Vec<String> = imports(&code, &known).into_iter().map(|(m, _)| m).collect();
    assert_eq!(found, ["call", "query", "run", "call"]);
}
