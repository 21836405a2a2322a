//! Reading a GGUF header safely and looking values up in its metadata. The
//! header is read by candle; what candle would trust blindly (the alignment it
//! divides by) is checked here first.

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

/// The value of `general.alignment`, found by walking the metadata keys
/// without keeping them (the reader stands just after the magic).
fn scan_alignment<R: Read + Seek>(r: &mut R) -> std::result::Result<Option<u64>, String> {
    fn bytes<const N: usize, R: Read>(r: &mut R) -> std::result::Result<[u8; N], String> {
        let mut b = [0u8; N];
        r.read_exact(&mut b).map_err(|e| format!("the header ends early ({e})"))?;
        Ok(b)
    }
    fn u32_of<R: Read>(r: &mut R) -> std::result::Result<u32, String> {
        Ok(u32::from_le_bytes(bytes::<4, R>(r)?))
    }
    fn u64_of<R: Read>(r: &mut R) -> std::result::Result<u64, String> {
        Ok(u64::from_le_bytes(bytes::<8, R>(r)?))
    }
    fn skip<R: Read + Seek>(r: &mut R, n: u64) -> std::result::Result<(), String> {
        let n = i64::try_from(n).map_err(|_| "a value is larger than any file".to_string())?;
        r.seek_relative(n).map_err(|e| format!("the header ends early ({e})"))
    }
    fn fixed(t: u32) -> Option<u64> {
        Some(match t {
            0 | 1 | 7 => 1,
            2 | 3 => 2,
            4..=6 => 4,
            10..=12 => 8,
            _ => return None,
        })
    }
    fn skip_value<R: Read + Seek>(r: &mut R, t: u32, depth: u32) -> std::result::Result<(), String> {
        match t {
            8 => {
                let n = u64_of(r)?;
                skip(r, n)
            }
            9 if depth < 4 => {
                let item = u32_of(r)?;
                let count = u64_of(r)?;
                match (item, fixed(item)) {
                    (_, Some(size)) => skip(r, count.checked_mul(size).ok_or("an array is larger than any file")?),
                    _ => (0..count).try_for_each(|_| skip_value(r, item, depth + 1)),
                }
            }
            t => match fixed(t) {
                Some(n) => skip(r, n),
                None => Err(format!("metadata value of unknown type {t}")),
            },
        }
    }
    let version = u32_of(r)?;
    if version < 2 {
        return Ok(None);
    }
    let _tensors = u64_of(r)?;
    let kv = u64_of(r)?;
    for _ in 0..kv {
        let key_len = u64_of(r)?;
        if key_len > 1 << 16 {
            return Err(format!("a metadata key {key_len} bytes long"));
        }
        let mut key = vec![0u8; key_len as usize];
        r.read_exact(&mut key).map_err(|e| format!("the header ends early ({e})"))?;
        // candle drops trailing NULs from keys ("general.alignment\0" is its alignment too).
        while key.last() == Some(&0) {
            key.pop();
        }
        let t = u32_of(r)?;
        if key == b"general.alignment" {
            let v = match t {
                0 => u64::from(bytes::<1, R>(r)?[0]),
                1 => bytes::<1, R>(r)?[0] as i8 as u64,
                2 => u64::from(u16::from_le_bytes(bytes::<2, R>(r)?)),
                3 => i16::from_le_bytes(bytes::<2, R>(r)?) as u64,
                4 => u64::from(u32_of(r)?),
                5 => u32_of(r)? as i32 as u64,
                10 | 11 => u64_of(r)?,
                _ => return Err("general.alignment is not an integer".into()),
            };
            return Ok(Some(v));
        }
        skip_value(r, t, 0)?;
    }
    Ok(None)
}

/// Reads the header (metadata and tensor table) from `reader`.
pub fn read_content<R: Read + Seek>(file: &str, reader: &mut R) -> Result<Content> {
    let mut magic = [0u8; 4];
    reader.read_exact(&mut magic).map_err(|e| InferenceError::Io { file: file.into(), reason: e.to_string() })?;
    if &magic != b"GGUF" {
        return Err(InferenceError::NotGguf { file: file.into() });
    }
    // candle's reader divides by general.alignment: look at it first.
    if let Some(a) = scan_alignment(reader).map_err(|reason| InferenceError::BadGguf { file: file.into(), reason })? {
        if a == 0 || !a.is_power_of_two() || a > 1 << 20 {
            return Err(InferenceError::BadHeader {
                file: file.into(),
                key: "general.alignment".into(),
                value: a.to_string(),
                why: "must be a power of two up to 1 MiB",
            });
        }
    }
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
