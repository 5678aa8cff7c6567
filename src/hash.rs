//! XXH64, the content hash of stage records.
//!
//! Written here rather than taken from `xxhash-rust` (which polars already
//! builds): the hash runs on the writer's thread of every stage, and
//! xxhash-rust's XXH64, even at opt-level 3, made merge_assets_features
//! measurably slower at full size, past the records' budget of 5% of a stage
//! (bench/README.md, "Cost of the stage records", with the commands). The
//! algorithm is Yann Collet's XXH64, seed 0, checked against its published
//! values in the tests below.

const P1: u64 = 0x9E37_79B1_85EB_CA87;
const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const P3: u64 = 0x1656_67B1_9E37_79F9;
const P4: u64 = 0x85EB_CA77_C2B2_AE63;
const P5: u64 = 0x27D4_EB2F_1656_67C5;

#[inline(always)]
fn round(acc: u64, lane: u64) -> u64 {
    acc.wrapping_add(lane.wrapping_mul(P2))
        .rotate_left(31)
        .wrapping_mul(P1)
}

#[inline(always)]
fn merge(acc: u64, v: u64) -> u64 {
    (acc ^ round(0, v)).wrapping_mul(P1).wrapping_add(P4)
}

#[inline(always)]
fn lane(s: &[u8; 32], i: usize) -> u64 {
    // Byte by byte: LLVM makes one load of it, and no copy with debug
    // checks (the dev profile keeps debug assertions on) is in the way.
    u64::from_le_bytes([
        s[i],
        s[i + 1],
        s[i + 2],
        s[i + 3],
        s[i + 4],
        s[i + 5],
        s[i + 6],
        s[i + 7],
    ])
}

#[inline(always)]
fn read64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

/// A streaming XXH64 (seed 0).
#[derive(Clone)]
pub struct Xxh64 {
    v: [u64; 4],
    total: u64,
    buf: [u8; 32],
    buffered: usize,
}

impl Default for Xxh64 {
    fn default() -> Self {
        Self::new()
    }
}

impl Xxh64 {
    /// A hasher with nothing hashed yet.
    pub fn new() -> Self {
        Xxh64 {
            v: [P1.wrapping_add(P2), P2, 0, 0u64.wrapping_sub(P1)],
            total: 0,
            buf: [0; 32],
            buffered: 0,
        }
    }

    #[inline(always)]
    fn stripes(&mut self, data: &[u8]) {
        let [mut a, mut b, mut c, mut d] = self.v;
        let (stripes, _) = data.as_chunks::<32>();
        for s in stripes {
            a = round(a, lane(s, 0));
            b = round(b, lane(s, 8));
            c = round(c, lane(s, 16));
            d = round(d, lane(s, 24));
        }
        self.v = [a, b, c, d];
    }

    /// Hashes `data` after what came before.
    pub fn update(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        if self.buffered > 0 {
            let take = (32 - self.buffered).min(data.len());
            self.buf[self.buffered..self.buffered + take].copy_from_slice(&data[..take]);
            self.buffered += take;
            data = &data[take..];
            if self.buffered < 32 {
                return;
            }
            let block = self.buf;
            self.stripes(&block);
            self.buffered = 0;
        }
        let whole = data.len() / 32 * 32;
        self.stripes(&data[..whole]);
        let rest = &data[whole..];
        self.buf[..rest.len()].copy_from_slice(rest);
        self.buffered = rest.len();
    }

    /// The hash of everything given so far.
    pub fn digest(&self) -> u64 {
        let [a, b, c, d] = self.v;
        let mut h = if self.total >= 32 {
            let h = a
                .rotate_left(1)
                .wrapping_add(b.rotate_left(7))
                .wrapping_add(c.rotate_left(12))
                .wrapping_add(d.rotate_left(18));
            merge(merge(merge(merge(h, a), b), c), d)
        } else {
            c.wrapping_add(P5)
        };
        h = h.wrapping_add(self.total);
        let mut rest = &self.buf[..self.buffered];
        while rest.len() >= 8 {
            h ^= round(0, read64(rest));
            h = h.rotate_left(27).wrapping_mul(P1).wrapping_add(P4);
            rest = &rest[8..];
        }
        if rest.len() >= 4 {
            let mut w = [0u8; 4];
            w.copy_from_slice(&rest[..4]);
            h ^= u64::from(u32::from_le_bytes(w)).wrapping_mul(P1);
            h = h.rotate_left(23).wrapping_mul(P2).wrapping_add(P3);
            rest = &rest[4..];
        }
        for &byte in rest {
            h ^= u64::from(byte).wrapping_mul(P5);
            h = h.rotate_left(11).wrapping_mul(P1);
        }
        h ^= h >> 33;
        h = h.wrapping_mul(P2);
        h ^= h >> 29;
        h = h.wrapping_mul(P3);
        h ^ (h >> 32)
    }

    /// The digest as 16 hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.digest())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(data: &[u8]) -> u64 {
        let mut h = Xxh64::new();
        h.update(data);
        h.digest()
    }

    #[test]
    fn published_values() {
        assert_eq!(of(b""), 0xEF46_DB37_51D8_E999);
        assert_eq!(of(b"a"), 0xD24E_C4F1_A98C_6E5B);
        assert_eq!(of(b"abc"), 0x44BC_2CF5_AD77_0999);
    }

    #[test]
    fn pieces_hash_as_the_whole() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        let whole = of(&data);
        for cut in [1, 5, 31, 32, 33, 64, 100, 999] {
            let mut h = Xxh64::new();
            for part in data.chunks(cut) {
                h.update(part);
            }
            assert_eq!(h.digest(), whole, "pieces of {cut}");
        }
    }
}
