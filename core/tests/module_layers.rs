//! The crate's modules, and each binding's, form layers: no module reaches back to one that
//! uses it (error, rate-limit headers and the operation table below the client; resources
//! and the typed surface above it; in the Python binding, client above resources above
//! pagination above resource). A cycle makes every file of it depend on every other.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level module → the top-level modules its non-test code names as `crate::x`.
fn dependencies(root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(root).unwrap();
            let top = relative
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string();
            if top == "lib" || top == "main" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let uses = graph.entry(top.clone()).or_default();
            for (i, _) in code.match_indices("crate::") {
                let name: String = code[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_' || c.is_ascii_digit())
                    .collect();
                if !name.is_empty() && name != top {
                    uses.insert(name);
                }
            }
        }
    }
    graph
}

/// One cycle, if any: a path that returns to its start.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn walk(
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        let node = path.last().unwrap().clone();
        for next in graph.get(&node).into_iter().flatten() {
            if let Some(start) = path.iter().position(|p| p == next) {
                let mut found = path[start..].to_vec();
                found.push(next.clone());
                return Some(found);
            }
            if done.contains(next) {
                continue;
            }
            path.push(next.clone());
            if let Some(found) = walk(graph, path, done) {
                return Some(found);
            }
            path.pop();
        }
        done.insert(node);
        None
    }
    let mut done = BTreeSet::new();
    for start in graph.keys() {
        if !done.contains(start)
            && let Some(found) = walk(graph, &mut vec![start.clone()], &mut done)
        {
            return Some(found);
        }
    }
    None
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn no_module_of_the_core_or_the_bindings_reaches_back_to_a_module_that_uses_it() {
    for crate_src in ["core/src", "bindings-python/src", "bindings-node/src"] {
        let graph = dependencies(&workspace().join(crate_src));
        assert!(graph.len() > 5, "{crate_src}: {graph:?}");
        if let Some(found) = cycle(&graph) {
            panic!("{crate_src}: modules in a cycle: {}", found.join(" -> "));
        }
    }
}

#[test]
fn the_checker_finds_a_cycle() {
    let mut graph = BTreeMap::new();
    graph.insert(
        "client".to_string(),
        BTreeSet::from(["resources".to_string()]),
    );
    graph.insert(
        "resources".to_string(),
        BTreeSet::from(["pagination".to_string()]),
    );
    graph.insert(
        "pagination".to_string(),
        BTreeSet::from(["client".to_string()]),
    );
    assert_eq!(
        cycle(&graph).unwrap(),
        ["client", "resources", "pagination", "client"]
    );
    graph.get_mut("pagination").unwrap().clear();
    assert!(cycle(&graph).is_none());
}
