#![no_main]
//! Model-card front matter: any text must parse or fail with an error, never panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = fineprint_license::frontmatter::parse(text);
    }
});
