//! Little-endian primitives for payloads, with bounds-checked reading.

use super::envelope::FormatError;

/// Appends little-endian values to a buffer.
#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn f64(&mut self, v: f64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u64s(&mut self, v: &[u64]) {
        self.buf.reserve(v.len() * 8);
        for x in v {
            self.buf.extend_from_slice(&x.to_le_bytes());
        }
    }
    pub fn bytes(&mut self, v: &[u8]) {
        self.u64(v.len() as u64);
        self.buf.extend_from_slice(v);
    }
}

/// Reads little-endian values, failing with the name of the field that ran out.
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    pub fn take(&mut self, len: usize, field: &'static str) -> Result<&'a [u8], FormatError> {
        if self.remaining() < len {
            return Err(FormatError::Truncated {
                field,
                needed: len,
                available: self.remaining(),
                offset: self.pos,
            });
        }
        let s = &self.data[self.pos..self.pos + len];
        self.pos += len;
        Ok(s)
    }

    pub fn u8(&mut self, field: &'static str) -> Result<u8, FormatError> {
        Ok(self.take(1, field)?[0])
    }
    pub fn u32(&mut self, field: &'static str) -> Result<u32, FormatError> {
        Ok(u32::from_le_bytes(
            self.take(4, field)?.try_into().expect("4 bytes"),
        ))
    }
    pub fn u64(&mut self, field: &'static str) -> Result<u64, FormatError> {
        Ok(u64::from_le_bytes(
            self.take(8, field)?.try_into().expect("8 bytes"),
        ))
    }
    pub fn f64(&mut self, field: &'static str) -> Result<f64, FormatError> {
        Ok(f64::from_le_bytes(
            self.take(8, field)?.try_into().expect("8 bytes"),
        ))
    }
    pub fn u64s(&mut self, count: usize, field: &'static str) -> Result<Vec<u64>, FormatError> {
        let bytes = count.checked_mul(8).ok_or(FormatError::Malformed {
            field,
            reason: "length overflows".into(),
        })?;
        let raw = self.take(bytes, field)?;
        Ok(raw
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect())
    }
    pub fn bytes(&mut self, field: &'static str) -> Result<&'a [u8], FormatError> {
        let len = self.u64(field)?;
        let len = usize::try_from(len).map_err(|_| FormatError::Malformed {
            field,
            reason: "length does not fit in memory".into(),
        })?;
        self.take(len, field)
    }

    /// Fails if bytes are left over.
    pub fn finish(&self, what: &'static str) -> Result<(), FormatError> {
        if self.remaining() != 0 {
            return Err(FormatError::Malformed {
                field: what,
                reason: format!("{} unexpected trailing bytes", self.remaining()),
            });
        }
        Ok(())
    }
}
