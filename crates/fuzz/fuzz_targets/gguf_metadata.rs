#![no_main]
//! The license engine's GGUF metadata reader, on whole files and on prefixes.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fineprint_license::gguf::read_metadata(data, data.len() as u64);
    let _ = fineprint_license::gguf::read_metadata(data, u64::MAX);
});
