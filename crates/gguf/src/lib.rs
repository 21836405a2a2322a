//! The GGUF header: magic, version, tensor count and the metadata keys with
//! their values (not the tensor table, not the weights). One reader for the
//! license engine, which gets the first bytes of a file that may be gigabytes
//! long, and for the inference pre-flight, which reads from the file itself.
//!
//! Every length in a header is untrusted: strings, arrays and key counts are
//! bounded before anything is allocated, and large arrays (the vocabulary)
//! are skipped, keeping only their length.

use std::collections::BTreeMap;
use std::io::{Read, Seek};

mod source;
mod value;

use source::{End, Seekable, Slice, Source};
pub use value::{Value, ValueType};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GgufError {
    #[error("is not a GGUF file (it does not start with the bytes \"GGUF\")")]
    NotGguf,
    #[error("uses GGUF version {0}, which this tool does not read (versions 2 and 3 are supported)")]
    Version(u32),
    #[error("is truncated: the file ends inside its metadata, at byte {at}; download it again")]
    Truncated { at: u64 },
    #[error("is damaged: {what} at byte {at}")]
    Corrupt { what: String, at: u64 },
    #[error("cannot be read: {reason}")]
    Io { reason: String },
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Metadata {
    pub version: u32,
    pub tensor_count: u64,
    /// Keys read. Strings are kept for `general.*` keys (a list's first
    /// [`LIST_KEPT`] items); everything else keeps its number or its length.
    pub values: BTreeMap<String, Value>,
    /// True when every metadata key was read (false when the prefix ended first).
    pub complete: bool,
}

impl Metadata {
    pub fn text(&self, key: &str) -> Option<&str> {
        self.values.get(key).and_then(Value::as_text)
    }

    /// `general.alignment`, where the header sets it: the tensor data's
    /// alignment, which readers divide by, so it must be a power of two and
    /// no larger than 1 MiB.
    pub fn alignment(&self) -> Result<Option<u64>, AlignmentError> {
        let Some(v) = self.values.get("general.alignment") else { return Ok(None) };
        match v.as_integer() {
            Some(a) if a > 0 && a <= 1 << 20 && (a as u64).is_power_of_two() => Ok(Some(a as u64)),
            _ => Err(AlignmentError { value: v.to_string() }),
        }
    }
}

/// A `general.alignment` that no reader can use.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("general.alignment = {value} (must be a power of two up to 1 MiB)")]
pub struct AlignmentError {
    pub value: String,
}

/// More keys than any real file has; a header claiming more is damaged.
const MAX_KV: u64 = 1 << 20;
/// Longest key: real keys are dotted names of a few dozen bytes.
const MAX_KEY: u64 = 1 << 16;
/// Longest string kept (chat templates run to tens of KB).
const MAX_STRING: u64 = 1 << 24;
/// Items kept of a list of strings under `general.*` (tags, languages, data sets).
pub const LIST_KEPT: usize = 64;
/// Arrays of arrays do not occur in real files; deeper than this is damage.
const MAX_DEPTH: u32 = 4;

/// Reads the metadata from `bytes`, the first bytes of a file of `file_size`
/// bytes. Running out of bytes is normal for a prefix (the result says it is
/// not `complete`); it is [`GgufError::Truncated`] when the prefix is the whole file.
pub fn read_metadata(bytes: &[u8], file_size: u64) -> Result<Metadata, GgufError> {
    let whole_file = bytes.len() as u64 >= file_size;
    let mut src = Slice::new(bytes);
    match walk(&mut src) {
        Ok(meta) => Ok(meta),
        Err((Stop::End, _)) if whole_file || bytes.len() < 4 => Err(GgufError::Truncated { at: bytes.len() as u64 }),
        Err((Stop::End, meta)) => Ok(meta),
        Err((Stop::Err(e), _)) => Err(e),
    }
}

/// Reads the metadata from `reader`, positioned at the start of a whole GGUF
/// file; leaves it just after the last metadata value (where the tensor table begins).
pub fn read_metadata_from<R: Read + Seek>(reader: &mut R) -> Result<Metadata, GgufError> {
    let mut src = Seekable::new(reader);
    walk(&mut src).map_err(|(stop, _)| match stop {
        Stop::End => GgufError::Truncated { at: src.position() },
        Stop::Err(e) => e,
    })
}

enum Stop {
    /// The bytes ended: not an error for a prefix.
    End,
    Err(GgufError),
}

impl From<End> for Stop {
    fn from(e: End) -> Self {
        match e {
            End::Eof => Stop::End,
            End::Io(reason) => Stop::Err(GgufError::Io { reason }),
        }
    }
}

fn corrupt(src: &impl Source, what: String) -> Stop {
    Stop::Err(GgufError::Corrupt { what, at: src.position() })
}

/// The header, as far as the bytes go; on a stop, what was read before it.
fn walk(src: &mut impl Source) -> Result<Metadata, (Stop, Metadata)> {
    let mut meta = Metadata::default();
    let kv = match head(src, &mut meta) {
        Ok(kv) => kv,
        Err(stop) => return Err((stop, meta)),
    };
    for _ in 0..kv {
        match entry(src) {
            Ok((k, v)) => {
                meta.values.insert(k, v);
            }
            Err(stop) => return Err((stop, meta)),
        }
    }
    meta.complete = true;
    Ok(meta)
}

fn head(src: &mut impl Source, meta: &mut Metadata) -> Result<u64, Stop> {
    if &src.array::<4>()? != b"GGUF" {
        return Err(Stop::Err(GgufError::NotGguf));
    }
    let version = src.u32()?;
    if !(2..=3).contains(&version) {
        return Err(Stop::Err(GgufError::Version(version)));
    }
    meta.version = version;
    meta.tensor_count = src.u64()?;
    let kv = src.u64()?;
    if kv > MAX_KV {
        return Err(corrupt(src, format!("a metadata count of {kv}")));
    }
    Ok(kv)
}

fn entry(src: &mut impl Source) -> Result<(String, Value), Stop> {
    let len = src.u64()?;
    if len > MAX_KEY {
        return Err(corrupt(src, format!("a metadata key {len} bytes long")));
    }
    let mut key = String::from_utf8_lossy(&src.bytes(len)?).into_owned();
    // llama.cpp's and candle's readers drop trailing NULs from keys
    // ("general.alignment\0" sets the alignment): so does this one.
    key.truncate(key.trim_end_matches('\0').len());
    let t = src.u32()?;
    let keep = key.starts_with("general.");
    let value = value(src, t, keep, 0)?;
    Ok((key, value))
}

fn value(src: &mut impl Source, t: u32, keep_strings: bool, depth: u32) -> Result<Value, Stop> {
    let Some(ty) = ValueType::from_code(t) else {
        return Err(corrupt(src, format!("value type {t}")));
    };
    match ty {
        ValueType::String => string(src).map(Value::Text),
        ValueType::Array => {
            let item = src.u32()?;
            let n = src.u64()?;
            match ValueType::from_code(item) {
                Some(ValueType::String) => {
                    let mut items = Vec::new();
                    for _ in 0..n {
                        if keep_strings && items.len() < LIST_KEPT {
                            items.push(string(src)?);
                        } else {
                            let len = src.u64()?;
                            src.skip(len)?;
                        }
                    }
                    Ok(if keep_strings { Value::List(items) } else { Value::Other { len: n } })
                }
                Some(ValueType::Array) if depth < MAX_DEPTH => {
                    for _ in 0..n {
                        value(src, item, false, depth + 1)?;
                    }
                    Ok(Value::Other { len: n })
                }
                Some(it) if it.fixed_size().is_some() => {
                    let size = it.fixed_size().unwrap_or(1);
                    let bytes = size.checked_mul(n).ok_or_else(|| corrupt(src, format!("an array of {n} items")))?;
                    src.skip(bytes)?;
                    Ok(Value::Other { len: n })
                }
                _ => Err(corrupt(src, format!("an array of type {item}"))),
            }
        }
        scalar => {
            let size = scalar.fixed_size().unwrap_or(8) as usize;
            let mut b = [0u8; 8];
            src.fill(&mut b[..size])?;
            Ok(Value::scalar(scalar, b))
        }
    }
}

fn string(src: &mut impl Source) -> Result<String, Stop> {
    let n = src.u64()?;
    if n > MAX_STRING {
        return Err(corrupt(src, format!("a string of {n} bytes")));
    }
    Ok(String::from_utf8_lossy(&src.bytes(n)?).into_owned())
}

#[cfg(test)]
mod tests;
