#![allow(clippy::disallowed_types, clippy::disallowed_macros)]
//! The layer order that `src/lib.rs` documents is the real one: every `crate::`
//! path in a module's code names a module listed above it (tests and comments
//! aside).

use std::collections::HashMap;
use std::fs;
use std::path::Path;

/// The modules in the order of `src/lib.rs`'s numbered list ("N. [`name`]: ..."
/// or "N. `name`: ...": the first name on each numbered line).
fn order(lib: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in lib.lines() {
        let Some(rest) = line.strip_prefix("//! ") else {
            continue;
        };
        let Some((num, item)) = rest.split_once(". ") else {
            continue;
        };
        if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let item = item.trim_start_matches('[');
        let Some(name) = item.strip_prefix('`').and_then(|t| t.split('`').next()) else {
            continue;
        };
        out.push(name.to_string());
    }
    out
}

/// The modules that `src` (one file's text) names as `crate::name`, outside
/// comments and outside its `#[cfg(test)]` tail.
fn uses(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in src.lines() {
        let code = line.trim_start();
        if code.starts_with("#[cfg(test)]") {
            break;
        }
        if code.starts_with("//") {
            continue;
        }
        let code = code.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && !out.contains(&name) {
                out.push(name);
            }
        }
    }
    out
}

#[test]
fn the_order_parses_the_way_it_reads() {
    let lib = "//! 1. [`os`]: a\n//! 2. `block`: b\n//!    more\n//! 10. [`pool`]: c";
    assert_eq!(order(lib), ["os", "block", "pool"]);
    let src = "use crate::os::PAGE;\n// crate::heap in a comment\nlet x = crate::size::mix(1); // crate::pool\n#[cfg(test)]\nuse crate::heap;";
    assert_eq!(uses(src), ["os", "size"]);
}

#[test]
fn no_module_uses_one_below_it_in_the_list() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = fs::read_to_string(src.join("lib.rs")).unwrap();
    let order = order(&lib);
    assert!(order.len() > 10, "lib.rs's layer list not found: {order:?}");
    let rank: HashMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();
    // Modules that hold only documentation, and the tests module.
    let exempt = ["lib", "tests", "design", "performance", "testing"];
    let mut bad = Vec::new();
    // A file of src/ is its module; a file of src/<m>/ is part of module m.
    let mut files = Vec::new();
    for entry in fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            let owner = path.file_name().unwrap().to_str().unwrap().to_string();
            for sub in fs::read_dir(&path).unwrap() {
                files.push((owner.clone(), sub.unwrap().path()));
            }
        } else {
            let name = path.file_stem().unwrap().to_str().unwrap().to_string();
            files.push((name, path));
        }
    }
    for (name, path) in files {
        if path.extension() != Some("rs".as_ref()) || exempt.contains(&name.as_str()) {
            continue;
        }
        let Some(&mine) = rank.get(name.as_str()) else {
            bad.push(format!("{name} is missing from lib.rs's layer list"));
            continue;
        };
        for used in uses(&fs::read_to_string(&path).unwrap()) {
            match rank.get(used.as_str()) {
                Some(&theirs) if theirs < mine => {}
                Some(_) if used == name => {}
                Some(_) => bad.push(format!(
                    "{} uses {used}, which is not above {name}",
                    path.display()
                )),
                None => bad.push(format!(
                    "{} uses crate::{used}, which is not a listed module",
                    path.display()
                )),
            }
        }
    }
    // Every listed module exists.
    for m in &order {
        if !src.join(format!("{m}.rs")).exists() {
            bad.push(format!("lib.rs lists {m}, which has no file"));
        }
    }
    assert!(bad.is_empty(), "layer order broken:\n{}", bad.join("\n"));
}
