//! Text to tokenize, shared by the tokenizer tests: text of many kinds
//! written for them, and the first few KB of each real license folder
//! beside the project.

use std::path::Path;

/// Text of many kinds, written for these tests: prose, code, markup, numbers,
/// runs of spaces and newlines, scripts other than Latin, emoji, the chat
/// format's own tokens, and characters no vocabulary has.
pub const TEXTS: &[&str] = &[
    "The Gemma Terms of Use say that a person who builds a product with the model must",
    "  leading spaces,   runs of   spaces, and trailing ones   ",
    "line one\nline two\n\n\nafter blank lines\r\nwindows line\ttab\t\tend",
    "fn main() {\n    let x: Vec<u32> = (0..10).map(|i| i * i).collect();\n    println!(\"{x:?}\");\n}\n",
    "<start_of_turn>user\nWhat may I do with this model?<end_of_turn>\n<start_of_turn>model\n",
    "<table><tr><td>cell</td></tr></table> <b>bold</b> &amp; <a href=\"https://example.org/x?y=1\">link</a>",
    "1234567890 3.14159 -42 1e-9 0x1F 2026-12-06 12:34:56 $1,000,000.00 50% 1/3",
    "日本語のテキストと中文文本，还有한국어 문장도 있습니다。",
    "Русский текст, ελληνικά, עברית, العربية, हिन्दी, ไทย, Tiếng Việt.",
    "emoji 😀🎉👩‍💻🏳️‍🌈 and symbols ∑∫√∞ ≠ ≤ ≥ → ← © ® ™ § ¶ • …",
    "rare characters: \u{1D54F}\u{1F9EC}\u{E000}\u{10FFFD} \u{0301}e\u{0301} \u{200B}zero\u{200D}width",
    "MIXEDcase camelCaseWords snake_case_words kebab-case-words SCREAMING_CASE",
    "Licensed under the Apache License, Version 2.0 (the \"License\"); you may not use this file except in compliance with the License.",
    "a",
    " ",
    "",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "............................................................ ---------- ==========",
];

/// `TEXTS` and a license text from each fixture folder; missing fixtures fail.
pub fn all() -> Vec<String> {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/licenses");
    let mut texts: Vec<String> = TEXTS.iter().map(|t| t.to_string()).collect();
    let mut folders: Vec<_> = std::fs::read_dir(&fixtures)
        .unwrap_or_else(|e| panic!("{} ({e}): the license fixtures", fixtures.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    folders.sort();
    for folder in &folders {
        let mut files: Vec<_> =
            std::fs::read_dir(folder).expect("folder").filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        if let Some(text) = files.iter().find_map(|f| std::fs::read_to_string(f).ok().filter(|t| t.len() > 200)) {
            texts.push(text.chars().take(3000).collect());
        }
    }
    assert!(texts.len() > TEXTS.len() + 40, "license fixtures read: {}", texts.len() - TEXTS.len());
    texts
}
