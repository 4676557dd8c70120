//! The portal must never depend, directly or through another crate, on code
//! that handles card data. Checked against `cargo metadata`, so a new
//! dependency edge fails here before it ships.

use serde_json::Value;
use std::collections::{HashMap, HashSet, VecDeque};

const CARD_HANDLING: [&str; 3] = ["civicpay-vault", "civicpay-gateway", "civicpay-pay"];

/// Every chain of normal (non-dev) dependencies from `root` to a forbidden
/// crate, as "a -> b -> c".
fn forbidden_chains(metadata: &Value, root: &str, forbidden: &[&str]) -> Vec<String> {
    let name_of: HashMap<&str, &str> = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?)))
        .collect();
    let mut edges: HashMap<&str, Vec<&str>> = HashMap::new();
    for node in metadata["resolve"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let Some(id) = node["id"].as_str() else {
            continue;
        };
        let normal = node["deps"].as_array().into_iter().flatten().filter(|dep| {
            dep["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].is_null() || k["kind"] == "build")
        });
        edges.insert(id, normal.filter_map(|d| d["pkg"].as_str()).collect());
    }
    let Some(start) = name_of.iter().find(|(_, n)| **n == root).map(|(id, _)| *id) else {
        return vec![format!("{root} not found in the metadata")];
    };
    let mut chains = Vec::new();
    let mut seen = HashSet::from([start]);
    let mut queue = VecDeque::from([vec![start]]);
    while let Some(path) = queue.pop_front() {
        let Some(last) = path.last() else { continue };
        for next in edges.get(last).into_iter().flatten() {
            let mut longer = path.clone();
            longer.push(next);
            if forbidden.contains(name_of.get(next).unwrap_or(&"")) {
                chains.push(
                    longer
                        .iter()
                        .map(|id| *name_of.get(id).unwrap_or(id))
                        .collect::<Vec<_>>()
                        .join(" -> "),
                );
            } else if seen.insert(next) {
                queue.push_back(longer);
            }
        }
    }
    chains
}

#[test]
fn the_portal_does_not_depend_on_card_handling_code() {
    let rustc = std::process::Command::new("rustc")
        .arg("-vV")
        .output()
        .unwrap();
    let host = String::from_utf8_lossy(&rustc.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .unwrap();
    let output = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--filter-platform",
            &host,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    let names: Vec<&str> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(
        names.contains(&"civicpay-vault"),
        "the check must see the vault crate to mean anything"
    );
    assert_eq!(
        forbidden_chains(&metadata, "civicpay-portal", &CARD_HANDLING),
        Vec::<String>::new()
    );
}

#[test]
fn the_check_finds_a_dependency_planted_on_purpose() {
    let planted = serde_json::json!({
        "packages": [
            {"id": "p", "name": "civicpay-portal"},
            {"id": "s", "name": "civicpay-store"},
            {"id": "v", "name": "civicpay-vault"},
            {"id": "t", "name": "test-helper"}
        ],
        "resolve": {"nodes": [
            {"id": "p", "deps": [
                {"pkg": "s", "dep_kinds": [{"kind": null}]},
                {"pkg": "t", "dep_kinds": [{"kind": "dev"}]}
            ]},
            {"id": "s", "deps": [{"pkg": "v", "dep_kinds": [{"kind": null}]}]},
            {"id": "t", "deps": [{"pkg": "v", "dep_kinds": [{"kind": null}]}]},
            {"id": "v", "deps": []}
        ]}
    });
    assert_eq!(
        forbidden_chains(&planted, "civicpay-portal", &CARD_HANDLING),
        vec!["civicpay-portal -> civicpay-store -> civicpay-vault".to_owned()],
        "a transitive normal dependency is found; a dev-only one is not"
    );
}
