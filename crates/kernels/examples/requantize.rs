//! Writes a copy of a GGUF with its matrices requantized to another type, to
//! benchmark the kernels on types the sample model does not ship in.
//! `cargo run --release -p fineprint-kernels --example requantize -- IN.gguf OUT.gguf q5_0`
//! Matrices whose rows are not a whole number of the type's blocks, and the
//! embedding table, keep their type (as llama.cpp's quantizer does).

use std::fs::File;
use std::io::{BufReader, BufWriter};

use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::Device;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, input, output, kind] = args.as_slice() else {
        return Err("usage: requantize IN.gguf OUT.gguf q4_0|q4_1|q5_0|q5_1|q8_0|q4k|q6k".into());
    };
    let target = match kind.as_str() {
        "q4_0" => GgmlDType::Q4_0,
        "q4_1" => GgmlDType::Q4_1,
        "q5_0" => GgmlDType::Q5_0,
        "q5_1" => GgmlDType::Q5_1,
        "q8_0" => GgmlDType::Q8_0,
        "q4k" => GgmlDType::Q4K,
        "q6k" => GgmlDType::Q6K,
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
        let convert = dims.len() == 2 && name != "token_embd.weight" && cols % target.block_size() == 0;
        let t = if convert { QTensor::quantize(&t.dequantize(&Device::Cpu)?, target)? } else { t };
        tensors.push((name.clone(), t));
    }
    let metadata: Vec<(&str, &gguf_file::Value)> = content.metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    gguf_file::write(&mut BufWriter::new(File::create(output)?), &metadata, &refs)?;
    Ok(())
}
