//! IoU tracking: gives each face box a stable identity across frames.
//!
//! Greedy matching: every (track, detection) pair with IoU at or above the threshold is a candidate;
//! candidates are taken by descending IoU, each track and each detection at most once. Unmatched
//! detections start new tracks; a track unmatched for more than `max_missed` consecutive frames ends
//! (its identity is never reused).

use serde::{Deserialize, Serialize};

/// Identity of a tracked face: 1, 2, ... in order of first appearance within a session.
pub type TrackId = u32;

/// An axis-aligned box in pixels of the full frame: top-left corner, width, height.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BBox {
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
}

impl BBox {
    pub const fn new(x: i32, y: i32, w: i32, h: i32) -> BBox {
        BBox { x, y, w, h }
    }

    /// Area in pixels (0 for empty or negative sizes).
    pub fn area(&self) -> i64 {
        if self.w <= 0 || self.h <= 0 {
            0
        } else {
            self.w as i64 * self.h as i64
        }
    }

    /// Centre as floating point (x, y).
    pub fn center(&self) -> (f32, f32) {
        (
            self.x as f32 + self.w as f32 / 2.0,
            self.y as f32 + self.h as f32 / 2.0,
        )
    }

    /// The overlap of two boxes, `None` when they do not overlap.
    pub fn intersection(&self, other: &BBox) -> Option<BBox> {
        let x0 = self.x.max(other.x);
        let y0 = self.y.max(other.y);
        let x1 = (self.x as i64 + self.w as i64).min(other.x as i64 + other.w as i64);
        let y1 = (self.y as i64 + self.h as i64).min(other.y as i64 + other.h as i64);
        if x1 <= x0 as i64 || y1 <= y0 as i64 {
            None
        } else {
            Some(BBox::new(
                x0,
                y0,
                (x1 - x0 as i64) as i32,
                (y1 - y0 as i64) as i32,
            ))
        }
    }
}

/// Intersection over union of two boxes, in [0, 1]; 0 when either is empty.
pub fn iou(a: &BBox, b: &BBox) -> f32 {
    let inter = a.intersection(b).map(|i| i.area()).unwrap_or(0);
    let union = a.area() + b.area() - inter;
    if union <= 0 {
        0.0
    } else {
        inter as f32 / union as f32
    }
}

/// Tracker settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrackerConfig {
    /// Minimum IoU between a track's last box and a detection to continue the track. Default 0.3.
    pub iou_threshold: f32,
    /// Frames a track may go unmatched (missed detections, occlusion) before it ends. Default 5.
    pub max_missed: u32,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            iou_threshold: 0.3,
            max_missed: 5,
        }
    }
}

#[derive(Debug, Clone)]
struct Track {
    id: TrackId,
    bbox: BBox,
    missed: u32,
}

/// Frame-to-frame IoU tracker.
#[derive(Debug, Clone)]
pub struct Tracker {
    config: TrackerConfig,
    tracks: Vec<Track>,
    next_id: TrackId,
}

impl Tracker {
    pub fn new(config: TrackerConfig) -> Tracker {
        Tracker {
            config,
            tracks: Vec::new(),
            next_id: 1,
        }
    }

    /// Matches this frame's detections to the live tracks; returns one identity per detection, in
    /// the input order.
    pub fn update(&mut self, detections: &[BBox]) -> Vec<TrackId> {
        let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
        for (ti, t) in self.tracks.iter().enumerate() {
            for (di, d) in detections.iter().enumerate() {
                let v = iou(&t.bbox, d);
                if v >= self.config.iou_threshold && v > 0.0 {
                    pairs.push((v, ti, di));
                }
            }
        }
        // Highest IoU first; ties by track age (older track first), then detection order.
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let mut track_used = vec![false; self.tracks.len()];
        let mut assigned: Vec<Option<TrackId>> = vec![None; detections.len()];
        for (_, ti, di) in pairs {
            if track_used[ti] || assigned[di].is_some() {
                continue;
            }
            track_used[ti] = true;
            assigned[di] = Some(self.tracks[ti].id);
            self.tracks[ti].bbox = detections[di];
            self.tracks[ti].missed = 0;
        }
        for (ti, used) in track_used.iter().enumerate() {
            if !used {
                self.tracks[ti].missed += 1;
            }
        }
        let max_missed = self.config.max_missed;
        self.tracks.retain(|t| t.missed <= max_missed);
        assigned
            .into_iter()
            .zip(detections)
            .map(|(a, d)| match a {
                Some(id) => id,
                None => {
                    let id = self.next_id;
                    self.next_id += 1;
                    self.tracks.push(Track {
                        id,
                        bbox: *d,
                        missed: 0,
                    });
                    id
                }
            })
            .collect()
    }

    /// Identities of the tracks still alive (matched recently enough).
    pub fn active_ids(&self) -> Vec<TrackId> {
        self.tracks.iter().map(|t| t.id).collect()
    }

    /// Number of identities handed out so far.
    pub fn identities(&self) -> u32 {
        self.next_id - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_of_hand_made_boxes() {
        let a = BBox::new(0, 0, 10, 10);
        assert_eq!(iou(&a, &a), 1.0);
        assert_eq!(iou(&a, &BBox::new(10, 0, 10, 10)), 0.0); // touching edges
        assert_eq!(iou(&a, &BBox::new(20, 20, 5, 5)), 0.0);
        // Half overlap: inter 50, union 150.
        assert!((iou(&a, &BBox::new(5, 0, 10, 10)) - 1.0 / 3.0).abs() < 1e-6);
        // Contained: inter 25, union 100.
        assert!((iou(&a, &BBox::new(2, 2, 5, 5)) - 0.25).abs() < 1e-6);
        assert_eq!(iou(&a, &BBox::new(0, 0, 0, 10)), 0.0);
        assert_eq!(iou(&BBox::new(0, 0, -3, 4), &BBox::new(0, 0, -3, 4)), 0.0);
        // Symmetric.
        let b = BBox::new(3, 4, 12, 9);
        assert_eq!(iou(&a, &b), iou(&b, &a));
    }

    #[test]
    fn iou_does_not_overflow_on_huge_boxes() {
        let a = BBox::new(i32::MAX - 10, 0, i32::MAX, 10);
        let b = BBox::new(0, 0, 100, 100);
        assert_eq!(iou(&a, &b), 0.0);
        let big = BBox::new(0, 0, 100_000, 100_000);
        assert_eq!(iou(&big, &big), 1.0);
    }

    #[test]
    fn ids_are_stable_while_faces_move_slowly() {
        let mut t = Tracker::new(TrackerConfig::default());
        let first = t.update(&[BBox::new(0, 0, 50, 50), BBox::new(200, 0, 50, 50)]);
        assert_eq!(first, vec![1, 2]);
        for k in 1..20 {
            // Detection order swapped each frame: identities follow the boxes, not the order.
            let ids = t.update(&[
                BBox::new(200 + 3 * k, k, 50, 50),
                BBox::new(3 * k, 0, 50, 50),
            ]);
            assert_eq!(ids, vec![2, 1]);
        }
        assert_eq!(t.identities(), 2);
    }

    #[test]
    fn a_jump_beyond_the_threshold_starts_a_new_identity() {
        let mut t = Tracker::new(TrackerConfig::default());
        assert_eq!(t.update(&[BBox::new(0, 0, 50, 50)]), vec![1]);
        assert_eq!(t.update(&[BBox::new(300, 300, 50, 50)]), vec![2]);
    }

    #[test]
    fn short_gaps_keep_the_identity_long_gaps_end_it() {
        let cfg = TrackerConfig {
            iou_threshold: 0.3,
            max_missed: 2,
        };
        let mut t = Tracker::new(cfg);
        let bx = BBox::new(10, 10, 40, 40);
        assert_eq!(t.update(&[bx]), vec![1]);
        t.update(&[]);
        t.update(&[]);
        assert_eq!(t.update(&[bx]), vec![1], "2 missed frames are tolerated");
        t.update(&[]);
        t.update(&[]);
        t.update(&[]);
        assert!(t.active_ids().is_empty());
        assert_eq!(t.update(&[bx]), vec![2], "3 missed frames end the track");
    }

    #[test]
    fn one_detection_cannot_take_two_tracks() {
        let mut t = Tracker::new(TrackerConfig::default());
        t.update(&[BBox::new(0, 0, 50, 50), BBox::new(30, 0, 50, 50)]);
        // A single box between both: the better-overlapping track takes it, the other misses.
        let ids = t.update(&[BBox::new(25, 0, 50, 50)]);
        assert_eq!(ids, vec![2]);
        assert_eq!(t.active_ids(), vec![1, 2]);
    }

    #[test]
    fn new_faces_get_new_ids_next_to_existing_ones() {
        let mut t = Tracker::new(TrackerConfig::default());
        t.update(&[BBox::new(0, 0, 50, 50)]);
        let ids = t.update(&[BBox::new(2, 0, 50, 50), BBox::new(400, 0, 60, 60)]);
        assert_eq!(ids, vec![1, 2]);
        let ids = t.update(&[BBox::new(401, 2, 60, 60)]);
        assert_eq!(ids, vec![2]);
    }

    #[test]
    fn ids_within_a_frame_are_always_distinct_and_never_reused() {
        // Deterministic pseudo-random boxes (LCG), many frames.
        let mut state = 12345u64;
        let mut next = |m: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) % m) as i32
        };
        let mut t = Tracker::new(TrackerConfig::default());
        let mut seen_max = 0;
        for _ in 0..500 {
            let n = next(5) as usize;
            let boxes: Vec<BBox> = (0..n)
                .map(|_| BBox::new(next(600), next(400), 20 + next(100), 20 + next(100)))
                .collect();
            let ids = t.update(&boxes);
            assert_eq!(ids.len(), n);
            let mut sorted = ids.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), n, "duplicate id in one frame: {ids:?}");
            for &id in &ids {
                assert!(id >= 1 && id <= t.identities());
            }
            // New ids are always above all earlier ones.
            let fresh: Vec<_> = ids.iter().filter(|&&i| i > seen_max).collect();
            for (k, &&i) in fresh.iter().enumerate() {
                assert_eq!(i, seen_max + 1 + k as u32);
            }
            seen_max = seen_max.max(t.identities());
            assert!(t.active_ids().len() <= 5 * (TrackerConfig::default().max_missed as usize + 1));
        }
    }
}
