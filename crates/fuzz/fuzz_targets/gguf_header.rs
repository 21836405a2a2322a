#![no_main]
//! The inference engine's pre-flight on arbitrary GGUF bytes: header, tensor
//! table, truncation and memory checks must refuse, never panic or allocate wildly.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut cur = std::io::Cursor::new(data);
    if let Ok(content) = fineprint_inference::gguf::read_content("fuzz.gguf", &mut cur) {
        let _ = fineprint_inference::preflight::plan("fuzz.gguf", &content, data.len() as u64, Some(1 << 30));
    }
});
