//! Where header bytes come from: a prefix in memory, or a seekable file.
//! Both report the end of the bytes the same way, so the walk is written once.

use std::io::{ErrorKind, Read, Seek};

pub(crate) enum End {
    /// No more bytes.
    Eof,
    /// The reader failed for another reason.
    Io(String),
}

pub(crate) trait Source {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), End>;
    fn skip(&mut self, n: u64) -> Result<(), End>;
    fn position(&self) -> u64;
    /// False when fewer than `n` bytes remain (known before reading them).
    fn holds(&self, n: u64) -> bool;

    fn array<const N: usize>(&mut self) -> Result<[u8; N], End> {
        let mut b = [0u8; N];
        self.fill(&mut b)?;
        Ok(b)
    }
    fn u32(&mut self) -> Result<u32, End> {
        self.array().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Result<u64, End> {
        self.array().map(u64::from_le_bytes)
    }
    /// `n` bytes, which the caller has bounded.
    fn bytes(&mut self, n: u64) -> Result<Vec<u8>, End> {
        if !self.holds(n) {
            return Err(End::Eof);
        }
        let n = usize::try_from(n).map_err(|_| End::Eof)?;
        let mut v = vec![0u8; n];
        self.fill(&mut v)?;
        Ok(v)
    }
}

pub(crate) struct Slice<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Slice<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }
}

impl Source for Slice<'_> {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), End> {
        let end = self.at.checked_add(buf.len()).filter(|&e| e <= self.bytes.len()).ok_or(End::Eof)?;
        buf.copy_from_slice(&self.bytes[self.at..end]);
        self.at = end;
        Ok(())
    }
    fn skip(&mut self, n: u64) -> Result<(), End> {
        let n = usize::try_from(n).map_err(|_| End::Eof)?;
        self.at = self.at.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or(End::Eof)?;
        Ok(())
    }
    fn position(&self) -> u64 {
        self.at as u64
    }
    fn holds(&self, n: u64) -> bool {
        (self.bytes.len() - self.at) as u64 >= n
    }
}

/// A reader standing at the start of a whole file. Skips seek, so a
/// vocabulary of hundreds of thousands of strings costs no copying, but one
/// that claims to run past the end is found at once: the walk checks the
/// file's length before it seeks.
pub(crate) struct Seekable<'r, R> {
    inner: &'r mut R,
    at: u64,
    len: Option<u64>,
}

impl<'r, R: Read + Seek> Seekable<'r, R> {
    pub(crate) fn new(inner: &'r mut R) -> Self {
        let at = inner.stream_position().unwrap_or(0);
        // The file's length, the position left where it was.
        let len = inner.seek(std::io::SeekFrom::End(0)).ok();
        if inner.seek(std::io::SeekFrom::Start(at)).is_err() {
            return Self { inner, at, len: None };
        }
        Self { inner, at, len }
    }
}

fn io(e: std::io::Error) -> End {
    if e.kind() == ErrorKind::UnexpectedEof {
        End::Eof
    } else {
        End::Io(e.to_string())
    }
}

impl<R: Read + Seek> Source for Seekable<'_, R> {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), End> {
        self.inner.read_exact(buf).map_err(io)?;
        self.at += buf.len() as u64;
        Ok(())
    }
    fn skip(&mut self, n: u64) -> Result<(), End> {
        let to = self.at.checked_add(n).ok_or(End::Eof)?;
        if !self.holds(n) {
            return Err(End::Eof);
        }
        let by = i64::try_from(n).map_err(|_| End::Eof)?;
        self.inner.seek_relative(by).map_err(io)?;
        self.at = to;
        Ok(())
    }
    fn position(&self) -> u64 {
        self.at
    }
    fn holds(&self, n: u64) -> bool {
        self.len.is_none_or(|len| self.at.checked_add(n).is_some_and(|to| to <= len))
    }
}
