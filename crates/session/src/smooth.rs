//! Rolling-window smoothing of probability vectors.

use crate::Probs;
use moodlens_common::NUM_EMOTIONS;
use std::collections::VecDeque;

/// The last `len` probability vectors of one identity; [`RollingWindow::mean`] is their average.
#[derive(Debug, Clone)]
pub struct RollingWindow {
    len: usize,
    items: VecDeque<Probs>,
}

impl RollingWindow {
    /// A window of `len` frames (0 is treated as 1).
    pub fn new(len: usize) -> RollingWindow {
        let len = len.max(1);
        RollingWindow {
            len,
            items: VecDeque::with_capacity(len),
        }
    }

    /// Adds a frame's vector, evicting the oldest when full.
    pub fn push(&mut self, p: Probs) {
        if self.items.len() == self.len {
            self.items.pop_front();
        }
        self.items.push_back(p);
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.len
    }

    /// Element-wise mean of the vectors in the window (zeros when empty).
    pub fn mean(&self) -> Probs {
        let mut m = [0f32; NUM_EMOTIONS];
        if self.items.is_empty() {
            return m;
        }
        for p in &self.items {
            for (acc, v) in m.iter_mut().zip(p) {
                *acc += v;
            }
        }
        let n = self.items.len() as f32;
        for v in m.iter_mut() {
            *v /= n;
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_oldest_and_averages() {
        let mut w = RollingWindow::new(2);
        assert!(w.is_empty());
        assert_eq!(w.mean(), [0.0; 7]);
        w.push([1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(w.mean()[0], 1.0);
        w.push([0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(w.mean()[..2], [0.5, 0.5]);
        w.push([0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(w.len(), 2);
        assert_eq!(w.mean()[..3], [0.0, 0.5, 0.5]);
    }

    #[test]
    fn zero_length_is_one() {
        let mut w = RollingWindow::new(0);
        assert_eq!(w.capacity(), 1);
        w.push([0.5; 7]);
        w.push([0.25; 7]);
        assert_eq!(w.mean(), [0.25; 7]);
    }
}
