//! GGUF's metadata value types (as `gguf_type` numbers them) and the values
//! the reader keeps.

use std::fmt;

/// A metadata value's type, by its number in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    F32,
    Bool,
    String,
    Array,
    U64,
    I64,
    F64,
}

impl ValueType {
    const ALL: [ValueType; 13] = [
        Self::U8,
        Self::I8,
        Self::U16,
        Self::I16,
        Self::U32,
        Self::I32,
        Self::F32,
        Self::Bool,
        Self::String,
        Self::Array,
        Self::U64,
        Self::I64,
        Self::F64,
    ];

    pub fn from_code(code: u32) -> Option<Self> {
        Self::ALL.get(usize::try_from(code).ok()?).copied()
    }

    /// Bytes a value of this type takes; `None` for strings and arrays.
    pub fn fixed_size(self) -> Option<u64> {
        Some(match self {
            Self::U8 | Self::I8 | Self::Bool => 1,
            Self::U16 | Self::I16 => 2,
            Self::U32 | Self::I32 | Self::F32 => 4,
            Self::U64 | Self::I64 | Self::F64 => 8,
            Self::String | Self::Array => return None,
        })
    }
}

/// A metadata value, as far as the readers care.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Value {
    Text(String),
    List(Vec<String>),
    /// Any number; integers of 64 bits beyond 2^53 lose their last digits.
    Number(f64),
    Bool(bool),
    /// An array of numbers, a nested array or a list of strings not kept: its length.
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

    /// The value as a whole number, where it is one.
    pub fn as_integer(&self) -> Option<i64> {
        match *self {
            Value::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => Some(n as i64),
            _ => None,
        }
    }

    /// A fixed-size value from its little-endian bytes (`b` holds at least its size).
    pub(crate) fn scalar(t: ValueType, b: [u8; 8]) -> Value {
        let [b0, b1, b2, b3, ..] = b;
        match t {
            ValueType::U8 => Value::Number(f64::from(b0)),
            ValueType::I8 => Value::Number(f64::from(b0 as i8)),
            ValueType::U16 => Value::Number(f64::from(u16::from_le_bytes([b0, b1]))),
            ValueType::I16 => Value::Number(f64::from(i16::from_le_bytes([b0, b1]))),
            ValueType::U32 => Value::Number(f64::from(u32::from_le_bytes([b0, b1, b2, b3]))),
            ValueType::I32 => Value::Number(f64::from(i32::from_le_bytes([b0, b1, b2, b3]))),
            ValueType::F32 => Value::Number(f64::from(f32::from_le_bytes([b0, b1, b2, b3]))),
            ValueType::Bool => Value::Bool(b0 != 0),
            ValueType::U64 => Value::Number(u64::from_le_bytes(b) as f64),
            ValueType::I64 => Value::Number(i64::from_le_bytes(b) as f64),
            ValueType::F64 => Value::Number(f64::from_le_bytes(b)),
            ValueType::String | ValueType::Array => Value::Other { len: 0 },
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Text(s) => write!(f, "{s:?}"),
            Value::List(items) => write!(f, "a list of {} strings", items.len()),
            Value::Number(n) => write!(f, "{n}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Other { len } => write!(f, "an array of {len} items"),
        }
    }
}
