//! Embeds the shipped weights (`weights/shipped.bpk`) when present; without them the crate still
//! builds and `Classifier::embedded()` reports that no model was embedded.
fn main() {
    let p = std::path::Path::new("weights/shipped.bpk");
    println!("cargo:rerun-if-changed=weights/shipped.bpk");
    println!("cargo:rustc-check-cfg=cfg(moodlens_embedded_weights)");
    if p.is_file() {
        println!("cargo:rustc-cfg=moodlens_embedded_weights");
    }
    println!("cargo:rerun-if-changed=weights/shipped.json");
    println!("cargo:rustc-check-cfg=cfg(moodlens_embedded_card)");
    if std::path::Path::new("weights/shipped.json").is_file() {
        println!("cargo:rustc-cfg=moodlens_embedded_card");
    }
}
