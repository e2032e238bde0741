//! Model-based property tests: random sequences of alloc, alloc_zeroed, realloc and
//! free through `ArenaPool`'s `GlobalAlloc` methods (sizes 1 B to 8 MiB, alignments
//! 1 B to 2 MiB), every block filled with a pattern and checked before it is freed
//! or moved, no two live blocks overlapping, and the arena and pool invariants
//! walked after every step.

#![allow(clippy::disallowed_types, clippy::disallowed_macros)]

use arenapool::ArenaPool;
use proptest::prelude::*;
use std::alloc::{GlobalAlloc, Layout};
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
enum Op {
    Alloc {
        size: usize,
        align_log: u32,
        zeroed: bool,
    },
    Realloc {
        idx: usize,
        size: usize,
    },
    Free {
        idx: usize,
    },
}

fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        6 => 1usize..=256,
        3 => 257usize..=65_536,
        2 => 65_537usize..=(1 << 20),
        1 => (1usize << 20)..=(8 << 20),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (size(), prop_oneof![6 => 0u32..=4, 3 => 5u32..=12, 1 => 13u32..=21], any::<bool>())
            .prop_map(|(size, align_log, zeroed)| Op::Alloc { size, align_log, zeroed }),
        2 => (any::<usize>(), size()).prop_map(|(idx, size)| Op::Realloc { idx, size }),
        3 => any::<usize>().prop_map(|idx| Op::Free { idx }),
    ]
}

struct Block {
    ptr: *mut u8,
    layout: Layout,
    seed: u8,
}

fn pattern(seed: u8, i: usize) -> u8 {
    seed.wrapping_add((i % 251) as u8)
}

fn fill(b: &Block) {
    // SAFETY: the block is live and layout.size() bytes long.
    let s = unsafe { std::slice::from_raw_parts_mut(b.ptr, b.layout.size()) };
    for (i, x) in s.iter_mut().enumerate() {
        *x = pattern(b.seed, i);
    }
}

fn verify(b: &Block, len: usize) {
    // SAFETY: the block is live and at least len bytes long.
    let s = unsafe { std::slice::from_raw_parts(b.ptr, len) };
    for (i, &x) in s.iter().enumerate() {
        assert_eq!(x, pattern(b.seed, i), "block {:?} byte {i} changed", b.ptr);
    }
}

fn no_overlap(live: &[Block]) {
    let mut m = BTreeMap::new();
    for b in live {
        m.insert(b.ptr as usize, b.layout.size());
    }
    let mut end = 0;
    for (&p, &len) in &m {
        assert!(p >= end, "live blocks overlap at {p:#x}");
        end = p + len;
    }
}

fn checks() {
    arenapool::check::thread_arena().unwrap();
    arenapool::check::pool().unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_programs_keep_every_block_intact(ops in proptest::collection::vec(op(), 1..120)) {
        let a = ArenaPool;
        let mut live: Vec<Block> = Vec::new();
        for (step, op) in ops.into_iter().enumerate() {
            match op {
                Op::Alloc { size, align_log, zeroed } => {
                    let layout = Layout::from_size_align(size, 1 << align_log).unwrap();
                    // SAFETY: non-zero size.
                    let ptr = unsafe { if zeroed { a.alloc_zeroed(layout) } else { a.alloc(layout) } };
                    prop_assert!(!ptr.is_null());
                    prop_assert_eq!(ptr as usize % layout.align(), 0);
                    if zeroed {
                        // SAFETY: live block of `size` bytes.
                        let s = unsafe { std::slice::from_raw_parts(ptr, size) };
                        prop_assert!(s.iter().all(|&x| x == 0), "alloc_zeroed not zero");
                    }
                    let b = Block { ptr, layout, seed: step as u8 };
                    fill(&b);
                    live.push(b);
                }
                Op::Realloc { idx, size } if !live.is_empty() => {
                    let i = idx % live.len();
                    let old = &live[i];
                    verify(old, old.layout.size());
                    let keep = old.layout.size().min(size);
                    // SAFETY: ptr/layout describe a live block; size is non-zero.
                    let ptr = unsafe { a.realloc(old.ptr, old.layout, size) };
                    prop_assert!(!ptr.is_null());
                    prop_assert_eq!(ptr as usize % old.layout.align(), 0);
                    let moved = Block {
                        ptr,
                        layout: Layout::from_size_align(size, old.layout.align()).unwrap(),
                        seed: old.seed,
                    };
                    verify(&moved, keep);
                    fill(&moved);
                    live[i] = moved;
                }
                Op::Free { idx } if !live.is_empty() => {
                    let b = live.swap_remove(idx % live.len());
                    verify(&b, b.layout.size());
                    // SAFETY: ptr/layout describe a live block, freed once.
                    unsafe { a.dealloc(b.ptr, b.layout) };
                }
                _ => {}
            }
            no_overlap(&live);
            checks();
        }
        for b in live.drain(..) {
            verify(&b, b.layout.size());
            // SAFETY: as above.
            unsafe { a.dealloc(b.ptr, b.layout) };
        }
        checks();
    }
}
