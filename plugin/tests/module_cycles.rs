//! The plugin's modules depend on each other in one direction only (issue
//! "an open core": no import cycles), and so do the reference service's.
//! Judged on the source: every `crate::m` (or `super::m` in a folder) of a
//! module's non-test code, comments excluded.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// module -> the sibling modules its code names.
fn graph(dir: &Path, prefix: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut modules = BTreeMap::new();
    for entry in std::fs::read_dir(dir).expect("the source folder") {
        let path = entry.expect("an entry").path();
        let name = if path.is_dir() {
            path.file_name().unwrap().to_string_lossy().into_owned()
        } else if path.extension().is_some_and(|e| e == "rs") {
            path.file_stem().unwrap().to_string_lossy().into_owned()
        } else {
            continue;
        };
        let text = if path.is_dir() {
            let mut all = String::new();
            for f in std::fs::read_dir(&path).unwrap().flatten() {
                if f.path().extension().is_some_and(|e| e == "rs") {
                    all.push_str(&std::fs::read_to_string(f.path()).unwrap());
                }
            }
            all
        } else {
            std::fs::read_to_string(&path).unwrap()
        };
        let mut deps = BTreeSet::new();
        for chunk in text.split("#[cfg(test)]").take(1) {
            for line in chunk.lines().map(str::trim_start).filter(|l| !l.starts_with("//")) {
                for (i, _) in line.match_indices(prefix) {
                    let rest = &line[i + prefix.len()..];
                    let dep: String = rest.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                    if !dep.is_empty() && dep != name {
                        deps.insert(dep);
                    }
                }
            }
        }
        modules.insert(name, deps);
    }
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    for deps in modules.values_mut() {
        deps.retain(|d| names.contains(d));
    }
    modules
}

/// A cycle, if any, as the path that closes it.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            let mut c = path[i..].to_vec();
            c.push(n.to_string());
            return Some(c);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_string());
        for d in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(d, g, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_plugins_modules_have_no_import_cycle() {
    let g = graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), "crate::");
    assert!(g.len() > 10, "{g:?}");
    assert_eq!(cycle(&g), None, "{g:#?}");
}

#[test]
fn the_services_modules_have_no_import_cycle() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../host-harness/src/serve");
    let mut g = graph(&dir, "super::");
    for (module, deps) in graph(&dir, "crate::serve::") {
        g.entry(module).or_default().extend(deps);
    }
    assert!(g.len() > 5, "{g:?}");
    assert_eq!(cycle(&g), None, "{g:#?}");
}
