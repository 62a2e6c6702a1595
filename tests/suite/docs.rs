//! The docs are real: every JSON block marked `json policy` compiles, and the tables of codes list exactly the codes the core has.

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

/// The backticked codes in the first column of the table under `## <section>` of a page.
fn table_codes(markdown: &str, section: &str) -> Vec<String> {
    let heading = format!("## {section}");
    markdown
        .lines()
        .skip_while(|line| line.trim() != heading)
        .skip(1)
        .take_while(|line| !line.starts_with("## "))
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_details_table_lists_every_detail_code_and_no_other() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let decisions = std::fs::read_to_string(docs.join("decisions.md")).unwrap();
    let tokens = std::fs::read_to_string(docs.join("tokens.md")).unwrap();
    let listed = table_codes(&decisions, "Details");
    let mut expected: Vec<String> = vec!["token_*".into()];
    expected.extend(
        portcullis::Detail::DECISION
            .iter()
            .map(|d| d.code().to_owned()),
    );
    assert_eq!(listed, expected, "docs/decisions.md `## Details`");
    // The token errors the `token_*` row points to: each is named where the checks are listed.
    let checks: String = tokens
        .lines()
        .skip_while(|line| !line.starts_with("## What is checked"))
        .skip(1)
        .take_while(|line| !line.starts_with("## "))
        .collect();
    let token_codes = portcullis::token::TokenError::CODES;
    let missing: Vec<&str> = token_codes
        .iter()
        .copied()
        .filter(|code| !checks.contains(&format!("`{code}`")))
        .collect();
    assert!(missing.is_empty(), "docs/tokens.md misses {missing:?}");
    assert!(
        decisions.contains(&format!("one of the {} codes", token_codes.len())),
        "the `token_*` row counts the token codes"
    );
    // Detail::codes() is exactly the token codes and the table's other rows.
    let all: Vec<String> = portcullis::Detail::codes().map(str::to_owned).collect();
    let mut documented: Vec<String> = token_codes.iter().map(|c| (*c).to_owned()).collect();
    documented.extend(listed.into_iter().skip(1));
    assert_eq!(all, documented);
}
