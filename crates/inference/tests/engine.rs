//! The inference engine on the sample model (placed by scripts/sample.sh) and
//! on small GGUF files the tests write themselves.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use fineprint_inference::{preflight, CacheForm, Engine, InferenceError, LoadInput, Step};
use fineprint_protocol::Sampling;

/// The sample model; a test that needs it fails (not passes) when it is missing.
fn sample() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../sample/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(p.is_file(), "the sample model is not set up at {}: run scripts/sample.sh", p.display());
    p
}

/// The golden prompt and tokens from ../shared; missing data fails the test.
fn golden() -> (String, Vec<u32>, Vec<u32>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/golden");
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| {
            panic!("{} is needed ({e}): ../shared must be beside the project", dir.join(name).display())
        })
    };
    let prompt = read("prompt.txt");
    let ids: Vec<u32> = read("prompt_ids.txt")
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect();
    let g: serde_json::Value = serde_json::from_str(&read("smollm2-135m-q4_1.json")).expect("golden JSON");
    let first: Vec<u32> = g["first_generated_ids"]
        .as_array()
        .expect("first_generated_ids")
        .iter()
        .filter_map(|v| v.as_u64())
        .map(|v| v as u32)
        .collect();
    assert!(!ids.is_empty() && !first.is_empty(), "golden data in {} is empty", dir.display());
    (prompt, ids, first)
}

fn load(
    bytes: Vec<u8>,
    name: &str,
    tokenizer: Option<(&str, Vec<u8>)>,
    limit: Option<u64>,
) -> Result<Engine, InferenceError> {
    let size = bytes.len() as u64;
    Engine::load(
        LoadInput {
            model_name: name,
            reader: Cursor::new(bytes),
            file_size: size,
            tokenizer_json: tokenizer,
            tokenizer_config: None,
            memory_limit: limit,
        },
        &mut |_, _, _| {},
    )
}

fn clock() -> f64 {
    0.0
}

#[test]
fn sample_model_reproduces_the_golden_prompt_ids_and_first_32_tokens() {
    let (path, (prompt, prompt_ids, first)) = (sample(), golden());
    let bytes = std::fs::read(path).expect("read sample");
    let mut engine = load(bytes, "SmolLM2-135M-Instruct.Q4_1.gguf", None, None).expect("loads");
    // As the worker does after loading: it must leave nothing behind.
    engine.warm_up().expect("warms up");
    let ids = engine.tokenize(&prompt).expect("tokenizes");
    assert_eq!(ids, prompt_ids, "the GGUF-rebuilt tokenizer must match llama.cpp's 110 ids");
    let mut g = engine.start(&ids, &Sampling::greedy(32), &clock).expect("starts");
    Engine::ignore_eos(&mut g);
    while let Step::Token { .. } = engine.step(&mut g, &clock).expect("steps") {}
    assert_eq!(g.generated, first[..32].to_vec());
    // The chat template from the GGUF renders the same prompt from the plain message.
    let user = prompt.split("<|im_start|>user\n").nth(1).and_then(|s| s.split("<|im_end|>").next()).expect("user turn");
    assert_eq!(engine.chat_prompt(user, None, "1 Jan 2026").expect("renders"), prompt);
}

/// The worker measures what loading held; where that is more than the
/// estimate, the cache's budget narrows so loading and cache stay within
/// the same bound, and with no room left the cache starts at its last rung.
#[test]
fn a_measured_load_narrows_the_cache_budget_within_the_same_bound() {
    let bytes = std::fs::read(sample()).expect("read sample");
    let size = bytes.len() as u64;
    let mut engine = load(bytes, "SmolLM2-135M-Instruct.Q4_1.gguf", None, None).expect("loads");
    let (estimate, budget) = (engine.info.estimated_bytes, engine.info.cache_budget_bytes.expect("a budget"));
    assert_eq!(budget, (1.3 * size as f64) as u64 - estimate, "1.3x the file, less the load");
    engine.measured_load(estimate - 1);
    assert_eq!(engine.info.cache_budget_bytes, Some(budget), "a smaller measure leaves the estimate's budget");
    engine.measured_load(estimate + 5_000_000);
    assert_eq!(engine.info.cache_budget_bytes, Some(budget - 5_000_000));
    let f16 = (CacheForm::F16, CacheForm::F16);
    let mut g = engine.start(&[1, 2, 3], &Sampling::greedy(1), &clock).expect("starts");
    while let Step::Token { .. } = engine.step(&mut g, &clock).expect("steps") {}
    assert_eq!(engine.cache_forms(), Some(f16), "a short chat keeps f16");
    engine.measured_load(estimate + budget);
    engine.reset();
    let mut g = engine.start(&[1, 2, 3], &Sampling::greedy(1), &clock).expect("starts");
    while let Step::Token { .. } = engine.step(&mut g, &clock).expect("steps") {}
    assert_eq!(engine.info.cache_budget_bytes, Some(0));
    assert_eq!(engine.cache_forms(), Some((CacheForm::Q8_0, CacheForm::Q4_0)), "no room: the last rung");
}

/// A header may give a context shorter than the warm-up: the model still
/// loads, warms up within it, and generates.
#[test]
fn a_model_with_a_context_of_a_few_positions_warms_up_and_runs() {
    let mut bytes = std::fs::read(sample()).expect("read sample");
    let key = b"llama.context_length";
    let at =
        bytes.windows(key.len()).position(|w| w == key).expect("the sample's header gives its context") + key.len();
    assert_eq!(bytes[at..at + 4], 4u32.to_le_bytes(), "the context is a u32");
    bytes[at + 4..at + 8].copy_from_slice(&6u32.to_le_bytes());
    let mut engine = load(bytes, "short-context.gguf", None, None).expect("loads");
    engine.warm_up().expect("warms up within six positions");
    let mut g = engine.start(&[1, 2, 3], &Sampling::greedy(2), &clock).expect("starts");
    Engine::ignore_eos(&mut g);
    while let Step::Token { .. } = engine.step(&mut g, &clock).expect("steps") {}
    assert_eq!(g.generated.len(), 2);
}

#[test]
fn truncated_model_is_refused_before_loading() {
    let path = sample();
    let mut bytes = std::fs::read(path).expect("read");
    bytes.truncate(50 << 20);
    match load(bytes, "cut.gguf", None, None) {
        Err(InferenceError::Truncated { file, .. }) => assert_eq!(file, "cut.gguf"),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a truncated model loaded"),
    }
}

/// A file that shrinks under the reader after its size was taken (a browser
/// `File` whose download was still being written) runs out while its tensors
/// load: the error says truncated, not a loader's own words.
#[test]
fn a_file_that_runs_out_while_its_tensors_load_is_reported_truncated() {
    let full = std::fs::read(sample()).expect("read");
    let size = full.len() as u64;
    let cut = full[..full.len() - (4 << 20)].to_vec();
    let loaded = Engine::load(
        LoadInput {
            model_name: "growing.gguf",
            reader: Cursor::new(cut),
            file_size: size,
            tokenizer_json: None,
            tokenizer_config: None,
            memory_limit: None,
        },
        &mut |_, _, _| {},
    );
    match loaded {
        Err(InferenceError::Truncated { file, size: s, .. }) => assert_eq!((file.as_str(), s), ("growing.gguf", size)),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a cut model loaded"),
    }
}

#[test]
fn model_too_big_for_the_browser_is_refused_with_a_reason() {
    let path = sample();
    let bytes = std::fs::read(path).expect("read");
    let err = load(bytes, "m.gguf", None, Some(100 << 20)).err().expect("refused");
    assert!(matches!(err, InferenceError::TooBig { .. }), "{err}");
    assert!(err.to_string().contains("m.gguf") && err.to_string().contains("smaller"), "{err}");
}

#[test]
fn a_tokenizer_from_another_model_is_an_error_not_garbage() {
    let path = sample();
    let bytes = std::fs::read(path).expect("read");
    let vocab: tokenizers::models::bpe::Vocab =
        [("a".to_string(), 0u32), ("b".to_string(), 1), ("ab".to_string(), 2)].into_iter().collect();
    let bpe = tokenizers::models::bpe::BPE::builder()
        .vocab_and_merges(vocab, vec![("a".into(), "b".into())])
        .build()
        .expect("bpe");
    let other = tokenizers::Tokenizer::new(bpe).to_string(false).expect("json");
    let err = load(bytes, "m.gguf", Some(("tokenizer.json", other.into_bytes())), None).err().expect("refused");
    assert!(matches!(err, InferenceError::TokenizerMismatch { .. }), "{err}");
    assert!(err.to_string().contains("tokenizer.json"));
}

fn tiny_gguf(arch: &str) -> Vec<u8> {
    let dev = Device::Cpu;
    let t = Tensor::zeros((32, 32), candle_core::DType::F32, &dev).expect("tensor");
    let q = QTensor::quantize(&t, GgmlDType::Q8_0).expect("quantize");
    let arch_v = Value::String(arch.to_string());
    let name_v = Value::String("tiny".to_string());
    let mut out = Cursor::new(Vec::new());
    gguf_file::write(
        &mut out,
        &[("general.architecture", &arch_v), ("general.name", &name_v)],
        &[("token_embd.weight", &q)],
    )
    .expect("write");
    out.into_inner()
}

/// A llama header whose KV cache costs 256 KiB per token (16 layers × 2 ×
/// 16 heads × 128 × 4 bytes), trained for 8192 tokens.
fn long_context_header() -> gguf_file::Content {
    let q =
        QTensor::quantize(&Tensor::zeros((32, 32), candle_core::DType::F32, &Device::Cpu).expect("t"), GgmlDType::Q8_0)
            .expect("quantize");
    let md: Vec<(&str, Value)> = vec![
        ("general.architecture", Value::String("llama".into())),
        ("llama.block_count", Value::U32(16)),
        ("llama.embedding_length", Value::U32(2048)),
        ("llama.attention.head_count", Value::U32(16)),
        ("llama.context_length", Value::U32(8192)),
    ];
    let refs: Vec<(&str, &Value)> = md.iter().map(|(k, v)| (*k, v)).collect();
    let mut out = Cursor::new(Vec::new());
    gguf_file::write(&mut out, &refs, &[("token_embd.weight", &q)]).expect("write");
    let bytes = out.into_inner();
    gguf_file::Content::read(&mut Cursor::new(bytes)).expect("read")
}

#[test]
fn a_model_whose_full_context_does_not_fit_runs_with_a_shorter_one() {
    let c = long_context_header();
    let mb = 1u64 << 20;
    let roomy = preflight::plan("long.gguf", &c, 1 << 20, Some(64 * mb + 2048 * mb)).expect("fits");
    assert_eq!((roomy.context_length, roomy.context), (8192, fineprint_inference::MAX_CONTEXT));
    let (load, per_token) = (roomy.estimated_bytes, roomy.kv_bytes_per_token_smallest);
    // A long chat's cache ends with 8-bit keys and 4-bit values: (34 + 18) bytes per 32 of each, against 2 × 64.
    assert_eq!(per_token * 128, roomy.kv_bytes_per_token * 52);
    // Room for the cache of 1200 tokens at that rate: rounded down to 1024.
    let tight = preflight::plan("long.gguf", &c, 1 << 20, Some(load + 1200 * per_token)).expect("fits, shorter");
    assert_eq!(tight.context, 1024);
    assert_eq!(tight.estimated_bytes, load, "loading costs the same; only the cache is shorter");
    // This 1 MB file's load alone passes 1.3x it: its cache is small from the first token.
    assert!(load > 2 << 20);
    assert_eq!((roomy.cache_budget, tight.cache_budget), (Some(0), Some(0)));
    // Said to be a 1 GB file (its tensors fit in it all the same), the cache
    // steps down at 1.3x that, or sooner where the memory left is less.
    let big = |limit| preflight::plan("long.gguf", &c, 1 << 30, limit).expect("fits").cache_budget;
    assert_eq!(big(None), Some((1.3 * f64::from(1u32 << 30)) as u64 - load));
    assert_eq!(big(Some(load + 1200 * per_token)), Some(1200 * per_token));
    // Room for 200 tokens: below the useful minimum.
    let err = preflight::plan("long.gguf", &c, 1 << 20, Some(load + 200 * per_token)).expect_err("refused");
    assert!(matches!(err, InferenceError::TooBig { .. }), "{err}");
}

#[test]
fn unsupported_architecture_is_named() {
    let err = load(tiny_gguf("gptneox"), "neox.gguf", None, None).err().expect("refused");
    match &err {
        InferenceError::UnsupportedArchitecture { arch, file, .. } => {
            assert_eq!(arch, "gptneox");
            assert_eq!(file, "neox.gguf");
        }
        e => panic!("wrong error: {e}"),
    }
    assert!(err.to_string().contains(fineprint_inference::arch::SUPPORTED));
}

#[test]
fn not_a_gguf_and_garbage_headers_are_errors() {
    assert!(matches!(
        load(b"PK\x03\x04 not a model".to_vec(), "x.gguf", None, None),
        Err(InferenceError::NotGguf { .. })
    ));
    let mut absurd = b"GGUF".to_vec();
    absurd.extend_from_slice(&3u32.to_le_bytes());
    absurd.extend_from_slice(&u64::MAX.to_le_bytes());
    absurd.extend_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(load(absurd, "x.gguf", None, None), Err(InferenceError::BadGguf { .. })));
    assert!(load(b"GG".to_vec(), "x.gguf", None, None).is_err());
}

/// A header whose one tensor has dimensions whose product overflows u64
/// (found by the `decoder` fuzz target: the size wrapped and passed the
/// truncation check).
#[test]
fn a_tensor_shape_past_u64_is_an_error() {
    let mut b = b"GGUF".to_vec();
    b.extend_from_slice(&3u32.to_le_bytes());
    b.extend_from_slice(&1u64.to_le_bytes()); // tensors
    b.extend_from_slice(&1u64.to_le_bytes()); // metadata entries
    let string = |b: &mut Vec<u8>, s: &str| {
        b.extend_from_slice(&(s.len() as u64).to_le_bytes());
        b.extend_from_slice(s.as_bytes());
    };
    string(&mut b, "general.architecture");
    b.extend_from_slice(&8u32.to_le_bytes());
    string(&mut b, "llama");
    string(&mut b, "token_embd.weight");
    b.extend_from_slice(&2u32.to_le_bytes());
    b.extend_from_slice(&(1u64 << 33).to_le_bytes());
    b.extend_from_slice(&(1u64 << 33).to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes()); // F32
    b.extend_from_slice(&0u64.to_le_bytes()); // offset
    b.resize(b.len().next_multiple_of(32) + 64, 0);
    let err = load(b, "wrap.gguf", None, None).err().expect("refused");
    assert!(err.to_string().contains("impossible shape"), "{err}");
}

#[test]
fn a_model_without_vocabulary_has_no_tokenizer() {
    let err = load(tiny_gguf("llama"), "llama.gguf", None, None).err().expect("refused");
    assert!(matches!(err, InferenceError::NoTokenizer { .. }), "{err}");
}

/// A GGUF with one extra metadata value, written before the tensor table.
fn tiny_gguf_with(key: &str, value: Value) -> Vec<u8> {
    let q =
        QTensor::quantize(&Tensor::zeros((32, 32), candle_core::DType::F32, &Device::Cpu).expect("t"), GgmlDType::Q8_0)
            .expect("quantize");
    let arch = Value::String("llama".into());
    let mut out = Cursor::new(Vec::new());
    gguf_file::write(&mut out, &[("general.architecture", &arch), (key, &value)], &[("token_embd.weight", &q)])
        .expect("write");
    out.into_inner()
}

#[test]
fn header_values_the_loaders_trust_are_checked_first() {
    // general.alignment 0 made candle's reader divide by zero; odd and huge ones are refused too.
    for a in [0u32, 3, 1 << 30] {
        let err =
            load(tiny_gguf_with("general.alignment", Value::U32(a)), "a.gguf", None, None).err().expect("refused");
        assert!(matches!(&err, InferenceError::BadHeader { key, .. } if key == "general.alignment"), "{a}: {err}");
        assert!(err.to_string().contains("a.gguf"), "{err}");
    }
    // Found by the gguf_header fuzz target: a key with a trailing NUL is the same key to candle.
    let err = load(tiny_gguf_with("general.alignment\0", Value::U32(0)), "a.gguf", None, None).err().expect("refused");
    assert!(matches!(&err, InferenceError::BadHeader { .. }), "{err}");
    let err = load(tiny_gguf_with("llama.block_count", Value::U32(0)), "b.gguf", None, None).err().expect("refused");
    assert!(matches!(&err, InferenceError::BadHeader { key, .. } if key == "llama.block_count"), "{err}");
    // The gemma family's older members are refused by name, not run as gemma3.
    let err = load(tiny_gguf("gemma2"), "g.gguf", None, None).err().expect("refused");
    assert!(matches!(&err, InferenceError::ArchitectureNotYet { arch, .. } if arch == "gemma2"), "{err}");
}
