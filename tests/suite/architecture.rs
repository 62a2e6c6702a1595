//! The core's modules follow the pipeline one way: a module uses only the modules of the
//! layers below it, so there is no import cycle and a newcomer can tell from the tree where a
//! change goes. `docs/architecture.md` draws the same layers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first. A module may use the modules of lower layers only; modules of
/// one layer do not use each other.
const LAYERS: &[&[&str]] = &[
    &["time"],
    &["token"],
    &["model"],
    &["bundle", "source"],
    &["decide"],
    &["authzen"],
    &["tools"],
];

/// Modules that only gather what the layers define (the crate's error, its limits); they may
/// use any layer, and no layer uses them.
const FACADES: &[&str] = &["error", "limits"];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`src/token/jws.rs` → `token`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_str()
        .unwrap();
    first.trim_end_matches(".rs").to_owned()
}

/// The top-level modules a file names through `crate::`, outside its unit tests.
fn uses(text: &str) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]\nmod tests").next().unwrap();
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{a::X, b::{Y, Z}}`: the first name of each top-level entry.
            let mut depth = 0;
            let mut entry_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => entry_start = true,
                    c if entry_start && (c.is_ascii_alphabetic() || c == '_') => {
                        let name: String = group[i..]
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect();
                        found.insert(name);
                        entry_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            found.insert(name);
        }
    }
    found
}

/// Which top-level modules each top-level module uses.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let module = module_of(&src, &file);
        if ["lib", "bin", "testing"].contains(&module.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let used: Vec<String> = uses(&text).into_iter().filter(|m| *m != module).collect();
        graph.entry(module).or_default().extend(used);
    }
    graph
}

#[test]
fn every_module_has_a_layer() {
    for module in module_graph().keys() {
        assert!(
            layer_of(module).is_some() || FACADES.contains(&module.as_str()),
            "module `{module}` is in no layer: add it to LAYERS and docs/architecture.md"
        );
    }
}

#[test]
fn modules_use_only_lower_layers() {
    let mut wrong = Vec::new();
    for (module, used) in module_graph() {
        for target in used {
            if FACADES.contains(&target.as_str()) {
                wrong.push(format!("{module} uses the facade {target}"));
                continue;
            }
            if FACADES.contains(&module.as_str()) {
                continue;
            }
            let (Some(from), Some(to)) = (layer_of(&module), layer_of(&target)) else {
                wrong.push(format!("{module} uses {target}, which has no layer"));
                continue;
            };
            if to >= from {
                wrong.push(format!(
                    "{module} (layer {from}) uses {target} (layer {to})"
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "dependencies against the pipeline:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_check_reads_grouped_and_nested_imports() {
    let text = "use crate::{token::{A, B}, model::C};\nfn f() { crate::time::now(); }\n\
                #[cfg(test)]\nmod tests { use crate::tools::X; }";
    let found: Vec<String> = uses(text).into_iter().collect();
    assert_eq!(found, ["model", "time", "token"]);
}

#[test]
fn the_architecture_page_names_every_layer() {
    let page =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/architecture.md"))
            .unwrap();
    for module in LAYERS.iter().flat_map(|l| l.iter()) {
        assert!(
            page.contains(&format!("src/{module}/")) || page.contains(&format!("src/{module}.rs")),
            "docs/architecture.md does not show src/{module}"
        );
    }
}
