//! The documents whose leaders still have messages while a peer's outbox is full: a
//! first-in, first-out queue served as the outboxes drain.
//!
//! A set walked at every tick re-touched every blocked document each time: after
//! 100,000 documents were written at once, the driver spent its time re-inserting
//! ~95,000 names (string compares in B-trees) only to find the outbox still full.
//! The queue costs O(1) per document blocked and per document served.

use std::collections::{HashSet, VecDeque};

/// Blocked documents in the order they blocked, each at most once.
#[derive(Default)]
pub(crate) struct Blocked {
    queue: VecDeque<String>,
    members: HashSet<String>,
}

impl Blocked {
    /// Queues `doc` unless it already waits (it keeps its place).
    pub(crate) fn push(&mut self, doc: &str) {
        if !self.members.contains(doc) {
            self.members.insert(doc.to_string());
            self.queue.push_back(doc.to_string());
        }
    }

    /// The document that has waited longest.
    pub(crate) fn pop(&mut self) -> Option<String> {
        let doc = self.queue.pop_front()?;
        self.members.remove(&doc);
        Some(doc)
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_wait_once_and_in_order() {
        let mut b = Blocked::default();
        for d in ["b", "a", "b", "c", "a"] {
            b.push(d);
        }
        assert_eq!(b.len(), 3);
        assert_eq!(b.pop().as_deref(), Some("b"));
        b.push("b"); // back at the end
        let rest: Vec<String> = std::iter::from_fn(|| b.pop()).collect();
        assert_eq!(rest, ["a", "c", "b"]);
        assert!(b.is_empty());
    }
}
