//! How arenapool works: arenas, the page pool, sizes, threads, misuse checks.
//!
//! This module holds documentation only. It is the long form of the README's
//! overview; measurements are in [`performance`](crate::performance) and the
//! tests in [`testing`](crate::testing).
//!
//! # Overview
//!
//! Every thread owns an **arena**: an address-sorted, coalescing free list
//! carved from `mmap`'d spans, with a small per-size cache in front. One global,
//! mutex-protected **page pool** hands spans to arenas, takes them back
//! (coalescing neighbours), serves large blocks, and resolves frees into the
//! arenas of threads that have exited.
//!
//! Two front doors: a Rust `#[global_allocator]` type,
//! [`ArenaPool`](crate::ArenaPool), and a shared library that exports the whole
//! C `malloc` family for `LD_PRELOAD` (cargo feature `preload`; see
//! [C interface](#c-interface)).
//!
//! ```text
//!         thread A                         thread B
//!    +------------------+            +------------------+
//!    | arena            |            | arena            |
//!    |  cache: 64 bins  |            |  cache           |
//!    |  (32 B..1 KiB)   |            |                  |
//!    |  store: size     |  remote    |  store           |
//!    |  bins -> chunks  |<--frees----|                  |
//!    |  of its spans    |  (atomic   |                  |
//!    |  remote lists    |   push)    |  remote lists    |
//!    |  shelf: freed    |            |  shelf           |
//!    |  pool blocks     |            |                  |
//!    +--------+---------+            +---------+--------+
//!             | spans (256 KiB, aligned)       |
//!             v                                v
//!    +---------------------------------------------------+
//!    | page pool (one, futex mutex)                      |
//!    |  free runs sorted by address, coalesced           |
//!    |  pool blocks (128 KiB .. 32 MiB)                  |
//!    |  parked arenas of exited threads                  |
//!    +------------------------+--------------------------+
//!                             | mmap / munmap (regions of 4 MiB+)
//!                             v
//!                            OS        <- huge blocks (>= 32 MiB): own mmap each
//! ```
//!
//! # Spans and chunks
//!
//! An arena's memory comes in *spans*: 256 KiB, aligned to 256 KiB, so the span
//! of any block is found by masking its address. A span is tiled by *chunks*,
//! each with an 8-byte header (its size, the previous chunk's size, and a FREE
//! flag): boundary tags, so a chunk's neighbours are found in O(1). The free
//! chunks of a span form a doubly linked **list sorted by address**; a bitmap
//! with one bit per possible chunk start indexes that list, so inserting a chunk
//! finds its predecessor with a few word operations instead of a walk. The free
//! chunks are also linked into the arena's **size bins** (exact bins of 16 bytes
//! up to 1 KiB, then four per power of two) with a bitmap of non-empty bins, so a
//! fitting chunk is found in O(1). Splitting and coalescing happen on the sorted
//! list; no operation walks it. `Span::check` and `Arena::check` walk everything
//! and verify the invariants (sorted, non-overlapping, tiled, fully coalesced,
//! bins and bitmaps consistent, byte counts adding up); the unit and property
//! tests run them after every step.
//!
//! # The cache
//!
//! In front of the store, each arena keeps a bounded cache per chunk size up to
//! 1 KiB (64 KiB per size, 32 to 2048 chunks: `CACHE_BYTES` in
//! [Size boundaries](#size-boundaries)), as glibc's tcache sits in front of its
//! bins. Cached chunks are "in use" to the store. A class that overflows
//! doubles its limit instead of flushing, up to 128 times its base limit, while
//! the classes' growth adds up to at most 16 MiB (`CACHE_GROW`,
//! `CACHE_GROWN_MAX`): a program that drops a tree or a map of 100,000 small
//! blocks and builds it again gets them back from the cache rather than
//! through the store, one coalescing insert and one split per block. The growth
//! goes back to the store (each class cut to its base limit, the medium tier
//! below emptied) before the arena takes a new span: memory held for one size
//! never makes the arena map more for another (without this, `rayon`'s peak
//! RSS was 4.8 MB instead of 3.9, and `live-100k`'s 17.0 MB instead of 14.3;
//! `live-100k` keeps its gain: 409M estimated cycles, against 762M before the
//! growth and mimalloc's 343M). The
//! limits also go back to their base whenever the cache is switched off: when
//! the arena turns sparse (its live data fills less than an eighth of its
//! spans) and at thread exit. So a thread's cache holds at most 4 MiB at base
//! limits plus 16 MiB grown, and only while its arena stays dense. A class
//! that may not grow further sheds at most 256 of its newest chunks at a
//! time, *loose* (see [One `free`, local](#one-free-local)).
//!
//! An empty class is refilled from the store in one carve: half its limit,
//! but at most 8 KiB of chunks (`REFILL_BYTES`). Carving writes every chunk's
//! header, so what it carves is resident at once. A class's first refills
//! carve less: 1 KiB, then 2 and 4 KiB, and 8 KiB from its fourth refill on
//! (`REFILL_RAMP`), starting over whenever the cache is switched off. A
//! thread whose sizes spread over all 64 classes made 512 KiB resident at
//! their first refills, for what may be a few kilobytes of live data
//! (`mixed-sizes` peak RSS 5,440 KiB before, 5,100 after, `regex` 11,500 and
//! 10,744, one thread, medians of 3). A class in steady use pays three more
//! refills. A batch is also at most the arena's used bytes over 256
//! (`REFILL_SHARE`), but never under 1 KiB: a small heap's classes carve 1
//! KiB at a time, and the ramp reaches 8 KiB only once the arena uses 2 MiB.
//! What the classes carve ahead of their pops (up to 8 KiB each, 64 classes)
//! then stays a small share of any heap: a C program holding 2,000 blocks
//! of 8 B to 1 KiB held 684 KiB, 492 KiB with the bound (glibc 460). A big
//! heap's classes carve as before, so a program that builds and drops a
//! big structure pays no more refills (392 M instructions against 391.6 M
//! under callgrind for 300,000 blocks built and dropped three times).
//!
//! A **loose** chunk is marked free in place (both the `FREE` and the `CACHED`
//! flag) and counted on its span, but not merged: to the store it is in use,
//! and a second `free` of it is reported as a cached chunk's is. A *sweep* of
//! the span merges its loose chunks into the store in one pass over the
//! span's chunks in address order, from the lowest loose chunk to past the
//! highest, each run of loose and free neighbours becoming one free chunk. A
//! program dropping millions of small blocks in random order then pays a
//! header write per block where it paid a coalescing insert, whose size-bin
//! and address-list neighbours lie anywhere in the arena, a cache miss each
//! (4 million shuffled Strings: 1.5-1.7 s before, 0.8-1.2 s after). A span is
//! swept when it holds 128 KiB loose, half the span (`SWEEP_AT`), when the
//! store has no fit and the arena would take a new span (spans with 16 KiB
//! loose or more, `SWEEP_MIN`), and at thread exit; a span whose chunks are all free or
//! loose is swept at once and goes back to the pool as any empty span does.
//! While the cache is off (a sparse arena) small frees are set aside loose
//! too, except in secure mode, where every free goes straight to the store.
//! Setting a chunk aside reads nothing but its own header: its boundary tags
//! are checked by the sweep, which reads every header it passes in address
//! order anyway (each `prev_size` against the size before it), so an
//! overflow off a loose chunk is reported when its span is swept, at the
//! latest at its thread's exit. Each header's address comes from the size in
//! the one before, so the sweep prefetches 1 KiB ahead of the chunk it reads
//! (`SWEEP_AHEAD`) and the misses of a span freed long ago overlap instead of
//! following one another. When the arena turns sparse and the cache is
//! switched off, its classes' lists are walked side by side, a step along
//! each per round, so that the loads of their links overlap (a grown class
//! holds chunks freed long ago, a cache miss each), and the spans are swept
//! after the whole cache is set aside, each once.
//!
//! A **medium tier** holds freed chunks over 1 KiB (up to the arena limit,
//! 128 KiB), newest first, one list per medium class: a request takes the
//! newest chunk of its class's list or the next if that is at least its size
//! and at most an eighth more, whole. A vector or string that grows by doubling, or a buffer
//! of one size made again and again, gets the chunk it just gave back instead
//! of a coalescing insert and a split (`vec-push` under cachegrind: 855M
//! estimated cycles before, 791M after; mimalloc 756M). A chunk with a free
//! neighbour waits there too, kept apart from the neighbour until the tier
//! is emptied and the two merge. Its free reads the free neighbour as the
//! merge would have (its size, its end tag and its size-bin links), so a
//! write past a block into a free neighbour is still caught at the free.
//! Until 2026-12-02 such a chunk went to the store to merge at once: 38% of
//! `churn-medium`'s medium frees, each a coalescing insert there and a split
//! for the next request of its class. Without that, `churn-medium` takes
//! 0.88 / 0.90 of the time at 1 / 2 threads, for 3-6% more peak memory
//! (free space stays apart while the tier holds its neighbour). A medium
//! request is rounded up to its class (eight per power of two, at most an
//! eighth more; a request of exactly a class
//! bound's bytes, a power of two among them, is not rounded:
//! `size::medium_class`), and the tier keeps a list per class, so that every
//! chunk on its class's list fits a request. The tier holds at most
//! 256 KiB, or a quarter of the arena's chunks in use if more
//! (`MEDIUM_BYTES`, `MEDIUM_SHARE`). A free past that bound sends the
//! tier's lists into the store, the biggest class first, until it holds half
//! the bound: chunks of the smaller classes stay for the requests they fit.
//! (Emptied whole, as it was, `churn-medium` spent a tenth of its
//! instructions merging what the tier had just held into the store, and
//! splitting it again for the next requests: 409 M estimated cycles under
//! cachegrind before, 353 M after.) A request the store cannot serve takes
//! the smallest chunk at the head of a tier list that fits it, merged into
//! the store first, before the tier is emptied and a new span taken. The
//! tier is emptied whenever the cache is switched off and at thread exit.
//! Its chunks are flagged as cached chunks are, so a second free of one
//! is reported the same way, and a free into it checks the boundary tags as a
//! free into the store does.
//!
//! The **shelf** does for pool blocks what the cache does for chunks: a pool
//! block a thread frees (up to a run of 264 KiB, plain: 16-aligned, no guard
//! page) stays in that thread's arena, up to 8 blocks and 1 MiB
//! (`SHELF_SLOTS`, `SHELF_BYTES`, `SHELF_BLOCK_MAX`), and the thread's next
//! pool block of the same run length or up to a quarter more is that one,
//! taken without the pool lock. A request the shelf cannot serve (a miss, a
//! pool block's growth by `realloc`) gives the whole shelf back to the pool
//! in the lock acquisition that serves it, so shelved runs merge with their
//! neighbours and serve other sizes instead of making the pool map more; so
//! do the thread's exit, its arena's need for a new span and its call to
//! `malloc_trim`. A block
//! `realloc` moved out of goes straight back to the pool: the program now
//! wants a bigger one. On `churn-medium` (1 KiB to 256 KiB) this halved the
//! pool lock's acquisitions by 60% (0.25 per operation before, 0.10 after). A
//! shelved block's tag carries a flag, so its double free (or `realloc`, or
//! `malloc_usable_size`) is reported as a double free; the statistics count
//! it as cached; the heap map draws it as a pool block.
//!
//! # One `malloc`
//!
//! `malloc(40)`: the chunk size is 48 (40 + 8 of header, rounded to 16). The
//! thread's arena pointer is one initial-exec TLS load; the cache bin for 48 is
//! popped: its link is decoded (safe-linking) and checked, the chunk's `CACHED`
//! flag flipped, the requested bytes counted, and the next chunk of the bin
//! prefetched (the chunks of a bin are in the order they were freed, often not
//! the order of their addresses: the next pop reads that chunk's link). That is
//! the whole fast path (18 instructions and the return). Requests of 8 bytes or less use a class of
//! their own that takes the freed 32-byte chunks in one move when it runs dry,
//! so no minimum is computed. If the bin is empty, the slow path first takes the
//! frees other threads left on the arena's remote lists, then carves a batch of
//! chunks from the front of a free chunk found through the size bins (a new span
//! from the pool if none fits), hands out one and caches the rest. Requests from
//! 1 KiB to 128 KiB are rounded up to a medium class (eight per power of
//! two) and taken from the arena's medium tier, a list per class, at the top
//! of the slow path, or, in a thread's own arena, carved from its store
//! right there (the general path, for a thread's first allocation, an
//! exited thread or secure mode, carves the same way); from 128 KiB to 32 MiB
//! they are *pool blocks* (page runs from the pool, under its lock); from 32 MiB
//! they get a mapping of their own.
//!
//! As with glibc's mmap threshold, which starts low and rises at the first
//! frees, a program's first big blocks get mappings of their own until it frees
//! one; from then on they come from the pool, where freed memory is reused warm.
//! A use of one of those first blocks after its free faults, and a second free
//! is reported: a freed mapping leaves a read-only, zeroed page holding its tag.
//! (Rising one size at a time, as glibc does, made the `large` workload three
//! times slower.)
//!
//! `realloc` of a pool block resizes it where it lies when it can: it grows
//! into the free run that starts where it ends (the pool hands over that
//! run's front, under its lock), and a shrink to under half gives the tail
//! pages back. A `Vec` doubling through these sizes was copied at every step
//! before, each copy faulting in a new run while the old one went free
//! beside it: a C program doubling a buffer from 64 KiB to 16 MiB, 300
//! times, took 2.13 s, and takes 0.023 s (glibc, which `mremap`s its mapped
//! chunks, 0.022 s).
//!
//! `realloc` of a cached-class chunk reads its header with `free`'s mask (see
//! below): a chunk of the caller's arena that fits the request stays, one whose
//! next neighbour is free grows into it, and one that must move goes through
//! `malloc` and `free`'s fast paths; any other pointer is classified first, as
//! `free`'s slow path does.
//!
//! # One `free`, local
//!
//! The header in front of the pointer, decoded with the calling thread's arena
//! key, is tested against one mask: it passes only for an in-use chunk of *this*
//! arena smaller than 2 KiB (see [Catching misuse](#catching-misuse)), and the
//! decoded value is then the chunk size, which is also the cache bin's offset. If
//! the bin has room, the chunk is pushed (link encoded, `CACHED` set, counted):
//! 18 instructions and the return. When the bin is full and may not grow, its
//! newest chunks (half of it, at most 256: the ones freed since it last
//! overflowed, still in the CPU's caches) are set aside loose (see
//! [The cache](#the-cache)): chunks that lie end to end are joined into one
//! first (their boundary tags checked), and a sweep later checks the tags of
//! the others and merges them
//! with their free neighbours and puts the result on the sorted list (bitmap)
//! and in its size bin. A free that reaches the store directly (a block over
//! 1 KiB that the medium tier does not take, or any block in secure mode) is
//! merged at once. A block over 1 KiB that the medium tier takes as it is (room
//! left; a free neighbour is checked, not merged) goes there right after the
//! pointer is classified. A span whose chunks are all free again goes back to the
//! pool (each arena keeps one empty span as a spare).
//!
//! # One `free`, cross-thread
//!
//! If another arena owns the chunk, it is pushed onto the **remote list** of
//! the chunk's span (a cache line of the span header) with one
//! compare-and-swap; the push that finds that list empty also puts the span on
//! its arena's stack of spans with pending frees, with a second one. The owner
//! takes the whole stack with one atomic swap the next time its cache runs dry,
//! then each span's list with another, and frees them a span at a time, only
//! until the class it needs has a chunk (or, for the store, until a free chunk
//! fits); the other spans wait for the next refill that needs them, or for the
//! thread's exit. A
//! program that frees millions of another thread's blocks in random order
//! costs the owner cache misses within 256 KiB at a time instead of a page
//! walk per block (`sort_dedup`'s `uppercase` phase, where the rayon workers
//! take back the 3 million Strings that `dedup` freed on the main thread:
//! 1.49-1.53 s with one list per arena, 0.52-0.58 s with one per span drained
//! whole, 0.18-0.21 s drained as needed; mimalloc 0.08-0.10 s, which walks a
//! page's list only when it allocates from the page). The freeing thread never
//! touches the owner's free list, and the owner never waits: its fast path does
//! not look at the remote list at all. We chose this over hand-off through the
//! pool, which would put every cross-thread free under the one pool lock, on the
//! measurements of the lock-free list alone: in `prodcons` at 2 threads, where
//! every free is cross-thread, arenapool takes 0.34 of glibc's time and 1.09 of
//! mimalloc's (a run before the one in
//! [performance](crate::performance#results), which has 0.38 and 1.24). The pool
//! hand-off variant was not built and measured; batching remote frees per owner
//! is a candidate for later. The list and the parking hand-off below live in
//! `src/remote.rs` and are model checked with loom under every interleaving of
//! small models (`tests/loom.rs`, see [testing](crate::testing#loom)).
//!
//! When the owner drains a list, a small chunk whose cache class has room goes
//! straight onto the class with the `CACHED` flag its pusher set; the others
//! have the flag cleared and go through the owner's own `free`. A thread that
//! frees without ever allocating (a queue's consumer) has no arena, and counts
//! its frees for the statistics in a **tally** of its own, claimed from a
//! table of 64 at its first free and given back by the exit key's destructor
//! (the key holds the tally while the thread has no arena); past the table, or
//! past its exit cleanup, it counts in a shared tally with atomic additions.
//! (Every such thread used to count in that shared one: three atomic additions
//! per free to one cache line, which halved the consumers' throughput in
//! mimalloc-bench's `xmalloc-test`; see
//! [performance](crate::performance#performance-log).)
//!
//! # Thread exit and parked arenas
//!
//! A `pthread` key made at start-up has a destructor that takes the arena's
//! remote frees and **parks** the arena in the pool. Its cache stays warm:
//! the next thread to adopt it pops its first blocks instead of carving
//! them, and the exiting thread's cache is not sent through the store a
//! chunk at a time (under cachegrind, `thread-churn` at one thread: 1,106M
//! estimated cycles before, 538M after; mimalloc 799M). A dense arena's
//! cache is cut back to the base limits. A sparse arena's (live data fills
//! less than an eighth of its spans, and it has eight or more), whose cached
//! chunks may keep spans from going back to the pool, is kept whole, and its
//! parked pass, a purge delay after the exit, empties it into the store and
//! gives the empty spans back, unless a thread adopted the arena first.
//! (Emptied at the exit, as it was until this round, it cost `mstress`,
//! whose threads each free most of what they made and exit, two thirds of
//! the allocator's instructions: the flush, then the same chunks carved
//! again by the next thread.) An arena whose cache is off when its thread
//! exits is emptied at once. When the pool cannot map a new
//! region (out of memory or address space), it first empties every parked
//! arena's cache the same way and tries its free runs again. Spans with live
//! blocks stay with the parked arena: frees of those blocks by other threads
//! still push to their spans' remote lists, and when a freeing thread sees the
//! arena parked it drains them itself, under the pool lock (the park and the
//! push are ordered so that no free is missed). The next new thread adopts a
//! parked arena, blocks and all; no memory is orphaned, and 10,000 short-lived
//! threads reuse a handful of arenas.
//!
//! # Memory goes back (purging)
//!
//! The pool keeps its free runs sorted by address and merges neighbours on
//! return. A new span or pool block comes from the smallest resident (dirty)
//! run that fits, else from the smallest fresh or purged one (best fit):
//! holes are filled by what suits them and big runs stay whole. (First fit in
//! address order, as it was, peaked at a third more memory in `large`, two
//! blocks of 64 KiB to 32 MiB live, replaced at random.) Its retain bound is twice the largest pool block freed so far for
//! each live thread (at most 64 MiB each), or the bytes that live pool
//! blocks hold if that is more, never under 32 MiB nor over 256 MiB; past it,
//! the pool unmaps its highest runs until half the bound is left.
//!
//! Inside the bound, and inside arena spans, free pages go back to the OS without
//! unmapping (`madvise(MADV_DONTNEED)`): a coalesced free chunk knows exactly
//! which whole pages it covers, and releases them while its header, links and
//! boundary tags (outside those pages) stay on the sorted list; each free chunk
//! records how many of its pages are released, through merges and splits. A
//! purge pass runs once 1 MiB has been freed and `ARENAPOOL_PURGE_DELAY` (10 ms)
//! has passed, at the next allocator operation, and releases what the pass
//! before it saw unchanged: memory goes back one to two delays after it was last
//! freed, and memory reused sooner never does. In the pool, the smallest dirty
//! free runs, up to twice the largest pool block freed so far (at most
//! 64 MiB) or the bytes in live pool blocks, are left resident (of runs of
//! one size class, eight to a power of two, the lowest first): best fit
//! hands them out first, so a program that keeps replacing big buffers
//! reuses warm pages instead of faulting released ones in again
//! (`big-replace`: 380k page faults before, 309k after, glibc 255k; peak RSS
//! +3%). The share of live pool blocks covers the holes that big blocks of
//! mixed sizes leave between the live ones, which glibc's heap keeps too: at
//! `big-replace`'s scale 3 (20 live blocks of 5 to 25 MiB, 450 replaced) the
//! pool unmapped 2.9 GiB and took 763k page faults, 2.8 s against glibc's
//! 1.6-2.0 s; with half the live bytes as the share, 293k faults and 1.5 s
//! (peak RSS 463 -> 526 MB, glibc 556 MB). mimalloc-bench's `malloc-large`
//! (the same pattern, 2,000 replacements) still unmapped 7.0 GiB with that
//! share and took 1.89 M faults and 4.1-4.3 s (glibc 1.5-1.8 s); with the live
//! bytes themselves, 0.38 M faults and 1.4-1.6 s (peak RSS 541 -> 591 MB,
//! glibc 534 MB, mimalloc 602 MB).
//!
//! The delay adapts, per arena: a free chunk carved again records how many of
//! its released pages come back into use, and when those add up to half or
//! more of what the passes released, the memory was still wanted (released
//! only to be faulted in again), so the arena's delay doubles, up to 8 times
//! `ARENAPOOL_PURGE_DELAY` (80 ms by default); when they add up to an eighth
//! or less, it halves back. Both sums run over the recent passes, each
//! pass's share a quarter smaller at each pass after it: reuse often shows
//! only after a pass that released nothing, and compared with the one pass
//! before it was lost (`footprint`: 1.0-1.2 M page faults before, 0.54-0.76
//! M after, at scale 3). An exiting thread's arena is not
//! purged at its exit but a delay after it: a thread started meanwhile adopts
//! the arena with its pages resident (a program that starts a pool of threads
//! per task faulted all its memory in again each time: `footprint`, 590k page
//! faults before, 190k after). Nobody owns a parked arena to run its pass, so
//! the threads that come by do: on their way in and out of the pool, at
//! thread exit, after a free into a parked arena and on `malloc`'s slow path,
//! a thread finding a parked arena's
//! pass due takes the arena off the parked list (as an adopting thread
//! would), purges it with the pool lock released, and parks it again
//! (`pool::purge_parked`). The system calls run outside the pool lock: runs
//! being unmapped or purged leave the free-run table under the lock and come
//! back (clean) after. One hold leaves at most 32 of each for after; a trim
//! that needs more goes on once they are done, relocking, and a purge pass
//! leaves the rest to the next pass. A parked arena draining frees under the
//! lock does not run its own pass then: the pass is put off a delay (as one
//! run then would have put off the next), and if it falls due again first,
//! `pool::purge_parked` runs it with the lock released. New regions are
//! mapped with the lock released, and with them the registry's leaves for
//! them; so are the free-run table, at the pool's first use, and the
//! metadata of new arenas, 16 at a time. `os` counts the memory system
//! calls a thread makes while it holds the pool lock
//! (`Stats::lock_held_calls`, "system calls, lock held" in the table): 0 on
//! the 13 suite workloads counted at 2 threads and the 5 at 8, and
//! `tests/pool_lock.rs` drives each of those paths in a process of its own
//! and checks it. What still calls under the lock: secure mode's guard pages
//! on spans that a parked arena gives back (emptied by drained frees) or that
//! an allocation by a thread past its exit cleanup takes; that allocation's
//! arena metadata when no arena is parked; and a free run the full run table
//! (65,536 runs) cannot record.
//!
//! The lock has its cache lines to itself: `sync::Mutex` is aligned to 128
//! bytes (a line and the one the hardware prefetches with it), so no static
//! that other threads read shares the lines every taker writes, and the
//! record of the holder (`os`'s, written at each take and release) sits on
//! lines of its own. When `PARKED_PURGE_AT` and `EXIT_REPORT`, which
//! `malloc`'s slow path reads on every call, shared those lines, their two
//! loads were 29% of `malloc_slow`'s samples in `churn-medium` at 2 threads
//! (a line moved to the other core at every hand-over of the lock); the
//! change took that workload to 0.91-0.93 of its time there.
//!
//! On the suite's `footprint` workload (fresh rayon pools, 1% survivors kept
//! across 20 rounds) arenapool ends at about 3 times the live data, against 9
//! for glibc and 7 for mimalloc (see
//! [performance](crate::performance#memory-that-follows-the-live-set)). An arena
//! whose live data would fill less than an eighth of its spans (eight or more)
//! switches its cache off until they are a quarter full, so that a few cached
//! chunks cannot pin many otherwise empty spans. In `tests/rss.rs` a program that
//! allocates 675 MB and frees it all ends at 48 MB resident (its retain bound
//! there is 64 MiB); the same program on glibc ends at 276 MB.
//!
//! # Start-up
//!
//! The first `malloc` of a process (inside the dynamic loader or libc's own
//! start-up, when preloaded) or of a thread finds the empty arena in its TLS
//! slot, takes the slow path, maps the pool's table, creates the exit key
//! (`pthread_key_create` does not allocate), installs a new or parked arena, and
//! only then calls `pthread_setspecific` and `pthread_atfork`, which may
//! allocate: by then the thread has its arena, so those nested calls are
//! ordinary allocations and nothing recurses. No lock is held across them.
//!
//! # Fork
//!
//! Handlers registered once take the pool lock across `fork`; in the child, the
//! arenas of threads that did not survive are marked lost (their memory is left
//! alone, since their owners may have been mid-update).
//!
//! # Layers
//!
//! The crate reads bottom-up, each module using only those before it in the
//! numbered list of the crate root's documentation ([`crate`]): `os` (the only
//! `mmap`/`munmap`/`madvise`/`mprotect`/`mremap` caller, and `write(2)` + abort)
//! → `sync` → `size` → `config` → `remote` → `purge` → `span` → `arena` →
//! `registry` → `pool` → `thread` → `large` → `block` (what a pointer is,
//! allocation in the thread's arena, release to an owner) → `secure` → `stats`
//! → `heapmap` → `heap` (C semantics, the entry points, the report at exit) →
//! `global`, `capi`, `cxx`. `tests/layers.rs` reads that list and every
//! `crate::` path in `src/`, and fails on one that runs up the order. The core uses
//! `core` only: no `Vec`, `Box`, `String` or formatting (clippy's
//! `disallowed_types` and `disallowed_macros` enforce it), and no panics: fatal
//! errors print one line with `write(2)` and abort.
//!
//! # Size boundaries
//!
//! | constant | value | what it separates | environment |
//! |---|---|---|---|
//! | `CACHE_MAX_CHUNK` | 1 KiB | cached chunk sizes (one bin per 16 bytes) / store-only chunks | |
//! | `CACHE_BYTES` | 64 KiB | how much each cache class may hold at first (32 to 2048 chunks) | |
//! | `MEDIUM_BYTES`, `MEDIUM_SHARE` | 256 KiB, 4 | how much the medium tier (chunks over 1 KiB) holds: this, or a quarter of the arena's chunks in use if more | |
//! | `CACHE_GROW`, `CACHE_GROWN_MAX` | 128, 16 MiB | how far a class that overflows may grow (times its first limit), and the growth of all classes together | |
//! | `ARENA_MAX_CHUNK` | 128 KiB | arena chunks / pool blocks | `ARENAPOOL_ARENA_MAX` (1K..128K) |
//! | `SPAN` | 256 KiB | arena span size and alignment | |
//! | `SHELF_SLOTS`, `SHELF_BYTES`, `SHELF_BLOCK_MAX` | 8, 1 MiB, 264 KiB | how many freed pool blocks, how many bytes of them, and how long a run a thread's shelf keeps | |
//! | `HUGE_MIN` | 32 MiB | pool blocks / huge blocks with a mapping of their own | `ARENAPOOL_HUGE_MIN` (1M..1G) |
//! | `RETAIN` | 32 MiB | free pool memory always kept for reuse; the bound grows to twice the largest pool block freed per live thread (at most 64 MiB each), or the bytes in live pool blocks (`WARM_SHARE`), 256 MiB in all | `ARENAPOOL_RETAIN` |
//! | `REGION` | 4 MiB | how much the pool maps at a time | |
//!
//! ## How they were chosen
//!
//! - **Arena/pool boundary (128 KiB).** The `churn-medium` workload (1 KiB..256
//!   KiB, log-uniform) run under callgrind at one thread, whole process, for each
//!   value of `ARENAPOOL_ARENA_MAX` (same binary):
//!
//!   ```sh
//!   ARENAPOOL_ARENA_MAX=$m ARENAPOOL_ALLOC=arenapool valgrind --tool=callgrind target/release/deps/suite-* --worker churn-medium 1 1
//!   ```
//!
//!   | `ARENAPOOL_ARENA_MAX` | 16K | 32K | 64K | 128K | glibc |
//!   |---|---:|---:|---:|---:|---:|
//!   | instructions (millions) | 288.8 | 264.5 | 246.0 | 238.8 | 284.0 |
//!
//!   At one thread the gain flattens past 64 KiB (3%), and 64 KiB was the first
//!   default. At two threads the pool lock decided it: the same workload with
//!   `ARENAPOOL_SUITE_POOL=1` (the suite worker then prints the pool's lock
//!   counters) took the lock 0.50 times per operation with 64 KiB, 21% of them
//!   contended, and 0.25 times with 128 KiB, 9% contended (400k vs 203k
//!   acquisitions, 84k vs 18k waits). In three suite runs of 5 at 2 threads, time
//!   over glibc's was 0.92, 1.67, 0.89 with 64 KiB and 1.06, 0.94, 0.80 with
//!   128 KiB. `vec-push` (every size by doubling) counted the same 661 M
//!   instructions at every value (glibc: 894 M).
//! - **Cache size (64 KiB a class).** Raised from 16 KiB after the rayon workload
//!   (about 1,100 small blocks per task) ran 2.7 times mimalloc's time with every
//!   block going through the store; at 64 KiB it ran 0.92 times (same run, 3 runs
//!   per cell, 2 threads).
//! - **Huge threshold (32 MiB)** is glibc's largest adaptive mmap threshold, and
//!   **the retain bound** mirrors glibc's per-arena trim threshold (twice the mmap
//!   threshold, up to 64 MiB): with a fixed 32 MiB bound the `large` workload
//!   re-faulted fresh pages and ran 1.6 to 4 times glibc's time; with the adaptive
//!   bound it runs 0.38 to 0.40 of glibc's time at 2 threads (two full runs).
//!   These two were not swept.
//!
//! # Tunables
//!
//! Read once, at the first allocation, from the environment (a value that does
//! not parse or is out of range is ignored). Sizes take `K`, `M` or `G`.
//!
//! | variable | default | range | what it sets |
//! |---|---|---|---|
//! | `ARENAPOOL_ARENA_MAX` | `128K` | `1K`..`128K` | largest request carved from a thread's arena; larger ones are pool blocks |
//! | `ARENAPOOL_HUGE_MIN` | `32M` | `1M`..`1G` | smallest request given a mapping of its own (unmapped on free) |
//! | `ARENAPOOL_RETAIN` | `32M` | `0`..`1G` | free pool memory kept mapped for reuse (the bound grows with use, see [purging](#memory-goes-back-purging)); past it, free pool memory is unmapped at once |
//! | `ARENAPOOL_PURGE` | `1` | `0`, `1` | give free pages back to the OS (`madvise`) inside arena spans and in the pool's free runs; `0` keeps them resident (faster for programs that churn big buffers, more memory) |
//! | `ARENAPOOL_PURGE_DELAY` | `10` | `0`..`3600000` (ms) | free memory is given back one to two delays after it last changed (memory reused sooner is never released); an arena whose released pages keep coming back into use waits up to 8 times as long; an exited thread's arena is purged a delay after its exit, at the next allocator operation |
//! | `ARENAPOOL_SECURE` | `0` (`1` when built with feature `secure`) | `0`, `1` | secure mode (see [Secure mode](#secure-mode)) |
//! | `ARENAPOOL_SHOW_STATS` | `0` | `0`, `1` | print the statistics table at exit (Rust and preloaded programs alike) |
//! | `ARENAPOOL_VERBOSE` | `0` | `0`, `1` | print the configuration at start-up, and each failed `mmap` (size, errno) |
//! | `ARENAPOOL_HEAP_MAP` | unset | a path | write an SVG heap map there at exit |
//!
//! The cache size (64 KiB per size class) and the span size (256 KiB) are
//! compile-time constants (`src/size.rs`).
//!
//! # C interface
//!
//! Built with `cargo build --release --features preload --lib`, the shared
//! library `libarenapool.so` exports these functions (the preload library needs
//! `panic = "abort"`, which the release profile sets; never run `cargo` or
//! `rustc` themselves under `LD_PRELOAD`). The Rust build (the rlib) does *not*
//! export them: linking arenapool into a Rust program never replaces the C
//! library's `malloc`.
//!
//! | function | behaviour |
//! |---|---|
//! | `malloc(n)` | 16-byte aligned; `malloc(0)` returns a unique pointer; too large: `NULL`, `errno = ENOMEM` |
//! | `free(p)`, `cfree(p)`, `free_sized(p, n)`, `free_aligned_sized(p, a, n)` | `free(NULL)` does nothing; never changes `errno`; a block may be freed by any thread |
//! | `calloc(n, size)` | zeroed; `n * size` overflowing: `NULL`, `ENOMEM`; fresh pool and huge blocks are not cleared again |
//! | `realloc(p, n)` | `realloc(NULL, n)` is `malloc(n)`; `realloc(p, 0)` frees `p` and returns `NULL` (glibc's choice); grows and shrinks in place when it can (an arena chunk into its free neighbour; a pool block into the free run that starts where it ends, or by giving its tail pages back; `mremap` for huge blocks); on failure returns `NULL` and `p` stays valid |
//! | `reallocarray(p, n, size)` | `realloc` with an overflow check (`ENOMEM`) |
//! | `posix_memalign(&p, a, n)` | `EINVAL` unless `a` is a power of two multiple of `sizeof(void*)`; `ENOMEM` when out of memory; `p` untouched on error |
//! | `aligned_alloc(a, n)` | `EINVAL` for an alignment that is not a power of two; any power of two works (tested up to 64 MiB) |
//! | `memalign(a, n)` | like glibc: an alignment that is not a power of two is rounded up to one |
//! | `valloc(n)`, `pvalloc(n)` | page-aligned; `pvalloc` rounds the size up to whole pages |
//! | `malloc_usable_size(p)` | the real usable size (at least the request; writing all of it is safe); 0 for `NULL` |
//! | `malloc_trim(pad)` | returns the pool's free memory to the OS; 1 if any was released |
//! | `mallopt(param, value)` | accepts nothing and returns 0, as glibc does for an unknown parameter |
//! | `malloc_stats()` | prints arenapool's statistics table and cross-thread free matrix to stderr (see [Statistics](#statistics)) |
//! | `mallinfo2()`, `mallinfo()` | `arena` = pool bytes mapped, `hblkhd` = huge bytes, `uordblks` = bytes in use, `fordblks` = mapped and not in use, `fsmblks` = bytes in thread caches, `usmblks` = peak mapped, `ordblks` = pool free runs, `keepcost` = pool free bytes; `mallinfo` saturates at `INT_MAX` |
//! | `__libc_malloc`, `__libc_free`, `__libc_calloc`, `__libc_realloc`, `__libc_memalign`, `__posix_memalign` | the same functions under the glibc-internal names some programs call |
//! | `operator new`, `new[]`, `delete`, `delete[]` in every form (sized, aligned, nothrow) | straight to arenapool, no call through libstdc++; a throwing `new` that finds no memory hands over to libstdc++'s, which runs the new-handler and throws `std::bad_alloc`; secure mode reports `delete` of a `new[]` block, `delete[]` of a `new` block and a sized delete with another size |
//!
//! # Catching misuse
//!
//! A misused heap is reported, not survived: one line on stderr naming the error
//! and the address, written with `write(2)`, then `abort()`, before anything is
//! corrupted further.
//!
//! ```text
//! arenapool: free of a block already freed (double free): 0x7f76f0c00850
//! ```
//!
//! ## Always on
//!
//! | misuse | message | how it is caught |
//! |---|---|---|
//! | double free of a block in the thread cache, on a remote-free list, in the store, or a pool block; also when another thread freed it first | `free of a block already freed (double free): 0x...` | a `CACHED` header flag, flipped when a chunk enters or leaves a cache and set when it is pushed onto a remote list (two frees of one block at the same instant, a data race in the program, can both pass); the `FREE` flag of store chunks; for pool blocks, a lookup in the pool's free runs |
//! | `free`/`realloc`/`malloc_usable_size` of a pointer arenapool never returned (stack, globals, another mapping) | `free of a pointer arenapool never returned: 0x...` | the registry (below) |
//! | a misaligned pointer | `free of a misaligned pointer 0x...` | alignment test |
//! | an interior pointer | `free of a pointer inside a block: 0x...` (or `inside a pool block or free pool memory`) | header validation, then a walk of the span |
//! | a block header overwritten (say, by the block before it overflowing, or a write just before the block) | `corrupted block header at 0x...` | headers are stored xor a key; a decoded header must be plausible and agree with both neighbours' boundary tags (the previous chunk's is checked by the owner: in its own frees, for every chunk entering its store, and for every chunk a sweep passes, loose ones included) |
//! | a write past the end of a block, then a free of it off the cache's fast path (a medium block, a full class, another thread's free) | `free of a block written past its end (heap overflow): 0x...` | the next chunk's header must have its low bits clear, which every decoded header has: the first byte past the block lands there, and with the key xored in a byte written keeps them clear 1 time in 16 (the fast path into a cache class with room reads only the block's own header, as glibc's tcache does) |
//! | a use of a freed block that had a mapping of its own (a program's big blocks until its first free of one, see [One `malloc`](#one-malloc)), or of a huge block's old pointer after `realloc` moved it | `SIGSEGV`; reads see zeros; a second free: `free of a block already freed (double free): 0x...` | only a read-only, zeroed page with the block's tag, marked freed, stays mapped (the last 64 such); after a move, such a page is mapped where the old tag was, if nothing else has been mapped there |
//! | a pointer at a page start whose page before is not mapped (the program's own mapping, unmapped or wild memory, the start of a big block) | `free of a pointer arenapool never returned: 0x...` (or `inside a block`, `inside a pool block or free pool memory`) | `free`'s test for null is a test for a pointer within 16 bytes of a page start, whose cold path checks that the bytes before it can be read (an arena span is mapped whole; for anything else, `mincore`) before anything reads them |
//! | a free-list link overwritten after free (cache, remote list, size bins) | `corrupted free list at 0x...` | links are stored xor a key (safe-linking); a decoded link must be a chunk address (16-aligned payloads, chunks 8 mod 16) |
//!
//! How it costs nothing on the fast path: every chunk header is stored xor the
//! owning arena's key, the process's random secret xor the arena's id spread over
//! the header bits that are zero in any in-use chunk. `free` decodes the header
//! with its own arena's key and tests one mask: only an in-use, uncached chunk of
//! *its own* arena of a cacheable size passes. A chunk of another arena keeps the
//! xor of the two ids in the masked bits, a cached or free chunk has a flag
//! there, and a pool block's tag carries a mark no key clears, so the mask is
//! also the ownership test that used to need a load of the span header.
//! Everything else goes to the slow path, which looks the pointer up in the
//! **registry** (one byte per 256 KiB slot of the address space: arena span, pool
//! memory, huge block start; two lock-free loads) before it reads anything
//! through it, then validates the header. The fast paths are 59 instructions per
//! malloc+free pair with all of this, the statistics counters and the prefetch
//! (57 before the mask also covered the top of `prev_size`, where an underflow
//! of one byte lands; 58 after the layering of issue 13, 59 with the prefetch
//! of the next chunk); see
//! [performance](crate::performance#fast-path).
//!
//! How many published misuse probes each mode catches, and what neither catches,
//! is in [testing](crate::testing#misuse-probes).
//!
//! Limits: the checks read the 16 bytes before the pointer, so a pointer into
//! an unmapped page (a wild pointer, or a huge block already unmapped and its
//! tombstone gone) faults there, as in glibc; only a pointer at a page start,
//! where those bytes lie on another page, is checked first. A page before it
//! that is mapped but not readable (`PROT_NONE`) still faults.
//! A forged header passes the fast-path mask with probability 2^-25 (the key is
//! random per process). A block freed twice with a reuse in between is not a
//! double free to any allocator. Arena ids repeat after 65,535 arenas; arenas
//! sharing an id may cache each other's chunks: from then on a flush, and a free
//! that finds its class full, check the span's owner and send a foreign chunk
//! back to it (`tests/ids_repeat.rs`), so this costs a check, not safety.
//!
//! ## Secure mode
//!
//! `ARENAPOOL_SECURE=1` (any build), or the cargo feature `secure` (on by
//! default, `ARENAPOOL_SECURE=0` turns it off):
//!
//! | protection | what it catches | message / effect |
//! |---|---|---|
//! | thread caches off | every free reaches the checks below | - |
//! | a canary after each arena block (keyed bytes from the requested size to the chunk's end, and the requested size in its last 4 bytes), checked on free | overflows past the requested size, even by one byte | `free: heap overflow past the end of block 0x...` |
//! | freed arena blocks filled with zeros (up to their first 4 KiB) and held in a per-thread quarantine (256 blocks, 4 MiB); a random one leaves when it is full, after its fill is checked, and those that never leave are checked at process exit | writes after free; reads after free see zeros; delayed, randomised reuse | `write to a freed block detected in 0x...` |
//! | every block zeroed when it is made | no new block shows old data | - |
//! | freeing a block checks the block before it (its canary); at exit, every block of the exiting thread still in use is checked | underflows past a header; overflows of blocks never freed (reported at exit) | `free: heap overflow past the end of block 0x...`, `corrupted block header at 0x...` |
//! | big blocks end at their guard page; the alignment slack after them and their run's front are canaries, checked on free; a block of whole pages starts on a page boundary with the pages before it read-only | overflows of big blocks (the first byte past faults), underflows (a write just before a whole-page block faults) | `SIGSEGV`; `free: heap overflow past the end of block`, `free: heap underflow before the start of block` |
//! | a guard page near the end of every arena span | overflows off the end of spans | `SIGSEGV` at the faulting access |
//! | C++ `delete`/`delete[]` checked against how the block was made; sized delete against its size | mismatched `new[]`/`delete`, `new`/`delete[]`, sized delete through a base class without a virtual destructor | `delete of a block not made by new:`, `delete[] of a block not made by new[]:`, `sized delete with a size the block was not made with:` |
//! | `malloc(0)` returns the start of an inaccessible page (1024 such blocks, then ordinary ones) | any access through a zero-size block | `SIGSEGV` |
//!
//! `malloc_usable_size` returns the requested size in secure mode (so code that
//! writes all of it does not trip the canary), and `realloc` always moves.
//!
//! Every class has a test (`tests/misuse.rs`) that commits the misuse in a child
//! process and asserts the exact message and the abort (or the `SIGSEGV`), in
//! both modes; the C programs (conformance, boundaries, stress, fork) also run in
//! secure mode (`tests/preload.rs`). What the checks and secure mode cost in time
//! and memory is in [performance](crate::performance#what-the-checks-cost).
//!
//! # Statistics
//!
//! [`stats()`](crate::stats()) returns a snapshot, a [`Stats`](crate::Stats):
//! bytes requested (total), in use, in thread caches (shelved pool blocks
//! among them, also apart), mapped (and peak), resident
//! (and peak, for the process), allocation and free counts, cross-thread frees,
//! arena spans, pool free bytes and runs, pool and huge block bytes, bytes
//! returned to the OS, arenas, and the pool lock's acquisitions, contended
//! acquisitions, total wait time and the memory system calls made while it
//! was held (0 but for the cases in [purging](#memory-goes-back-purging)).
//! The fast paths count into plain fields of
//! the thread's own arena (one `add` in `malloc`, one `inc` in `free`); slow
//! paths count the rest; the snapshot sums all arenas under the pool lock.
//! `ARENAPOOL_SHOW_STATS=1` prints it at exit, and `malloc_stats()` (or
//! [`print_stats()`](crate::print_stats)) on demand:
//!
//! ```text
//! $ ARENAPOOL_SHOW_STATS=1 ./target/release/examples/binary_trees --threads 2
//! ...
//! binary_trees: max depth 19, 2 threads, allocator arenapool, wall 1.806 s
//! arenapool statistics
//!   requested (total)                 2085 MiB
//!   in use                              20 KiB
//!   in thread caches                    62 KiB
//!   mapped                              18 MiB
//!   mapped, peak                        68 MiB
//!   resident (process)                  21 MiB
//!   resident, peak (process)            69 MiB
//!   pool free                           17 MiB
//!   pool blocks / huge blocks              0 B
//!   returned to the OS                  97 MiB
//!   allocations                      136664462
//!   frees                            136664434
//!   cross-thread frees                       3
//!   arena spans                              5
//!   pool free runs                           2
//!   arenas (ever made)                       3
//!   pool lock taken                       4843
//!   pool lock contended                      5
//!   pool lock wait (us)                    222
//!   active arenas                            3
//! cross-thread frees: row = freeing thread's arena, column = owning arena; count / bytes
//!    arena (tid)                1                2                3
//!      1 ( 16474)                .       1/ 1.0 KiB                .
//!       no arena       2/    64 B                .                .
//! ```
//!
//! 136 million allocations and the pool lock taken 4,843 times: rayon's workers
//! build and drop their trees locally, so the matrix is nearly empty (the "no
//! arena" row is a thread that freed without ever allocating).
//!
//! **The cross-thread free matrix** (`arenapool::cross_thread_frees()`, printed
//! with the table): row = the arena of the thread that freed (and the thread id
//! that owns it, or owned it last), column = the arena that allocated, counts
//! and bytes. In a program where four threads trade blocks through a shared slot
//! array, every row has three full cells and an empty diagonal; in a
//! producer/consumer program one column fills; in a rayon program like the one
//! above, nearly nothing crosses.
//!
//! # The heap map
//!
//! [`write_heap_map`](crate::write_heap_map) (`arenapool::write_heap_map(c"path.svg")`,
//! or `ARENAPOOL_HEAP_MAP=path.svg` for any program at exit) draws every 256 KiB
//! slot of arenapool's memory as a row, 1 pixel per 512 bytes: chunks in use in
//! their arena's colour, cached chunks paler, free chunks grey, pool blocks
//! orange, pool free runs white, huge blocks red.
//!
//! The map in `benches/results/heap-map-binary-trees.svg` is `binary_trees` (2
//! threads), drawn after its parallel trees while the long-lived tree is alive
//! (`BINARY_TREES_HEAP_MAP=map.svg`): the long-lived tree fills arena 2's spans
//! (green); the grey rows are spans where a few live or cached 32-byte chunks,
//! too small to see at 512 bytes a pixel, keep otherwise free spans from going
//! back to the pool: 16 MiB, the fragmentation the map is there to show.
//!
//! # Known limitations
//!
//! - **Misuse detection** (see [Catching misuse](#catching-misuse)) reads the 16
//!   bytes before the pointer first: freeing a pointer into an unmapped page
//!   faults there instead of printing a message (glibc does the same; a
//!   pointer at a page start, whose bytes before lie on the page before, is
//!   checked first), and so does a second free of a block that had its own
//!   mapping once its tombstone page is gone (after 64 more such frees).
//!   An overflow into the next block's header is seen when the block is
//!   freed off the cache's fast path, not on it (small blocks of a class
//!   with room). Detection of forged headers and of
//!   overwritten links is probabilistic (a random key; 2^-25 and 1/16 per event
//!   in the worst cases). Secure mode has no guard page *before* big blocks, and
//!   an arena span's guard sits 4 KiB before its end.
//! - **fork**: the pool lock is taken in a `pthread_atfork` prepare handler,
//!   which glibc runs before it takes its own stdio locks; a thread holding a
//!   stdio lock while allocating at the moment another thread forks could in
//!   principle deadlock (jemalloc has the same ordering). Not seen in the fork
//!   test.
//! - Memory of threads that did not survive a `fork` is not reclaimed in the
//!   child.
//! - **Giving memory back costs time on programs that churn whole thread
//!   pools over a big heap**: pages inside spans that survivors pin are
//!   released and faulted in again when later rounds carve them (`footprint`
//!   at the full preset: 1.46 times glibc's time at 0.76 of its peak memory in
//!   the last run, 1.26 to 1.83 times in the rounds before; at the short
//!   preset about 1.3 times, where the adaptive delay catches the reuse).
//!   `ARENAPOOL_PURGE=0` trades the memory back for the time.
//! - Outside x86-64 the thread's arena is found through `pthread_getspecific`
//!   (slower; not tested here), and threads without an arena all count in the
//!   shared tally.
//! - The release build contains no panic paths in arenapool's own functions
//!   (checked in the disassembly of the preload library); debug builds do have
//!   bounds checks. The preload library (release) is `no_std`, with a panic
//!   handler that aborts with `arenapool: internal error (a panic)`; every other
//!   build uses std's.
//!
//! The measured losses against other allocators (where arenapool is slower) are
//! listed in [performance](crate::performance#reading-the-results-honestly).
//!
//! # Where each package is used, and why
//!
//! | package | where | why |
//! |---|---|---|
//! | `libc` | `src/os.rs`, `src/sync.rs`, `src/thread.rs`, `src/config.rs`, `src/stats.rs`, `src/heapmap.rs`, `src/capi.rs`, `src/cxx.rs` | the system calls (`mmap`, `munmap`, `madvise`, `mremap`, `mprotect`, `futex`, `write`, `getrandom` for the key, `clock_gettime` for lock wait times and purge delays, `dlsym` for the next `operator new`, `getrusage` and `/proc/self/statm` for resident memory, `open`/`write` for the heap map), `pthread_key_create` for thread exit, `pthread_atfork`, `atexit` for the exit report, `errno` |
//! | `parking_lot` | benchmark suite (`larson` hands arrays of blocks between threads under a `parking_lot::Mutex`) | a fast user-space lock *outside* the allocator. Not on the allocator's paths: its first contended park in a thread allocates that thread's parking data and may grow its global hash table through the global allocator (us), while holding its own bucket locks. The page pool uses `sync::Mutex`, a futex lock that never allocates. |
//! | `thread_local` | `examples/word_freq.rs` (one `HashMap` per rayon worker, merged at the end) | per-object thread-local storage for *user* code. Not in the allocator: the crate allocates its storage through the global allocator; arenapool's own thread state is one const-initialised initial-exec TLS word with no destructor, cleaned up by a `pthread` key. |
//! | `rayon` | tests (`tests/threads.rs`), examples, the `rayon` and `footprint` workloads of the suite | the parallel programs arenapool is built to serve |
//! | `loom` | `src/remote.rs`, `tests/loom.rs`, only under `--cfg loom` | model checking of the cross-thread free protocol: loom's atomics replace the real ones and every interleaving of small models is explored |
//! | `proptest` (dev) | `tests/model.rs` | random programs of allocations checked against a model |
//! | `mimalloc`, `tikv-jemallocator` (dev) | benchmark suite, examples | the peers measured in the same run |
//! | `plotters` (dev, SVG backend only) | `benches/suite/charts.rs` | the suite's charts |
//! | `lexopt` (dev) | `benches/suite.rs` | the suite's options |
//! | `indicatif` (dev) | `benches/suite.rs` | the suite's progress bar on a terminal (a plain line per step otherwise) |
