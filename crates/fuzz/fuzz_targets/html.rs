#![no_main]
//! License terms saved as HTML: any bytes become text whose every line maps to
//! a line of the file, and the whole pipeline reads them as GEMMA_TERMS.html.
use fineprint_license::{check, html, InputFile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let t = html::to_text(&text);
    let lines_in_file = text.matches('\n').count() + 1;
    assert_eq!(t.source_lines.len(), t.text.lines().count().max(1));
    assert!(t.source_lines.iter().all(|&l| l >= 1 && l <= lines_in_file), "{:?} > {lines_in_file}", t.source_lines);
    let files = [InputFile { path: "TERMS.html".into(), size: data.len() as u64, bytes: data.to_vec() }];
    for f in check(&files).findings {
        assert!(f.line <= lines_in_file);
    }
});
