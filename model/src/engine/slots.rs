//! The engine's KV caches: one per document in recent use, so that switching between
//! files costs nothing. A job names its slot by a key (a hash of its document); a new
//! key takes a free slot while the memory cap allows one more, else the least
//! recently used one.

use candle_core::Device;

use crate::hparams::HParams;
use crate::kv_cache::KvCache;
use crate::transformer::Suspended;

/// An answer's tokens, kept so a later job for the same prompt can go on from it.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct LastAnswer {
    /// Prompt tokens before the answer (the cache's first tokens).
    pub(super) prompt_len: usize,
    /// The healing bytes the answer began with.
    pub(super) heal: Vec<u8>,
    /// Every token generated, in order (all but the last are in the cache after the prompt).
    pub(super) tokens: Vec<u32>,
    /// How sure the model was of each (`TokenScore::end` as in that answer).
    pub(super) scores: Vec<super::job::TokenScore>,
}

/// One cache and what it was last used for.
pub(super) struct Slot {
    /// The key of the document it holds.
    pub(super) key: u64,
    /// Keys and values.
    pub(super) cache: KvCache,
    /// The last greedy answer computed in it.
    pub(super) last: Option<LastAnswer>,
    /// A forward pass interrupted between layers, finished by the next evaluation
    /// that needs its tokens.
    pub(super) suspended: Option<Suspended>,
    /// Positions whose keys and values were moved into place for a prompt (that
    /// prompt, and the ranges), taken as they are when its evaluation reaches them.
    pub(super) placed: Option<(Vec<u32>, Vec<std::ops::Range<usize>>)>,
    /// When it was last used (a counter).
    used: u64,
}

impl Slot {
    /// A slot for key 0 holding nothing yet.
    pub(super) fn fresh(cache: KvCache) -> Slot {
        Slot { key: 0, cache, last: None, suspended: None, placed: None, used: 0 }
    }
}

/// The caches.
pub(super) struct Slots {
    slots: Vec<Slot>,
    most: usize,
    clock: u64,
    hp: HParams,
    capacity: usize,
    device: Device,
}

impl Slots {
    /// Slots beside `first` (the model's own cache, for key 0), at most `most` in all.
    pub(super) fn new(first: KvCache, most: usize, hp: &HParams, device: &Device) -> Slots {
        let capacity = first.capacity();
        let slot = Slot::fresh(first);
        Slots { slots: vec![slot], most: most.max(1), clock: 0, hp: hp.clone(), capacity, device: device.clone() }
    }

    /// The slot for `key`: its own, a new one while under the cap, else the least
    /// recently used one (emptied).
    pub(super) fn get(&mut self, key: u64) -> candle_core::Result<&mut Slot> {
        self.clock += 1;
        let index = match self.slots.iter().position(|s| s.key == key) {
            Some(i) => i,
            None if self.slots.len() < self.most => {
                let cache = KvCache::new(&self.hp, self.capacity, &self.device)?;
                self.slots.push(Slot { key, ..Slot::fresh(cache) });
                tracing::debug!(slots = self.slots.len(), most = self.most, "KV cache slot added");
                self.slots.len() - 1
            }
            None => {
                let (i, _) = self.slots.iter().enumerate().min_by_key(|(_, s)| s.used).unwrap_or((0, &self.slots[0]));
                let slot = &mut self.slots[i];
                slot.key = key;
                slot.cache.truncate(0);
                slot.last = None;
                slot.suspended = None;
                slot.placed = None;
                i
            }
        };
        let slot = &mut self.slots[index];
        slot.used = self.clock;
        Ok(slot)
    }

    /// Positions each cache holds.
    pub(super) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Empties every slot (after a failure that may have left a cache half written).
    pub(super) fn clear(&mut self) {
        for slot in &mut self.slots {
            slot.cache.truncate(0);
            slot.last = None;
            slot.suspended = None;
            slot.placed = None;
        }
    }
}
