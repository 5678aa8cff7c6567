//! No dependency circle between the library's files: every `crate::` and
//! `super::` path in `src/` is resolved to the file that defines it, and the
//! graph of those references must have no cycle. lib.rs (the crate root,
//! which only declares modules and re-exports) is left out, as are `mod`
//! declarations and unit tests; a parent module using its own child by name
//! (`freshness::check_inputs` in stages/mod.rs) is containment, not a
//! reference between modules. A circle found names its files in order.
//!
//! And no module uses one of a higher layer ([`LAYERS`]): a stage never
//! reaches up to the runner, the exporter or a front end.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file: src/stages/modeling/mod.rs -> [stages, modeling].
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts
        .last()
        .is_some_and(|p| p == "mod" || p == "lib" || p == "main")
    {
        parts.pop();
    }
    parts
}

/// The file defining the longest prefix of `path` that is a module.
fn file_of(src: &Path, path: &[String]) -> Option<PathBuf> {
    (1..=path.len()).rev().find_map(|n| {
        let base = path[..n].iter().fold(src.to_path_buf(), |p, s| p.join(s));
        [base.with_extension("rs"), base.join("mod.rs")]
            .into_iter()
            .find(|f| f.is_file())
    })
}

/// Module paths referenced in `text`, resolved against `module` (for
/// `super::`), one per `crate::a::b` or `super::a` occurrence; braces in
/// `use` lists are expanded one level (`crate::a::{b, c}`).
fn references(text: &str, module: &[String], is_mod_rs: bool) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let words: Vec<&str> = text
        .split(|c: char| !(ident(c) || c == ':' || c == '{' || c == ',' || c == ' '))
        .collect();
    for chunk in words {
        for start in ["crate::", "super::"] {
            let mut rest = chunk;
            while let Some(i) = rest.find(start) {
                let tail = &rest[i + start.len()..];
                let mut base: Vec<String> = if start == "crate::" {
                    Vec::new()
                } else {
                    // `super` of a file's own module: its parent (mod.rs
                    // files are their folder's module).
                    let mut m = module.to_vec();
                    if !is_mod_rs || !m.is_empty() {
                        m.pop();
                    }
                    m
                };
                let path: String = tail
                    .chars()
                    .take_while(|c| ident(*c) || *c == ':')
                    .collect();
                let mut segs: Vec<String> = path
                    .split("::")
                    .filter(|s| !s.is_empty() && *s != "super")
                    .map(String::from)
                    .collect();
                base.append(&mut segs);
                out.push(base.clone());
                // `crate::a::{b, c}`: each listed item too.
                if let Some(list) = tail[path.len()..].strip_prefix('{') {
                    for item in list.split([',', '}']).map(str::trim) {
                        let item = item.split("::").next().unwrap_or("").trim();
                        if !item.is_empty() && item.chars().all(ident) {
                            let mut p = base.clone();
                            p.push(item.to_string());
                            out.push(p);
                        }
                    }
                }
                rest = tail;
            }
        }
    }
    out
}

/// The library's files and, for each, the files it references.
fn file_edges(src: &Path) -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let root = [src.join("lib.rs"), src.join("main.rs")];
    let mut edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for file in files.iter().filter(|f| !root.contains(f)) {
        let text = std::fs::read_to_string(file).expect("read");
        // The library's dependencies, not its unit tests' (at the end of a
        // file by this project's convention).
        let text = match text.find("#[cfg(test)]\nmod ") {
            Some(i) => text[..i].to_string(),
            None => text,
        };
        // Module declarations and comments (doc links) are not dependencies.
        let text: String = text
            .lines()
            .map(str::trim_start)
            .filter(|l| {
                !l.starts_with("mod ") && !l.starts_with("pub mod ") && !l.starts_with("//")
            })
            .collect::<Vec<_>>()
            .join("\n");
        let module = module_of(src, file);
        let is_mod_rs = file.ends_with("mod.rs");
        for path in references(&text, &module, is_mod_rs) {
            if let Some(target) = file_of(src, &path) {
                if &target != file && !root.contains(&target) {
                    edges.entry(file.clone()).or_default().insert(target);
                }
            }
        }
    }
    edges
}

/// A file's top module: src/stages/modeling/mod.rs -> stages.
fn top(src: &Path, p: &Path) -> String {
    let rel = p.strip_prefix(src).unwrap_or(p);
    let first = rel
        .iter()
        .next()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    first.trim_end_matches(".rs").to_string()
}

#[test]
fn no_file_of_the_library_depends_on_itself_through_others() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = file_edges(&src);
    assert!(
        edges.values().map(BTreeSet::len).sum::<usize>() > 50,
        "too few references found: the scan is broken"
    );
    let name = |p: &PathBuf| p.strip_prefix(&src).unwrap_or(p).display().to_string();
    if let Some(circle) = find_circle(&edges) {
        let names: Vec<String> = circle.iter().map(name).collect();
        panic!("dependency circle between files: {}", names.join(" -> "));
    }
    // The same at the level of the crate's modules (stages, kfp, plots,
    // contract, artifact, ...): a parent module and its children may use
    // each other, two modules may not.
    let top = |p: &PathBuf| PathBuf::from(top(&src, p));
    let mut modules: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for (from, tos) in &edges {
        for to in tos {
            if top(from) != top(to) {
                modules.entry(top(from)).or_default().insert(top(to));
            }
        }
    }
    if let Some(circle) = find_circle(&modules) {
        let names: Vec<String> = circle.iter().map(|p| p.display().to_string()).collect();
        panic!("dependency circle between modules: {}", names.join(" -> "));
    }
}

/// The house's layers, lowest first: a module may use modules of its own
/// layer and of the layers below, never one above. Facts and tools that
/// know no stage at the bottom; what stages read and make for the charts and
/// the notebook; the stages; what runs, ships or checks them; the front
/// ends. A new module is placed here by whoever adds it.
const LAYERS: [&[&str]; 5] = [
    &[
        "error",
        "version",
        "files",
        "progress",
        "rng",
        "hash",
        "calendar",
        "indicators",
        "scoring",
        "columns",
        "lock",
        "artifact",
        "model_params",
        "table",
        "contract",
    ],
    &["synth", "runs", "plots"],
    &["stages"],
    &["kfp", "runner", "doctor"],
    &["args", "notebook", "cli", "main", "terminal"],
];

fn layer_of(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|l| l.contains(&module))
        .unwrap_or_else(|| panic!("src/{module}: in no layer of tests/module_graph.rs LAYERS"))
}

/// Every reference in `src` from a module to one of a higher layer.
fn upward_imports(src: &Path) -> Vec<String> {
    let mut upward = Vec::new();
    for (from, tos) in file_edges(src) {
        let m = top(src, &from);
        for to in tos {
            let t = top(src, &to);
            if layer_of(&t) > layer_of(&m) {
                upward.push(format!(
                    "{} (layer {}) uses {} (layer {})",
                    from.strip_prefix(src).unwrap_or(&from).display(),
                    layer_of(&m),
                    to.strip_prefix(src).unwrap_or(&to).display(),
                    layer_of(&t)
                ));
            }
        }
    }
    upward
}

#[test]
fn no_module_uses_one_of_a_higher_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let upward = upward_imports(&src);
    assert!(
        upward.is_empty(),
        "imports from a lower layer to a higher one:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_layer_check_sees_an_upward_import() {
    // A tree of two files where a stage reaches up to the runner.
    let src = std::env::temp_dir().join(format!("crypto-lab-layers-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&src);
    std::fs::create_dir_all(src.join("stages")).expect("mkdir");
    std::fs::write(src.join("stages/mod.rs"), "use crate::runner::run_stage;\n").expect("write");
    std::fs::write(src.join("runner.rs"), "pub fn run_stage() {}\n").expect("write");
    let upward = upward_imports(&src);
    let _ = std::fs::remove_dir_all(&src);
    assert_eq!(
        upward,
        vec!["stages/mod.rs (layer 2) uses runner.rs (layer 3)".to_string()]
    );
}

/// A cycle of the graph, by depth-first search for a back edge.
fn find_circle(edges: &BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> Option<Vec<PathBuf>> {
    fn visit(
        node: &PathBuf,
        edges: &BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        state: &mut BTreeMap<PathBuf, u8>,
        stack: &mut Vec<PathBuf>,
    ) -> Option<Vec<PathBuf>> {
        state.insert(node.clone(), 1);
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            match state.get(next) {
                Some(1) => {
                    let at = stack.iter().position(|n| n == next).unwrap_or(0);
                    let mut circle = stack[at..].to_vec();
                    circle.push(next.clone());
                    return Some(circle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(next, edges, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node.clone(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in edges.keys() {
        if !state.contains_key(node) {
            if let Some(c) = visit(node, edges, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}
