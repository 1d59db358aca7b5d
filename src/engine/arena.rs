//! Storage for the engine's requests and tasks: slots reused through a free list.

/// A vector of slots whose keys stay valid until freed; freed keys are reused (last freed,
/// first reused, as `slab` does). Unlike `slab::Slab::remove`, [`Arena::free`] drops a value in
/// place instead of moving it out, and the free list lives beside the slots: a request or task
/// is written once when it starts and never copied again.
pub struct Arena<T> {
    slots: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Arena<T> {
    /// An empty arena with room for `n` values.
    pub fn with_capacity(n: usize) -> Self {
        Arena {
            slots: Vec::with_capacity(n),
            free: Vec::with_capacity(n),
        }
    }

    /// Stores `value` and returns its key.
    #[inline(always)]
    pub fn insert(&mut self, value: T) -> usize {
        match self.free.pop() {
            Some(k) => {
                self.slots[k as usize] = Some(value);
                k as usize
            }
            None => {
                self.slots.push(Some(value));
                self.slots.len() - 1
            }
        }
    }

    /// The value at `key`, if it is stored.
    #[inline(always)]
    pub fn get(&self, key: usize) -> Option<&T> {
        self.slots.get(key).and_then(Option::as_ref)
    }

    /// True if a value is stored at `key`.
    #[inline(always)]
    pub fn contains(&self, key: usize) -> bool {
        self.get(key).is_some()
    }

    /// Drops the value at `key` (in place) and frees the key; nothing happens if none is stored.
    #[inline(always)]
    pub fn free(&mut self, key: usize) {
        if let Some(slot) = self.slots.get_mut(key)
            && slot.is_some()
        {
            *slot = None;
            self.free.push(key as u32);
        }
    }
}

impl<T> std::ops::Index<usize> for Arena<T> {
    type Output = T;
    #[inline(always)]
    fn index(&self, key: usize) -> &T {
        match self.slots[key].as_ref() {
            Some(v) => v,
            None => vacant(key),
        }
    }
}

impl<T> std::ops::IndexMut<usize> for Arena<T> {
    #[inline(always)]
    fn index_mut(&mut self, key: usize) -> &mut T {
        match self.slots[key].as_mut() {
            Some(v) => v,
            None => vacant(key),
        }
    }
}

#[cold]
#[inline(never)]
fn vacant(key: usize) -> ! {
    panic!("engine bug: no request or task at key {key}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_reused_last_freed_first() {
        let mut a = Arena::with_capacity(2);
        let k0 = a.insert("a");
        let k1 = a.insert("b");
        let k2 = a.insert("c");
        assert_eq!((k0, k1, k2), (0, 1, 2));
        a.free(k0);
        a.free(k2);
        a.free(k2); // twice: no effect
        assert!(!a.contains(k0) && a.contains(k1) && a.get(k2).is_none());
        assert_eq!(a.insert("d"), k2);
        assert_eq!(a.insert("e"), k0);
        assert_eq!(a.insert("f"), 3);
        assert_eq!((a[k0], a[k1], a[k2]), ("e", "b", "d"));
        a[k1] = "B";
        assert_eq!(a.get(k1), Some(&"B"));
        assert_eq!(a.get(99), None);
    }
}
