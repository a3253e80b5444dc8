//! Checks that keep the documentation true, run by plain `cargo test`.
#![allow(clippy::unwrap_used)]

use provdiff_core::Code;

fn read(path: &str) -> String {
    fs_err::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

#[test]
fn every_finding_code_is_documented_with_an_example() {
    let doc = read("docs/findings.md");
    for code in Code::ALL {
        let heading = format!("### `{}`", code.as_str());
        let start = doc.find(&heading).unwrap_or_else(|| panic!("docs/findings.md lacks {heading}"));
        let section = &doc[start + heading.len()..];
        let section = &section[..section.find("\n### ").unwrap_or(section.len())];
        let severity = serde_json::to_value(code.severity()).unwrap();
        assert!(
            section.contains(&format!("*{}.*", severity.as_str().unwrap())),
            "the section for {code} does not state its severity"
        );
        assert!(section.contains("```\n"), "the section for {code} has no example");
    }
}

#[test]
fn no_documented_code_is_unknown() {
    let doc = read("docs/findings.md");
    let known: Vec<&str> = Code::ALL.iter().map(|code| code.as_str()).collect();
    for line in doc.lines().filter(|line| line.starts_with("### `")) {
        let name = line.trim_start_matches("### `").trim_end_matches('`');
        assert!(known.contains(&name), "docs/findings.md documents {name}, which provdiff does not emit");
    }
}

#[test]
fn the_architecture_document_names_every_crate() {
    let doc = read("docs/ARCHITECTURE.md");
    let crates = fs_err::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("crates")).unwrap();
    for entry in crates {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(doc.contains(&format!("### `{name}`")), "docs/ARCHITECTURE.md has no section for {name}");
    }
}
