//! The answers of the tenant-manager, kept for a while: fresh for `ttl`,
//! then usable only while the tenant-manager fails, for `stale_for` more.
//! A key nobody knows is remembered for `negative_ttl`. Time comes in as a
//! parameter, so the rules are tested without a clock.

use std::{collections::HashMap, hash::Hash, time::Duration};
use tokio::time::Instant;

/// How long entries live.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ttls {
    pub(super) ttl: Duration,
    pub(super) negative_ttl: Duration,
    pub(super) stale_for: Duration,
}

#[derive(Debug)]
enum Entry<V> {
    Known(V, Instant),
    Unknown(Instant),
}

/// What the cache holds for a key at `now`.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Hit<V> {
    /// Within its TTL: `Some` known, `None` known to be unknown.
    Fresh(Option<V>),
    /// Past its TTL but within `stale_for`: only for when a fetch fails.
    Stale(V),
    /// Nothing usable.
    Miss,
}

/// A bounded map of answers.
#[derive(Debug)]
pub(super) struct Cache<K, V> {
    map: HashMap<K, Entry<V>>,
    ttls: Ttls,
    max: usize,
}

impl<K: Eq + Hash + Clone, V: Clone> Cache<K, V> {
    pub(super) fn new(ttls: Ttls, max: usize) -> Self {
        Self {
            map: HashMap::new(),
            ttls,
            max,
        }
    }

    pub(super) fn get(&self, key: &K, now: Instant) -> Hit<V> {
        let t = self.ttls;
        match self.map.get(key) {
            Some(Entry::Known(v, at)) if now < *at + t.ttl => Hit::Fresh(Some(v.clone())),
            Some(Entry::Known(v, at)) if now < *at + t.ttl + t.stale_for => Hit::Stale(v.clone()),
            Some(Entry::Unknown(at)) if now < *at + t.negative_ttl => Hit::Fresh(None),
            _ => Hit::Miss,
        }
    }

    /// Remembers an answer fetched at `now` (`None`: unknown).
    pub(super) fn put(&mut self, key: K, value: Option<V>, now: Instant) {
        if self.map.len() >= self.max && !self.map.contains_key(&key) {
            self.make_room(now);
        }
        let entry = match value {
            Some(v) => Entry::Known(v, now),
            None => Entry::Unknown(now),
        };
        self.map.insert(key, entry);
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.map.len()
    }

    /// Drops what can no longer serve; when that frees nothing, the unknown
    /// keys, then the oldest tenth: a flood of random DIDs must not grow
    /// the memory nor push every known route out at once.
    fn make_room(&mut self, now: Instant) {
        let t = self.ttls;
        self.map.retain(|_, e| match e {
            Entry::Known(_, at) => now < *at + t.ttl + t.stale_for,
            Entry::Unknown(at) => now < *at + t.negative_ttl,
        });
        if self.map.len() < self.max {
            return;
        }
        self.map.retain(|_, e| matches!(e, Entry::Known(..)));
        if self.map.len() < self.max {
            return;
        }
        let mut ages: Vec<Instant> = self
            .map
            .values()
            .map(|e| match e {
                Entry::Known(_, at) | Entry::Unknown(at) => *at,
            })
            .collect();
        ages.sort_unstable();
        let cut = ages[ages.len() / 10];
        self.map.retain(|_, e| match e {
            Entry::Known(_, at) | Entry::Unknown(at) => *at > cut,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn cache(max: usize) -> Cache<u32, &'static str> {
        Cache::new(
            Ttls {
                ttl: 10 * S,
                negative_ttl: 2 * S,
                stale_for: 100 * S,
            },
            max,
        )
    }

    #[test]
    fn fresh_then_stale_then_gone() {
        let t0 = Instant::now();
        let mut c = cache(100);
        c.put(1, Some("a"), t0);
        assert_eq!(c.get(&1, t0 + 9 * S), Hit::Fresh(Some("a")));
        assert_eq!(c.get(&1, t0 + 10 * S), Hit::Stale("a"));
        assert_eq!(c.get(&1, t0 + 109 * S), Hit::Stale("a"));
        assert_eq!(c.get(&1, t0 + 110 * S), Hit::Miss);
        assert_eq!(c.get(&2, t0), Hit::Miss);
    }

    #[test]
    fn unknown_is_remembered_for_the_negative_ttl_and_never_stale() {
        let t0 = Instant::now();
        let mut c = cache(100);
        c.put(1, None, t0);
        assert_eq!(c.get(&1, t0 + S), Hit::Fresh(None));
        assert_eq!(c.get(&1, t0 + 2 * S), Hit::Miss);
    }

    #[test]
    fn a_full_cache_drops_unknown_keys_before_routes() {
        let t0 = Instant::now();
        let mut c = cache(100);
        for k in 0..50 {
            c.put(k, Some("known"), t0);
        }
        for k in 50..100 {
            c.put(k, None, t0 + S);
        }
        c.put(1000, Some("new"), t0 + S);
        assert!(c.len() <= 100);
        assert_eq!(c.get(&7, t0 + S), Hit::Fresh(Some("known")));
        assert_eq!(c.get(&1000, t0 + S), Hit::Fresh(Some("new")));
        // All known: the oldest go, the cache stays bounded.
        for k in 2000..2200 {
            c.put(k, Some("k"), t0 + 2 * S);
        }
        assert!(c.len() <= 100, "{}", c.len());
    }
}
