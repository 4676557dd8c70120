//! Hashes everything that shapes the card page (templates, the stylesheet,
//! the translations) into a manifest compiled into the binary, with the git
//! commit, so every page served can say which build served it and a
//! monitor can check the page against what this build should send.

use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn files_in(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = format!("{prefix}/{}", entry.file_name().to_string_lossy());
        if path.is_dir() {
            files_in(&path, &name, out);
        } else {
            out.push((name, path));
        }
    }
}

fn git_commit(dir: &Path) -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(dir)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let web = crate_dir.join("../web");
    let mut files = Vec::new();
    files_in(&crate_dir.join("templates"), "pay/templates", &mut files);
    files_in(&web.join("assets"), "web/assets", &mut files);
    files_in(&web.join("locales"), "web/locales", &mut files);
    files.sort();
    let mut assets = String::from("pub(crate) const ASSETS: &[(&str, &str)] = &[\n");
    for (name, path) in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let bytes = std::fs::read(path).unwrap_or_default();
        let hash: String = Sha256::digest(&bytes)
            .iter()
            .fold(String::new(), |mut s, b| {
                let _ = write!(s, "{b:02x}");
                s
            });
        let _ = writeln!(assets, "    ({name:?}, {hash:?}),");
    }
    assets.push_str("];\n");
    for dir in ["templates", "../web/assets", "../web/locales"] {
        println!("cargo:rerun-if-changed={}", crate_dir.join(dir).display());
    }
    let git_dir = crate_dir.join("../../.git");
    for watched in ["HEAD", "refs/heads"] {
        let path = git_dir.join(watched);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    let _ = writeln!(
        assets,
        "pub(crate) const GIT_COMMIT: &str = {:?};",
        git_commit(&crate_dir)
    );
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("build_manifest.rs");
    if let Err(e) = std::fs::write(&out, assets) {
        println!("cargo:warning=cannot write the build manifest: {e}");
    }
}
