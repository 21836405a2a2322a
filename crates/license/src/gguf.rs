//! Reads the metadata of a GGUF file (not its tensors) from the first bytes of
//! the file: what the license check needs is under `general.*`.
//!
//! The page hands over only a prefix of a multi-gigabyte file, so running out
//! of bytes is normal; running out when the prefix *is* the whole file means a
//! truncated download.

use std::collections::BTreeMap;

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
}

/// A metadata value, as far as the license check cares.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Value {
    Text(String),
    List(Vec<String>),
    Number(f64),
    Bool(bool),
    /// An array of numbers or a nested array: only its length is kept.
    Other {
        len: u64,
    },
}

impl Value {
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Metadata {
    pub version: u32,
    pub tensor_count: u64,
    /// Keys read; `tokenizer.ggml.tokens` and other large arrays keep only their length.
    pub values: BTreeMap<String, Value>,
    /// True when every metadata key was read (false when the prefix ended first).
    pub complete: bool,
}

impl Metadata {
    pub fn text(&self, key: &str) -> Option<&str> {
        self.values.get(key).and_then(Value::as_text)
    }
}

/// More keys than any real file has; a header claiming more is damaged.
const MAX_KV: u64 = 1 << 20;
/// Longest string kept (chat templates run to tens of KB).
const MAX_STRING: u64 = 1 << 24;

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
    whole_file: bool,
}

enum Stop {
    /// The prefix ended: not an error unless it was the whole file.
    End,
    Err(GgufError),
}

impl Cursor<'_> {
    fn take(&mut self, n: u64) -> Result<&[u8], Stop> {
        let n = usize::try_from(n).map_err(|_| Stop::End)?;
        let end = self.at.checked_add(n).ok_or(Stop::End)?;
        if end > self.b.len() {
            return Err(if self.whole_file {
                Stop::Err(GgufError::Truncated { at: self.b.len() as u64 })
            } else {
                Stop::End
            });
        }
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32, Stop> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn u64(&mut self) -> Result<u64, Stop> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(u64::from_le_bytes(a))
    }
    fn string(&mut self) -> Result<String, Stop> {
        let at = self.at as u64;
        let n = self.u64()?;
        if n > MAX_STRING {
            return Err(Stop::Err(GgufError::Corrupt { what: format!("a string of {n} bytes"), at }));
        }
        Ok(String::from_utf8_lossy(self.take(n)?).into_owned())
    }
    fn corrupt(&self, what: impl Into<String>) -> Stop {
        Stop::Err(GgufError::Corrupt { what: what.into(), at: self.at as u64 })
    }
}

fn scalar_size(t: u32) -> Option<u64> {
    Some(match t {
        0 | 1 | 7 => 1,
        2 | 3 => 2,
        4..=6 => 4,
        10..=12 => 8,
        _ => return None,
    })
}

fn read_scalar(c: &mut Cursor<'_>, t: u32) -> Result<Value, Stop> {
    let s = c.take(scalar_size(t).ok_or_else(|| c.corrupt(format!("value type {t}")))?)?;
    let mut a = [0u8; 8];
    a[..s.len()].copy_from_slice(s);
    Ok(match t {
        0 => Value::Number(f64::from(s[0])),
        1 => Value::Number(f64::from(s[0] as i8)),
        2 => Value::Number(f64::from(u16::from_le_bytes([s[0], s[1]]))),
        3 => Value::Number(f64::from(i16::from_le_bytes([s[0], s[1]]))),
        4 => Value::Number(f64::from(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))),
        5 => Value::Number(f64::from(i32::from_le_bytes([s[0], s[1], s[2], s[3]]))),
        6 => Value::Number(f64::from(f32::from_le_bytes([s[0], s[1], s[2], s[3]]))),
        7 => Value::Bool(s[0] != 0),
        10 => Value::Number(u64::from_le_bytes(a) as f64),
        11 => Value::Number(i64::from_le_bytes(a) as f64),
        _ => Value::Number(f64::from_le_bytes(a)),
    })
}

fn read_value(c: &mut Cursor<'_>, t: u32, keep_strings: bool) -> Result<Value, Stop> {
    match t {
        8 => c.string().map(Value::Text),
        9 => {
            let et = c.u32()?;
            let n = c.u64()?;
            if et == 8 {
                let mut items = Vec::new();
                for _ in 0..n {
                    if keep_strings && items.len() < 64 {
                        items.push(c.string()?);
                    } else {
                        let len = c.u64()?;
                        c.take(len)?;
                    }
                }
                Ok(if keep_strings { Value::List(items) } else { Value::Other { len: n } })
            } else if let Some(sz) = scalar_size(et) {
                let bytes = sz.checked_mul(n).ok_or_else(|| c.corrupt(format!("an array of {n} items")))?;
                c.take(bytes)?;
                Ok(Value::Other { len: n })
            } else {
                // Nested arrays do not occur in practice; refuse rather than recurse.
                Err(c.corrupt(format!("an array of type {et}")))
            }
        }
        _ => read_scalar(c, t),
    }
}

/// Reads the metadata from `bytes`, the first bytes of a file of `file_size` bytes.
pub fn read_metadata(bytes: &[u8], file_size: u64) -> Result<Metadata, GgufError> {
    let whole_file = bytes.len() as u64 >= file_size;
    let mut c = Cursor { b: bytes, at: 0, whole_file };
    let mut meta = Metadata::default();
    let head = (|| -> Result<(u64, u32), Stop> {
        if c.take(4)? != b"GGUF" {
            return Err(Stop::Err(GgufError::NotGguf));
        }
        let version = c.u32()?;
        if !(2..=3).contains(&version) {
            return Err(Stop::Err(GgufError::Version(version)));
        }
        meta.tensor_count = c.u64()?;
        let kv = c.u64()?;
        if kv > MAX_KV {
            return Err(c.corrupt(format!("a metadata count of {kv}")));
        }
        Ok((kv, version))
    })();
    let kv = match head {
        Ok((kv, version)) => {
            meta.version = version;
            kv
        }
        Err(Stop::Err(e)) => return Err(e),
        Err(Stop::End) if bytes.len() < 4 || whole_file => return Err(GgufError::Truncated { at: bytes.len() as u64 }),
        Err(Stop::End) => return Ok(meta),
    };
    for _ in 0..kv {
        let step = (|| -> Result<(String, Value), Stop> {
            let key = c.string()?;
            let t = c.u32()?;
            let keep = key.starts_with("general.");
            Ok((key, read_value(&mut c, t, keep)?))
        })();
        match step {
            Ok((k, v)) => {
                meta.values.insert(k, v);
            }
            Err(Stop::End) => return Ok(meta),
            Err(Stop::Err(e)) => return Err(e),
        }
    }
    meta.complete = true;
    Ok(meta)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal GGUF header with string metadata, for tests.
    pub fn header(kv: &[(&str, &str)]) -> Vec<u8> {
        let mut b = b"GGUF".to_vec();
        b.extend_from_slice(&3u32.to_le_bytes());
        b.extend_from_slice(&0u64.to_le_bytes());
        b.extend_from_slice(&(kv.len() as u64).to_le_bytes());
        for (k, v) in kv {
            b.extend_from_slice(&(k.len() as u64).to_le_bytes());
            b.extend_from_slice(k.as_bytes());
            b.extend_from_slice(&8u32.to_le_bytes());
            b.extend_from_slice(&(v.len() as u64).to_le_bytes());
            b.extend_from_slice(v.as_bytes());
        }
        b
    }

    #[test]
    fn reads_general_license() {
        let b = header(&[("general.architecture", "llama"), ("general.license", "apache-2.0")]);
        let m = read_metadata(&b, b.len() as u64).expect("valid");
        assert!(m.complete);
        assert_eq!(m.text("general.license"), Some("apache-2.0"));
    }

    #[test]
    fn truncation_of_whole_file_is_an_error_but_of_prefix_is_not() {
        let b = header(&[("general.license", "mit"), ("general.name", "x")]);
        let cut = &b[..b.len() - 3];
        assert!(matches!(read_metadata(cut, cut.len() as u64), Err(GgufError::Truncated { .. })));
        let m = read_metadata(cut, 1 << 30).expect("prefix");
        assert!(!m.complete);
        assert_eq!(m.text("general.license"), Some("mit"));
    }

    #[test]
    fn rejects_other_files_and_absurd_counts() {
        assert_eq!(read_metadata(b"PK\x03\x04rest", 8), Err(GgufError::NotGguf));
        let mut b = b"GGUF".to_vec();
        b.extend_from_slice(&3u32.to_le_bytes());
        b.extend_from_slice(&0u64.to_le_bytes());
        b.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(read_metadata(&b, b.len() as u64), Err(GgufError::Corrupt { .. })));
    }
}
