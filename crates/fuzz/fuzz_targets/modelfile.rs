#![no_main]
//! Ollama Modelfiles: any text yields license documents or none, never a panic,
//! and every document's lines map into the Modelfile; the whole pipeline then
//! checks a folder holding it.
use fineprint_license::{check, InputFile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines = text.lines().count();
    for doc in fineprint_license::modelfile::licenses("Modelfile", &text) {
        let line = doc.line_of(doc.text.len().saturating_sub(1));
        assert!(line >= 1 && line <= lines.max(1), "line {line} of {lines}");
    }
    let _ = check(&[InputFile { path: "Modelfile".into(), size: data.len() as u64, bytes: data.to_vec() }]);
});
