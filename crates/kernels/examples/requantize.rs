//! Writes a copy of a GGUF with its matrices requantized to another type: the
//! conformance set's variants of the sample (set-up makes them) and benchmark files.
//! `cargo run --release -p fineprint-kernels --example requantize -- IN.gguf OUT.gguf q6k`
//! Every 2-D tensor is converted. Rows that are not a whole number of the
//! type's blocks get llama.cpp's fallback type for them (Q4_K → Q5_0,
//! Q5_K → Q5_1, Q6_K → Q8_0), so a "Q4_K" file is the mix llama.cpp writes.

use std::fs::File;
use std::io::{BufReader, BufWriter};

use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::Device;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, input, output, kind] = args.as_slice() else {
        return Err("usage: requantize IN.gguf OUT.gguf q4_0|q4_1|q5_0|q5_1|q8_0|q4k|q5k|q6k|f16".into());
    };
    let target = match kind.as_str() {
        "q4_0" => GgmlDType::Q4_0,
        "q4_1" => GgmlDType::Q4_1,
        "q5_0" => GgmlDType::Q5_0,
        "q5_1" => GgmlDType::Q5_1,
        "q8_0" => GgmlDType::Q8_0,
        "q4k" => GgmlDType::Q4K,
        "q5k" => GgmlDType::Q5K,
        "q6k" => GgmlDType::Q6K,
        "f16" => GgmlDType::F16,
        other => return Err(format!("unknown type {other}").into()),
    };
    let mut r = BufReader::new(File::open(input)?);
    let content = gguf_file::Content::read(&mut r)?;
    let mut tensors: Vec<(String, QTensor)> = Vec::new();
    let mut names: Vec<&String> = content.tensor_infos.keys().collect();
    names.sort_by_key(|n| content.tensor_infos[*n].offset);
    for name in names {
        let t = content.tensor(&mut r, name, &Device::Cpu)?;
        let dims = t.shape().dims().to_vec();
        let cols = *dims.last().unwrap_or(&0);
        let fallback = match target {
            GgmlDType::Q4K => GgmlDType::Q5_0,
            GgmlDType::Q5K => GgmlDType::Q5_1,
            GgmlDType::Q6K => GgmlDType::Q8_0,
            other => other,
        };
        let to = if cols % target.block_size() == 0 { target } else { fallback };
        let t = if dims.len() == 2 && cols % to.block_size() == 0 && t.dtype() != to {
            QTensor::quantize(&t.dequantize(&Device::Cpu)?, to)?
        } else {
            t
        };
        tensors.push((name.clone(), t));
    }
    // The header names the file's type (llama.cpp's `llama_ftype`; an all-K file is its "_S" mix).
    let file_type = gguf_file::Value::U32(match target {
        GgmlDType::F16 => 1,
        GgmlDType::Q4_0 => 2,
        GgmlDType::Q4_1 => 3,
        GgmlDType::Q8_0 => 7,
        GgmlDType::Q5_0 => 8,
        GgmlDType::Q5_1 => 9,
        GgmlDType::Q4K => 14,
        GgmlDType::Q5K => 16,
        _ => 18,
    });
    let mut metadata: Vec<(&str, &gguf_file::Value)> =
        content.metadata.iter().filter(|(k, _)| *k != "general.file_type").map(|(k, v)| (k.as_str(), v)).collect();
    metadata.push(("general.file_type", &file_type));
    // Key order fixed (the header is a hash map): the same input gives the same bytes,
    // which the conformance goldens check by hash.
    metadata.sort_by_key(|(k, _)| *k);
    let refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    gguf_file::write(&mut BufWriter::new(File::create(output)?), &metadata, &refs)?;
    Ok(())
}
