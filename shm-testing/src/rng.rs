/// A small seeded random source (SplitMix64): the same seed gives the same
/// layouts and values on every machine and with every version of every
/// dependency, so a printed seed reproduces a failure for good.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `range` (inclusive), which must not be empty.
    pub fn range(&mut self, range: std::ops::RangeInclusive<usize>) -> usize {
        let (lo, hi) = (*range.start(), *range.end());
        assert!(lo <= hi, "empty range {lo}..={hi}");
        match (hi - lo).checked_add(1) {
            Some(span) => lo + (self.next_u64() % span as u64) as usize,
            None => self.next_u64() as usize,
        }
    }

    /// Between `lo` and `hi` (inclusive), each power of two about as likely
    /// as the next: small values as often as large ones.
    pub fn log_range(&mut self, lo: usize, hi: usize) -> usize {
        let lo = lo.max(1);
        let top = usize::BITS - hi.leading_zeros();
        let bits = self.range(0..=top as usize) as u32;
        let cap = if bits >= usize::BITS {
            usize::MAX
        } else {
            (1usize << bits).max(1)
        };
        self.range(lo..=cap.clamp(lo, hi))
    }

    /// True with probability `percent` / 100.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    /// One of `items`, which must not be empty.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0..=items.len() - 1)]
    }

    /// Random bytes.
    pub fn fill(&mut self, bytes: &mut [u8]) {
        for chunk in bytes.chunks_mut(8) {
            let word = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn ranges_stay_inside_and_reach_both_ends() {
        let mut rng = Rng::new(7);
        let mut seen = [false; 5];
        for _ in 0..1000 {
            let v = rng.range(3..=7);
            assert!((3..=7).contains(&v));
            seen[v - 3] = true;
            let l = rng.log_range(1, 1 << 20);
            assert!((1..=1 << 20).contains(&l));
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(Rng::new(1).next_u64(), Rng::new(1).next_u64());
    }
}
