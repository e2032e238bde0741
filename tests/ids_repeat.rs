#![allow(clippy::disallowed_types, clippy::disallowed_macros)]
//! After 65,535 arenas, ids repeat and two arenas can share a key: their chunks
//! then pass each other's fast-path mask. A free that finds its class full must
//! still send another arena's chunk to that arena, not into its own store (found
//! by review: the same memory was then handed to two threads). A binary of its
//! own: it makes the pool believe 65,535 arenas exist.

use arenapool::raw::{free, malloc};
use std::sync::mpsc;

#[test]
fn arenas_sharing_an_id_keep_their_own_chunks() {
    // SAFETY: raw allocator calls on blocks this test owns; arena pointers are never freed.
    unsafe {
        let keep = malloc(1);
        let id = (*arenapool::thread::arena()).id;
        arenapool::pool::POOL.lock().arena_count = arenapool::arena::MAX_ID + id - 1;
        let (tx, rx) = mpsc::channel::<(usize, usize)>();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel::<usize>();
        let t = std::thread::spawn(move || {
            // 1500 bytes: a chunk that passes free's mask but is never cached.
            let p = malloc(1500) as usize;
            let q = malloc(1500) as usize;
            let _guard = malloc(1500);
            assert_eq!(
                (*arenapool::thread::arena()).id,
                id,
                "the ids should repeat"
            );
            tx.send((p, q)).unwrap();
            go_rx.recv().unwrap();
            free(q as *mut u8);
            arenapool::check::thread_arena().unwrap();
            done_tx.send(malloc(2400) as usize).unwrap();
            go_rx.recv().unwrap();
        });
        let (p, _q) = rx.recv().unwrap();
        free(p as *mut u8);
        arenapool::check::thread_arena().unwrap();
        go_tx.send(()).unwrap();
        let r = done_rx.recv().unwrap();
        let m = malloc(1200) as usize;
        assert!(
            m + 1200 <= r || r + 2400 <= m,
            "the same memory went to two threads: {m:#x} and {r:#x}"
        );
        go_tx.send(()).unwrap();
        t.join().unwrap();
        arenapool::check::thread_arena().unwrap();
        free(keep);
    }
}
