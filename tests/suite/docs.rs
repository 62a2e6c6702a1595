//! The examples in `docs/` are real: every JSON block marked `json policy` compiles.

use std::path::Path;

fn blocks(markdown: &str, tag: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim() == format!("```{tag}") => current = Some(String::new()),
            Some(block) if line.trim() == "```" => {
                out.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    out
}

#[test]
fn every_policy_in_the_docs_compiles() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let mut total = 0;
    for entry in std::fs::read_dir(docs).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, block) in blocks(&text, "json policy").iter().enumerate() {
            let compiled = portcullis::source::parse_source(block.as_bytes())
                .and_then(|s| portcullis::source::compile(&s));
            assert!(
                compiled.is_ok(),
                "{} block {i}: {}",
                path.display(),
                compiled.unwrap_err()
            );
            total += 1;
        }
    }
    assert!(total >= 2, "expected policy examples in docs/");
}

#[test]
fn every_json_block_in_the_docs_parses() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    for entry in std::fs::read_dir(docs).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for block in blocks(&text, "json") {
            assert!(
                serde_json::from_str::<serde_json::Value>(&block).is_ok(),
                "{}: not JSON:\n{block}",
                path.display()
            );
        }
    }
}
