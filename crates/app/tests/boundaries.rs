//! The crate boundaries the README promises, checked with `cargo tree` itself (normal, build and
//! dev dependencies, as `cargo tree -p <crate>` shows them): the libraries parse no flags (no clap
//! anywhere below them), vision never reaches the model or the NN stack, the recommender neither the
//! NN stack nor OpenCV.

use std::collections::BTreeSet;
use std::path::Path;

/// The package names `cargo tree -p krate` lists.
fn tree(krate: &str) -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = std::process::Command::new(env!("CARGO"))
        .current_dir(&root)
        .args([
            "tree",
            "--offline",
            "--locked",
            "-e",
            "normal,build,dev",
            "--prefix",
            "none",
            "-p",
            krate,
        ])
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree -p {krate}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[test]
fn libraries_parse_no_flags_and_keep_their_boundaries() {
    assert!(tree("moodlens").contains("clap"), "the tree is read");
    for lib in [
        "moodlens-common",
        "moodlens-session",
        "moodlens-vision",
        "moodlens-model",
        "moodlens-dnn",
        "moodlens-recommend",
        "moodlens-web",
    ] {
        let t = tree(lib);
        assert!(t.contains(lib), "{lib}: {t:?}");
        assert!(!t.contains("clap"), "{lib} depends on clap");
    }
    let vision = tree("moodlens-vision");
    for banned in ["moodlens-model", "burn", "burn-core", "tch", "anyhow"] {
        assert!(
            !vision.contains(banned),
            "moodlens-vision depends on {banned}"
        );
    }
    let recommend = tree("moodlens-recommend");
    for banned in [
        "moodlens-model",
        "moodlens-vision",
        "burn",
        "opencv",
        "anyhow",
    ] {
        assert!(
            !recommend.contains(banned),
            "moodlens-recommend depends on {banned}"
        );
    }
}
