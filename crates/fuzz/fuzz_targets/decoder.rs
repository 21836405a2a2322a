#![no_main]
//! Our llama-family decoder on arbitrary GGUF bytes that pass the pre-flight:
//! inconsistent shapes, head counts and tensor types must be load errors, and
//! whatever loads must run a token without panicking, its cache in any form.
use fineprint_inference::decoder::Decoder;
use fineprint_inference::arch::Arch;
use fineprint_inference::gguf::read_content;
use fineprint_inference::preflight::plan;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut cur = std::io::Cursor::new(data);
    let Ok(content) = read_content("fuzz.gguf", &mut cur) else { return };
    let Ok(p) = plan("fuzz.gguf", &content, data.len() as u64, Some(1 << 28)) else { return };
    if !matches!(p.arch, Arch::Llama | Arch::Qwen2 | Arch::Qwen3) {
        return;
    }
    if let Ok(mut d) = Decoder::load(p.arch, &content, &mut cur, 16, p.layers) {
        // The cache in f16, stepping down as the pre-flight's budget says, or
        // at its last rung from the first position.
        match data.len() % 3 {
            0 => {}
            1 => d.set_cache_budget(p.cache_budget.map(|b| b as usize)),
            _ => d.set_cache_budget(Some(0)),
        }
        let _ = d.forward(&[0, 1], 0);
        let _ = d.forward(&[2], 2);
    }
});
