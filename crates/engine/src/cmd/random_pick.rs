//! The COUNT strategies HRANDFIELD and SRANDMEMBER share, following Redis case by case, over
//! any collection given as a way to draw one element at random and an iterator over all of them.

use crate::dict::Dict;
use crate::rng::Rng;

/// How much larger than the count a collection must be before picking at random beats copying
/// it and removing random elements (Redis's HRANDFIELD_ and SRANDMEMBER_SUB_STRATEGY_MUL).
const SUB_STRATEGY_MUL: u64 = 3;

/// Emits `|l|` elements of a non-empty collection of `size` elements: with repeats, in the
/// order drawn, when `l` is negative (or 1); all of them when `l >= size`; else `l` distinct
/// ones. `draw` picks one element at random, `all` walks them in stored order, and `key` gives
/// the bytes that tell two elements apart.
pub(crate) fn pick<T: Copy>(
    rng: &mut Rng,
    l: i64,
    size: u64,
    all: impl Iterator<Item = T>,
    mut draw: impl FnMut(&mut Rng) -> Option<T>,
    key: impl Fn(T) -> Box<[u8]>,
    mut emit: impl FnMut(T),
) {
    let (count, unique) = (l.unsigned_abs(), l >= 0);
    if count == 0 {
        return;
    }
    if !unique || count == 1 {
        // Independent picks, repeats allowed.
        for _ in 0..count {
            let Some(x) = draw(rng) else { break };
            emit(x);
        }
    } else if count >= size {
        all.for_each(emit);
    } else if count * SUB_STRATEGY_MUL > size {
        // Most of it is wanted: drop random elements from a copy until `count` remain.
        let mut copy: Vec<T> = all.collect();
        while copy.len() as u64 > count {
            let i = rng.below(copy.len() as u64) as usize;
            copy.swap_remove(i);
        }
        copy.into_iter().for_each(emit);
    } else {
        // A few elements of a large collection: draw until `count` distinct ones were seen.
        let mut seen = Dict::new(rng.next_u64());
        while (seen.len() as u64) < count {
            let Some(x) = draw(rng) else { break };
            let k = key(x);
            if seen.contains_key(&k) {
                continue;
            }
            seen.insert(k.into(), ());
            emit(x);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The picks of `l` from the numbers 0..size, under one seed.
    fn picks(l: i64, size: u8) -> Vec<u8> {
        let items: Vec<u8> = (0..size).collect();
        let mut rng = Rng::new(42);
        let mut out = Vec::new();
        pick(
            &mut rng,
            l,
            u64::from(size),
            items.iter().copied(),
            |rng| Some(items[rng.below(u64::from(size)) as usize]),
            |x| Box::from([x].as_slice()),
            |x| out.push(x),
        );
        out
    }

    fn distinct(v: &[u8]) -> usize {
        let mut v = v.to_vec();
        v.sort_unstable();
        v.dedup();
        v.len()
    }

    #[test]
    fn each_count_strategy_gives_the_promised_elements() {
        assert!(picks(0, 10).is_empty());
        // Negative: exactly |l| draws, so more than the collection holds means repeats.
        let repeated = picks(-25, 10);
        assert_eq!(repeated.len(), 25);
        assert!(distinct(&repeated) < 25);
        // At least the size: everything, in stored order.
        assert_eq!(picks(10, 10), (0..10).collect::<Vec<u8>>());
        assert_eq!(picks(99, 10), (0..10).collect::<Vec<u8>>());
        // Removing from a copy (8 * 3 > 10) and drawing until distinct (3 * 3 <= 100).
        for (l, size) in [(8, 10), (3, 100), (30, 100)] {
            let got = picks(l, size);
            assert_eq!(got.len(), l as usize);
            assert_eq!(distinct(&got), l as usize);
            assert!(got.iter().all(|&x| x < size));
        }
        assert_eq!(picks(30, 100), picks(30, 100));
    }
}
