//! Maps keyed by call that must not keep a load's peak.

use std::collections::HashMap;
use std::hash::Hash;

/// Below this the table is left alone: small, and often refilled.
const SMALL: usize = 64;

/// Gives back a map's room once it holds a quarter of it or less. A map of
/// calls grown for a load's peak keeps its table after the calls end (1.2 MB
/// for the console's live calls after 1,000 calls, empty), and the pages it
/// holds cannot go back to the system. Shrinking to twice what is left keeps
/// growing and shrinking amortised O(1) per call.
pub(crate) fn shrink_after_peak<K: Eq + Hash, V>(map: &mut HashMap<K, V>) {
    if map.capacity() > SMALL && map.len() * 4 <= map.capacity() {
        map.shrink_to((map.len() * 2).max(SMALL));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_map_emptied_after_a_peak_gives_its_room_back() {
        let mut map: HashMap<u32, [u8; 400]> = HashMap::new();
        for i in 0..2_000 {
            map.insert(i, [0; 400]);
        }
        let peak = map.capacity();
        for i in 0..2_000 {
            map.remove(&i);
            shrink_after_peak(&mut map);
            assert!(map.capacity() >= map.len());
        }
        assert!(
            peak >= 2_000 && map.capacity() <= 2 * SMALL,
            "{peak} -> {}",
            map.capacity()
        );
    }

    #[test]
    fn a_map_that_stays_busy_is_not_rebuilt() {
        let mut map: HashMap<u32, u32> = (0..1_000).map(|i| (i, i)).collect();
        let cap = map.capacity();
        for i in 0..500 {
            map.remove(&i);
            shrink_after_peak(&mut map);
        }
        // (Tombstones of removed entries may take a few slots of room.)
        assert!(
            map.capacity() > cap * 9 / 10,
            "half full is not a quarter: {cap} -> {}",
            map.capacity()
        );
    }
}
