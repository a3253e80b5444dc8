//! The deflate bit stream: bits are packed least significant first, and the bytes written so
//! far can be checked against an expected stream as they are produced, so that a wrong guess at
//! the engine that wrote a stream is abandoned at its first differing byte.

/// The output stopped matching the expected stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Diverged;

#[derive(Debug)]
pub(super) struct BitWriter<'e> {
    bytes: Vec<u8>,
    /// Pending bits, the oldest in the lowest positions.
    bits: u64,
    count: u32,
    /// The stream the output must reproduce, if any, and how much of it has been confirmed.
    expected: Option<&'e [u8]>,
    confirmed: usize,
}

impl<'e> BitWriter<'e> {
    pub(super) fn new(capacity: usize, expected: Option<&'e [u8]>) -> Self {
        Self { bytes: Vec::with_capacity(capacity), bits: 0, count: 0, expected, confirmed: 0 }
    }

    /// Appends the low `length` bits of `value` (at most 16, as zlib's `send_bits`).
    #[inline(always)]
    pub(super) fn put(&mut self, value: u32, length: u32) {
        debug_assert!(length <= 16 && u64::from(value) >> length == 0);
        self.bits |= u64::from(value) << self.count;
        self.count += length;
        if self.count >= 32 {
            self.bytes.extend_from_slice(&(self.bits as u32).to_le_bytes());
            self.bits >>= 32;
            self.count -= 32;
        }
    }

    /// Pads with zero bits to a byte boundary (zlib's `bi_windup`).
    pub(super) fn align(&mut self) {
        while self.count > 0 {
            self.bytes.push(self.bits as u8);
            self.bits >>= 8;
            self.count = self.count.saturating_sub(8);
        }
        self.bits = 0;
    }

    /// Appends whole bytes; the stream must be byte-aligned.
    pub(super) fn put_bytes(&mut self, bytes: &[u8]) {
        debug_assert_eq!(self.count, 0);
        self.bytes.extend_from_slice(bytes);
    }

    /// Compares the complete bytes produced since the last call with the expected stream.
    pub(super) fn confirm(&mut self) -> Result<(), Diverged> {
        let Some(expected) = self.expected else { return Ok(()) };
        while self.count >= 8 {
            self.bytes.push(self.bits as u8);
            self.bits >>= 8;
            self.count -= 8;
        }
        let fresh = &self.bytes[self.confirmed..];
        match expected.get(self.confirmed..self.confirmed + fresh.len()) {
            Some(wanted) if wanted == fresh => {
                self.confirmed = self.bytes.len();
                Ok(())
            }
            _ => Err(Diverged),
        }
    }

    /// The finished stream; with an expected stream, only if it was reproduced exactly.
    pub(super) fn finish(mut self) -> Result<Vec<u8>, Diverged> {
        self.align();
        self.confirm()?;
        match self.expected {
            Some(expected) if expected.len() != self.bytes.len() => Err(Diverged),
            _ => Ok(self.bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_packed_least_significant_first() {
        let mut writer = BitWriter::new(0, None);
        writer.put(0b1, 1);
        writer.put(0b01, 2);
        writer.put(0b11111, 5);
        writer.put(0xabcd, 16);
        writer.put(0b101, 3);
        assert_eq!(writer.finish(), Ok(vec![0b1111_1011, 0xcd, 0xab, 0b101]));
    }

    #[test]
    fn a_differing_byte_is_found_at_the_next_confirmation() {
        let expected = [1, 2, 3];
        let mut writer = BitWriter::new(0, Some(&expected));
        writer.put(1, 8);
        assert_eq!(writer.confirm(), Ok(()));
        writer.put(2, 8);
        writer.put(4, 8);
        assert_eq!(writer.confirm(), Err(Diverged));
    }

    #[test]
    fn a_prefix_of_the_expected_stream_is_not_a_reproduction() {
        let expected = [1, 2, 3];
        let mut writer = BitWriter::new(0, Some(&expected));
        writer.put(1, 8);
        writer.put(2, 8);
        assert_eq!(writer.finish(), Err(Diverged));
        let mut writer = BitWriter::new(0, Some(&expected));
        writer.put_bytes(&[1, 2, 3]);
        assert_eq!(writer.finish(), Ok(vec![1, 2, 3]));
    }
}
