//! Reading a GGUF header safely and looking values up in its metadata. The
//! header is walked first by Fine Print's one header reader (`fineprint-gguf`,
//! bounded, shared with the license engine), which refuses what candle's
//! reader would trust blindly (the alignment it divides by); then candle reads
//! it again with the tensor table, which candle's loaders take.

use std::collections::HashMap;
use std::io::{Read, Seek};

use candle_core::quantized::gguf_file::{Content, Value};

use crate::error::{InferenceError, Result};

pub fn md_str<'a>(md: &'a HashMap<String, Value>, key: &str) -> Option<&'a str> {
    md.get(key).and_then(|v| v.to_string().ok()).map(String::as_str)
}

pub fn md_u64(md: &HashMap<String, Value>, key: &str) -> Option<u64> {
    let v = md.get(key)?;
    v.to_u64()
        .ok()
        .or_else(|| v.to_u32().ok().map(u64::from))
        .or_else(|| v.to_i32().ok().and_then(|x| u64::try_from(x).ok()))
}

/// Reads the header (metadata and tensor table) from `reader`.
pub fn read_content<R: Read + Seek>(file: &str, reader: &mut R) -> Result<Content> {
    use fineprint_gguf::GgufError;
    let header = fineprint_gguf::read_metadata_from(reader).map_err(|e| match e {
        GgufError::NotGguf => InferenceError::NotGguf { file: file.into() },
        GgufError::Io { reason } => InferenceError::Io { file: file.into(), reason },
        e => InferenceError::BadGguf { file: file.into(), reason: format!("it {e}") },
    })?;
    // candle's reader divides by general.alignment.
    header.alignment().map_err(|e| InferenceError::BadHeader {
        file: file.into(),
        key: "general.alignment".into(),
        value: e.value,
        why: "must be a power of two up to 1 MiB",
    })?;
    reader
        .seek(std::io::SeekFrom::Start(0))
        .map_err(|e| InferenceError::Io { file: file.into(), reason: e.to_string() })?;
    Content::read(reader).map_err(|e| {
        let reason = e.to_string();
        if reason.contains("unknown dtype") {
            InferenceError::UnsupportedType { file: file.into(), dtype: reason }
        } else {
            InferenceError::BadGguf { file: file.into(), reason }
        }
    })
}
