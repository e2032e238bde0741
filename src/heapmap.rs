//! A picture of the heap, to make fragmentation visible: [`write_heap_map`]
//! writes an SVG file with one row per 256 KiB slot of address space that
//! arenapool holds (an arena span, pool memory, or the start of a huge block).
//!
//! How to read it:
//! - Rows go down in address order; within a row, addresses grow left to right,
//!   one pixel per 512 bytes (a row is 512 px: one `SPAN`). Where the next slot
//!   does not follow the one above it, a gap row carries the new address.
//! - Arena spans: chunks in use are drawn in the owning arena's colour (one hue
//!   per arena id, listed in the legend), chunks held in a thread cache (freed,
//!   not yet back in the store) in a paler tint of it, free chunks light grey
//!   where their pages are resident and pale blue where they were released to
//!   the OS (see `Arena::purge`),
//!   the span header and fence dark grey. A pixel covering several chunks is a
//!   blend of their colours weighted by bytes, so finely fragmented memory shows
//!   as a tint between the arena's colour and grey. Black: the part of a span
//!   that could not be walked (its owner was rewriting a header, or is still
//!   setting the span up).
//! - Pool memory: pool blocks in use orange, free runs white with a grey
//!   outline, pages the pool gave back to the OS blank.
//! - Huge blocks: the first slot of each mapping, red, labelled.
//!
//! The legend at the top lists the arenas' colours and the totals of what was
//! walked; "truncated" at the bottom means more than 4096 slots were held.
//!
//! Nothing here allocates: the file is written through a stack buffer with
//! `write(2)` while the pool lock is held, so no span changes hands or is
//! unmapped meanwhile. Owner threads keep changing their own spans, so every
//! walk is bounded and the picture is approximate where they do.

use crate::arena::Arena;
use crate::os::{self, FdOut, PAGE};
use crate::pool::PoolInner;
use crate::registry;
use crate::size::{MIN_CHUNK, SPAN, UNIT};
use crate::span::{self, Span, CACHED, FENCE, FIRST, FREE, LOOSE, SIZE_MASK};
use crate::stats::Bytes;
use core::ffi::CStr;
use core::fmt::{self, Write};
use core::ptr::{addr_of, read_volatile};
use core::sync::atomic::Ordering;

/// Bytes per pixel.
const PX_BYTES: usize = 512;
/// Pixels per row (one slot).
const ROW_W: usize = SPAN / PX_BYTES;
const ROW_H: usize = 6;
/// Rows are drawn this far apart (a 1 px white line between them).
const ROW_PITCH: usize = ROW_H + 1;
const GAP_H: usize = 12;
const MAX_ROWS: usize = 4096;
/// Left margin of the rows.
const X0: usize = 8;
const WIDTH: usize = X0 + ROW_W + 300;
const LINE_H: usize = 14;
/// Baseline of the first arena line of the legend.
const ARENA_Y0: usize = 92;
/// Arenas listed in the legend (the others are drawn, not listed).
const MAX_ARENAS: usize = 64;
const PAGES: usize = SPAN / PAGE;

const _: () = assert!(PAGES <= 64 && SPAN % PX_BYTES == 0 && PAGE % PX_BYTES == 0);

#[derive(Clone, Copy, PartialEq, Eq)]
struct Rgb(u8, u8, u8);

impl fmt::Display for Rgb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

const FREE_GREY: Rgb = Rgb(0xd6, 0xd6, 0xd6);
const RELEASED_BLUE: Rgb = Rgb(0xcf, 0xe8, 0xff);
const META_GREY: Rgb = Rgb(0x55, 0x55, 0x55);
const UNKNOWN_BLACK: Rgb = Rgb(0, 0, 0);
const POOL_ORANGE: Rgb = Rgb(0xff, 0x98, 0x00);
const POOL_FREE_WHITE: Rgb = Rgb(0xff, 0xff, 0xff);
const OUTLINE_GREY: Rgb = Rgb(0x99, 0x99, 0x99);
const HUGE_RED: Rgb = Rgb(0xe0, 0x10, 0x10);

/// `hsl(h, s%, l%)` as RGB, in integers.
fn hsl(h: u32, s: u32, l: u32) -> Rgb {
    let (h, s, l) = ((h % 360) as i32, s.min(100) as i32, l.min(100) as i32);
    let c = (100 - (2 * l - 100).abs()) * s * 255 / 10_000;
    let x = c * (60 - (h % 120 - 60).abs()) / 60;
    let m = l * 255 / 100 - c / 2;
    let (r, g, b) = match h / 60 {
        0 => (c, x, 0),
        1 => (x, c, 0),
        2 => (0, c, x),
        3 => (0, x, c),
        4 => (x, 0, c),
        _ => (c, 0, x),
    };
    let ch = |v: i32| (v + m).clamp(0, 255) as u8;
    Rgb(ch(r), ch(g), ch(b))
}

/// An arena's colours: chunks in use, and the paler tint for cached chunks.
#[derive(Clone, Copy)]
struct Palette {
    used: Rgb,
    cached: Rgb,
}

/// Hues from 60 to 330 degrees, so that no arena looks like a pool block
/// (orange) or a huge block (red).
fn palette(id: u32) -> Palette {
    let hue = 60 + id.wrapping_mul(47) % 270;
    Palette {
        used: hsl(hue, 70, 40),
        cached: hsl(hue, 70, 78),
    }
}

/// What a byte of a slot is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cat {
    Used,
    Cached,
    Free,
    Released,
    Meta,
    Unknown,
    PoolBlock,
    PoolFree,
    Unmapped,
    Huge,
}
const NCAT: usize = 10;
const ALL_CATS: [Cat; NCAT] = [
    Cat::Used,
    Cat::Cached,
    Cat::Free,
    Cat::Released,
    Cat::Meta,
    Cat::Unknown,
    Cat::PoolBlock,
    Cat::PoolFree,
    Cat::Unmapped,
    Cat::Huge,
];
const SPAN_CATS: [Cat; 6] = [
    Cat::Used,
    Cat::Cached,
    Cat::Free,
    Cat::Released,
    Cat::Meta,
    Cat::Unknown,
];

/// How a run of pixels is drawn.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Paint {
    Blank,
    Fill(Rgb),
    Outlined(Rgb),
}

#[derive(Clone, Copy)]
struct ArenaInfo {
    ptr: *const Arena,
    id: u32,
    tid: u32,
    key: u64,
    spans: usize,
    used: usize,
    cached: usize,
    free: usize,
    released: usize,
}

const NO_ARENA: ArenaInfo = ArenaInfo {
    ptr: core::ptr::null(),
    id: 0,
    tid: 0,
    key: 0,
    spans: 0,
    used: 0,
    cached: 0,
    free: 0,
    released: 0,
};

/// What a walk saw: the totals, and the arenas met (first `MAX_ARENAS`).
#[derive(Clone, Copy)]
struct Seen {
    bytes: [usize; NCAT],
    rows: usize,
    arena_spans: usize,
    unreadable_spans: usize,
    pool_slots: usize,
    huge: usize,
    /// Slots past the row cap, not drawn.
    skipped: usize,
    arenas: [ArenaInfo; MAX_ARENAS],
    narenas: usize,
    /// Spans of arenas not in `arenas` (the table was full).
    other_spans: usize,
}

impl Seen {
    fn bytes(&self, c: Cat) -> usize {
        self.bytes.get(c as usize).copied().unwrap_or(0)
    }
}

/// Walks the registry in address order, painting one row per slot. With `draw`
/// off it only counts (the survey that sizes the picture and fills the legend).
struct Painter<'a> {
    pool: &'a PoolInner,
    out: &'a mut FdOut,
    draw: bool,
    y: usize,
    y_limit: usize,
    next_addr: usize,
    full: bool,
    seen: Seen,
    // The row being painted.
    row_y: usize,
    pos: usize,
    acc: [u32; NCAT],
    run: Paint,
    run_start: usize,
    pal: Palette,
    row_bytes: [usize; NCAT],
}

impl<'a> Painter<'a> {
    fn new(pool: &'a PoolInner, out: &'a mut FdOut, draw: bool, y: usize, y_limit: usize) -> Self {
        Painter {
            pool,
            out,
            draw,
            y,
            y_limit,
            next_addr: 0,
            full: false,
            seen: Seen {
                bytes: [0; NCAT],
                rows: 0,
                arena_spans: 0,
                unreadable_spans: 0,
                pool_slots: 0,
                huge: 0,
                skipped: 0,
                arenas: [NO_ARENA; MAX_ARENAS],
                narenas: 0,
                other_spans: 0,
            },
            row_y: 0,
            pos: 0,
            acc: [0; NCAT],
            run: Paint::Blank,
            run_start: 0,
            pal: palette(0),
            row_bytes: [0; NCAT],
        }
    }

    fn walk(&mut self) {
        registry::each_slot(|base, kind| match kind {
            registry::ARENA => self.arena_slot(base),
            registry::POOL => self.pool_slot(base),
            registry::HUGE => self.huge_slot(base),
            _ => {}
        });
    }

    /// Starts the row of the slot at `base` (after a gap row if the addresses
    /// jump). False when the picture is full: the slot is only counted.
    fn begin_row(&mut self, base: usize) -> bool {
        let gap = base != self.next_addr;
        let need = if gap { GAP_H + ROW_PITCH } else { ROW_PITCH };
        if self.full || self.seen.rows >= MAX_ROWS || self.y.saturating_add(need) > self.y_limit {
            self.full = true;
            self.seen.skipped += 1;
            return false;
        }
        if gap {
            if self.draw {
                let _ = writeln!(
                    self.out,
                    "<text x=\"{X0}\" y=\"{}\" font-size=\"9\">{base:#x}</text>",
                    self.y + 9
                );
            }
            self.y += GAP_H;
        }
        self.seen.rows += 1;
        self.row_y = self.y;
        self.pos = 0;
        self.acc = [0; NCAT];
        self.run = Paint::Blank;
        self.run_start = 0;
        self.row_bytes = [0; NCAT];
        true
    }

    fn end_row(&mut self, base: usize) {
        if self.pos < SPAN {
            self.paint(Cat::Unknown, SPAN - self.pos);
        }
        self.emit_run(ROW_W);
        for (t, r) in self.seen.bytes.iter_mut().zip(self.row_bytes.iter()) {
            *t = t.saturating_add(*r);
        }
        self.y += ROW_PITCH;
        self.next_addr = base.wrapping_add(SPAN);
    }

    /// Text to the right of the row just painted.
    fn row_label(&mut self, what: &str, base: usize) {
        if self.draw {
            let _ = writeln!(
                self.out,
                "<text x=\"{}\" y=\"{}\" font-size=\"7\">{what} {base:#x}</text>",
                X0 + ROW_W + 6,
                self.row_y + 6
            );
        }
    }

    /// Adds the next `len` bytes of the row, all of kind `cat`.
    fn paint(&mut self, cat: Cat, len: usize) {
        let len = len.min(SPAN.saturating_sub(self.pos));
        if let Some(b) = self.row_bytes.get_mut(cat as usize) {
            *b = b.saturating_add(len);
        }
        let mut left = len;
        while left > 0 {
            let take = (PX_BYTES - self.pos % PX_BYTES).min(left);
            if let Some(a) = self.acc.get_mut(cat as usize) {
                *a = a.saturating_add(take as u32);
            }
            self.pos += take;
            left -= take;
            if self.pos % PX_BYTES == 0 {
                self.finish_pixel();
            }
        }
    }

    fn finish_pixel(&mut self) {
        let paint = self.pixel_paint();
        self.acc = [0; NCAT];
        let px = (self.pos / PX_BYTES).saturating_sub(1);
        if paint != self.run {
            self.emit_run(px);
            self.run = paint;
            self.run_start = px;
        }
    }

    fn colour(&self, c: Cat) -> Rgb {
        match c {
            Cat::Used => self.pal.used,
            Cat::Cached => self.pal.cached,
            Cat::Free => FREE_GREY,
            Cat::Released => RELEASED_BLUE,
            Cat::Meta => META_GREY,
            Cat::Unknown => UNKNOWN_BLACK,
            Cat::PoolBlock => POOL_ORANGE,
            Cat::PoolFree | Cat::Unmapped => POOL_FREE_WHITE,
            Cat::Huge => HUGE_RED,
        }
    }

    fn pixel_paint(&self) -> Paint {
        let get = |c: Cat| self.acc.get(c as usize).copied().unwrap_or(0);
        let (mut best, mut best_n) = (Cat::Unmapped, 0);
        for c in ALL_CATS {
            if get(c) > best_n {
                (best, best_n) = (c, get(c));
            }
        }
        // Pool memory and huge blocks come in whole pages: one kind per pixel.
        match best {
            Cat::PoolBlock | Cat::Huge => return Paint::Fill(self.colour(best)),
            Cat::PoolFree => return Paint::Outlined(POOL_FREE_WHITE),
            Cat::Unmapped => return Paint::Blank,
            _ => {}
        }
        // A span pixel: blend its chunks' colours by bytes, in eighths of a pixel
        // (so that neighbouring pixels alike merge into one rect).
        let (mut r, mut g, mut b, mut sum) = (0u32, 0u32, 0u32, 0u32);
        for c in SPAN_CATS {
            let w = (get(c) * 8 + PX_BYTES as u32 / 2) / PX_BYTES as u32;
            let col = self.colour(c);
            r += w * col.0 as u32;
            g += w * col.1 as u32;
            b += w * col.2 as u32;
            sum += w;
        }
        if sum == 0 {
            return Paint::Fill(self.colour(best));
        }
        Paint::Fill(Rgb((r / sum) as u8, (g / sum) as u8, (b / sum) as u8))
    }

    /// Draws the current run of pixels, up to pixel `end` (exclusive).
    fn emit_run(&mut self, end: usize) {
        let w = end.saturating_sub(self.run_start);
        if !self.draw || w == 0 {
            return;
        }
        let (x, y) = (X0 + self.run_start, self.row_y);
        let _ = match self.run {
            Paint::Blank => Ok(()),
            Paint::Fill(c) => writeln!(
                self.out,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{ROW_H}\" fill=\"{c}\"/>"
            ),
            Paint::Outlined(c) => writeln!(
                self.out,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{ROW_H}\" fill=\"{c}\" \
                 stroke=\"{OUTLINE_GREY}\" stroke-width=\"0.5\"/>"
            ),
        };
    }

    /// The legend entry of arena `a` (index into the table, or `None` when the
    /// table is full), its id and its key; `None` if `a` is not a known arena.
    fn arena_entry(&mut self, a: *mut Arena) -> Option<(Option<usize>, u32, u64)> {
        if a.is_null() {
            return None;
        }
        let n = self.seen.narenas;
        for (i, e) in self.seen.arenas.iter().take(n).enumerate() {
            if core::ptr::eq(e.ptr, a) {
                return Some((Some(i), e.id, e.key));
            }
        }
        // Not met yet: trust the pointer only if it is on the pool's list of arenas.
        let mut p = self.pool.arenas;
        let mut steps = 0u32;
        while p != a {
            if p.is_null() || steps > self.pool.arena_count {
                return None;
            }
            steps += 1;
            // SAFETY: arenas on the pool's list are never freed; `all_next` is written under the pool lock, which we hold.
            p = unsafe { (*p).all_next };
        }
        // (`tid` may be rewritten by a thread adopting the arena: plain word reads.)
        // SAFETY: `a` is on the pool's list, so a live arena (arenas are never freed).
        let (id, tid, key) = unsafe {
            (
                read_volatile(addr_of!((*a).id)),
                read_volatile(addr_of!((*a).tid)),
                read_volatile(addr_of!((*a).key)),
            )
        };
        let slot = self.seen.arenas.get_mut(n).map(|e| {
            *e = ArenaInfo {
                ptr: a,
                id,
                tid,
                key,
                ..NO_ARENA
            };
            n
        });
        if slot.is_some() {
            self.seen.narenas += 1;
        }
        Some((slot, id, key))
    }

    fn arena_slot(&mut self, base: usize) {
        if !self.begin_row(base) {
            return;
        }
        self.seen.arena_spans += 1;
        let span = base as *const Span;
        // (Its owner may be writing these words.)
        // SAFETY: the registry marks the slot an arena span and we hold the pool lock, so it stays mapped.
        let (a, key) = unsafe {
            (
                crate::arena::owner(span, Ordering::Acquire),
                read_volatile(addr_of!((*span).key)),
            )
        };
        match self.arena_entry(a) {
            Some((slot, id, akey)) if akey == key => {
                self.pal = palette(id);
                self.walk_chunks(base, key);
                self.end_row(base);
                let rb = self.row_bytes;
                let get = |c: Cat| rb.get(c as usize).copied().unwrap_or(0);
                match slot.and_then(|i| self.seen.arenas.get_mut(i)) {
                    Some(e) => {
                        e.spans += 1;
                        e.used = e.used.saturating_add(get(Cat::Used));
                        e.cached = e.cached.saturating_add(get(Cat::Cached));
                        e.free = e.free.saturating_add(get(Cat::Free));
                        e.released = e.released.saturating_add(get(Cat::Released));
                    }
                    None => self.seen.other_spans += 1,
                }
            }
            _ => {
                // Not (yet) a span of a known arena: being set up, or stale.
                self.seen.unreadable_spans += 1;
                self.paint(Cat::Unknown, SPAN);
                self.end_row(base);
                self.row_label("unreadable span", base);
            }
        }
    }

    /// Paints the chunks of the span at `base`, stopping at the first header that
    /// does not make sense (its owner may be rewriting it).
    fn walk_chunks(&mut self, base: usize, key: u64) {
        self.paint(Cat::Meta, FIRST);
        let mut off = FIRST;
        while off < FENCE {
            let c = (base + off) as *mut u8;
            // (The header may be mid-update: its value is checked before use.)
            // SAFETY: `c` lies inside the span, mapped while we hold the pool lock.
            let h = unsafe { span::hdr(c, key) };
            let s = (h & SIZE_MASK) as usize;
            if s < MIN_CHUNK || s % UNIT != 0 || s > FENCE - off {
                break;
            }
            if h & LOOSE == FREE {
                // Its released pages, drawn where they are when it is wholly
                // released, else (a count only) from the front of its interior.
                // SAFETY: as above; the field is read, not trusted.
                let r = unsafe { span::released(c) } as usize * PAGE;
                let (start, end) = span::interior(c, s);
                let r = r.min(end - start);
                let head = if r > 0 { start - c as usize } else { s };
                self.paint(Cat::Free, head);
                self.paint(Cat::Released, r);
                self.paint(Cat::Free, s - head - r);
            } else if h & CACHED != 0 {
                // (Loose chunks too: freed, held by the arena outside its store.)
                self.paint(Cat::Cached, s);
            } else {
                self.paint(Cat::Used, s);
            }
            off += s;
        }
        if off < FENCE {
            self.paint(Cat::Unknown, FENCE - off);
        }
        self.paint(Cat::Meta, SPAN - FENCE);
    }

    /// Pages of the slot at `base` in free runs, and pages still mapped.
    fn page_masks(&self, base: usize) -> (u64, u64) {
        let mut free = 0u64;
        if self.pool.overlaps_free(base, SPAN) {
            for i in 0..PAGES {
                if self.pool.overlaps_free(base + i * PAGE, PAGE) {
                    free |= 1 << i;
                }
            }
        }
        let mut mapped = u64::MAX >> (64 - PAGES);
        let mut vec = [0u8; PAGES];
        // SAFETY: mincore only reads page tables; `vec` has a byte per page of the range.
        let all = unsafe { libc::mincore(base as *mut libc::c_void, SPAN, vec.as_mut_ptr()) };
        if all != 0 && os::errno() == libc::ENOMEM {
            // The pool unmapped part of it (the registry keeps the slot marked).
            for i in 0..PAGES {
                if free & (1 << i) != 0 {
                    continue;
                }
                let p = (base + i * PAGE) as *mut libc::c_void;
                // SAFETY: as above, for one page.
                let r = unsafe { libc::mincore(p, PAGE, vec.as_mut_ptr()) };
                if r != 0 && os::errno() == libc::ENOMEM {
                    mapped &= !(1 << i);
                }
            }
        }
        (free, mapped)
    }

    fn pool_slot(&mut self, base: usize) {
        let (free, mapped) = self.page_masks(base);
        if free | mapped == 0 {
            return; // wholly given back to the OS: not ours any more
        }
        if !self.begin_row(base) {
            return;
        }
        self.seen.pool_slots += 1;
        for i in 0..PAGES {
            let cat = if free & (1 << i) != 0 {
                Cat::PoolFree
            } else if mapped & (1 << i) != 0 {
                Cat::PoolBlock
            } else {
                Cat::Unmapped
            };
            self.paint(cat, PAGE);
        }
        self.end_row(base);
    }

    fn huge_slot(&mut self, base: usize) {
        if !self.begin_row(base) {
            return;
        }
        self.seen.huge += 1;
        self.paint(Cat::Huge, SPAN);
        self.end_row(base);
        self.row_label("huge block at", base);
    }
}

/// Height of the legend for what `s` saw.
fn legend_height(s: &Seen) -> usize {
    ARENA_Y0 + LINE_H * (s.narenas + (s.other_spans > 0) as usize)
}

fn swatch(out: &mut FdOut, x: usize, y: usize, paint: Paint) {
    let _ = match paint {
        Paint::Blank => writeln!(
            out,
            "<rect x=\"{x}\" y=\"{y}\" width=\"10\" height=\"10\" fill=\"none\" \
             stroke=\"{OUTLINE_GREY}\" stroke-width=\"0.5\" stroke-dasharray=\"2\"/>"
        ),
        Paint::Fill(c) => writeln!(
            out,
            "<rect x=\"{x}\" y=\"{y}\" width=\"10\" height=\"10\" fill=\"{c}\"/>"
        ),
        Paint::Outlined(c) => writeln!(
            out,
            "<rect x=\"{x}\" y=\"{y}\" width=\"10\" height=\"10\" fill=\"{c}\" \
             stroke=\"{OUTLINE_GREY}\"/>"
        ),
    };
}

fn legend(out: &mut FdOut, s: &Seen) {
    let _ = writeln!(
        out,
        "<text x=\"{X0}\" y=\"14\" font-size=\"11\" font-weight=\"bold\">arenapool heap map: \
         one row per 256 KiB slot, 1 px = {PX_BYTES} bytes, addresses grow left to right, \
         then down</text>"
    );
    let _ = write!(
        out,
        "<text x=\"{X0}\" y=\"30\">slots drawn: {} ({} arena spans, {} pool, {} huge); \
         arenas: {}{}",
        s.rows,
        s.arena_spans,
        s.pool_slots,
        s.huge,
        s.narenas,
        if s.other_spans > 0 { "+" } else { "" },
    );
    if s.unreadable_spans > 0 {
        let _ = write!(out, "; unreadable spans: {}", s.unreadable_spans);
    }
    let _ = writeln!(out, "</text>");
    let _ = writeln!(
        out,
        "<text x=\"{X0}\" y=\"44\">arena chunks: in use {}, cached {}, free {} \
         (+ {} released to the OS); pool blocks {}, pool free {}; huge blocks mapped {}</text>",
        Bytes(s.bytes(Cat::Used) as u64),
        Bytes(s.bytes(Cat::Cached) as u64),
        Bytes(s.bytes(Cat::Free) as u64),
        Bytes(s.bytes(Cat::Released) as u64),
        Bytes(s.bytes(Cat::PoolBlock) as u64),
        Bytes(s.bytes(Cat::PoolFree) as u64),
        Bytes(crate::pool::huge_bytes() as u64),
    );
    let keys: [(&str, Paint); 8] = [
        ("free chunk", Paint::Fill(FREE_GREY)),
        ("released", Paint::Fill(RELEASED_BLUE)),
        ("span header", Paint::Fill(META_GREY)),
        ("unreadable", Paint::Fill(UNKNOWN_BLACK)),
        ("pool block", Paint::Fill(POOL_ORANGE)),
        ("pool free", Paint::Outlined(POOL_FREE_WHITE)),
        ("huge", Paint::Fill(HUGE_RED)),
        ("unmapped", Paint::Blank),
    ];
    let mut x = X0;
    for (name, paint) in keys {
        swatch(out, x, 52, paint);
        let _ = writeln!(out, "<text x=\"{}\" y=\"61\">{name}</text>", x + 14);
        x += 14 + 6 * name.len() + 14;
    }
    let _ = writeln!(
        out,
        "<text x=\"{X0}\" y=\"{}\">arenas (in use, cached in a thread cache); a pixel \
         holding several chunks blends their colours</text>",
        ARENA_Y0 - LINE_H
    );
    let mut y = ARENA_Y0;
    for e in s.arenas.iter().take(s.narenas) {
        let p = palette(e.id);
        swatch(out, X0, y - 9, Paint::Fill(p.used));
        swatch(out, X0 + 12, y - 9, Paint::Fill(p.cached));
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{y}\">arena {} (thread {}): {} spans, in use {}, cached {}, \
             free {}, released {}</text>",
            X0 + 28,
            e.id,
            e.tid,
            e.spans,
            Bytes(e.used as u64),
            Bytes(e.cached as u64),
            Bytes(e.free as u64),
            Bytes(e.released as u64)
        );
        y += LINE_H;
    }
    if s.other_spans > 0 {
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{y}\">and more arenas, not listed: {} spans</text>",
            X0 + 28,
            s.other_spans
        );
    }
}

/// Writes an SVG picture of the heap to `path` (a NUL-terminated C string).
/// Returns false if the file cannot be written.
///
/// Never allocates; holds the pool lock while it walks (twice: once to size the
/// picture, once to draw it) and writes.
pub fn write_heap_map(path: &CStr) -> bool {
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC;
    // SAFETY: `path` is a NUL-terminated string that outlives the call.
    let fd = unsafe { libc::open(path.as_ptr(), flags, 0o644 as libc::c_uint) };
    if fd < 0 {
        return false;
    }
    let mut out = os::FdOut::new(fd);
    {
        let pool = crate::pool::lock();
        let mut survey = Painter::new(&pool, &mut out, false, 0, usize::MAX);
        survey.walk();
        let (seen, rows_h) = (survey.seen, survey.y);
        let top = legend_height(&seen);
        let height = top + rows_h + 2 * LINE_H;
        let _ = writeln!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
             viewBox=\"0 0 {WIDTH} {height}\" font-family=\"monospace\" font-size=\"10\">\n\
             <rect width=\"{WIDTH}\" height=\"{height}\" fill=\"#ffffff\"/>"
        );
        legend(&mut out, &seen);
        let mut painter = Painter::new(&pool, &mut out, true, top, top + rows_h);
        painter.walk();
        let (y, skipped, rows) = (painter.y, painter.seen.skipped, painter.seen.rows);
        if rows == 0 {
            let _ = writeln!(
                out,
                "<text x=\"{X0}\" y=\"{}\">no memory held</text>",
                y + 12
            );
        }
        if skipped > 0 {
            let _ = writeln!(
                out,
                "<text x=\"{X0}\" y=\"{}\">truncated: {skipped} more slots not drawn \
                 (at most {MAX_ROWS} rows)</text>",
                y + 12
            );
        }
        let _ = writeln!(out, "</svg>");
        out.flush();
    }
    // SAFETY: `fd` was opened above and is closed once.
    let closed = unsafe { libc::close(fd) } == 0;
    !out.failed() && closed
}

#[cfg(test)]
#[allow(clippy::disallowed_types, clippy::disallowed_macros)]
mod tests {
    extern crate std;

    use super::*;
    use std::ffi::CString;
    use std::format;
    use std::vec::Vec;

    #[test]
    fn heap_map_draws_arena_and_free_chunks() {
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            rng ^= rng >> 12;
            rng ^= rng << 25;
            rng ^= rng >> 27;
            rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
        };
        let mut blocks = Vec::new();
        for _ in 0..3000 {
            // Log-uniform sizes from 16 B to 300 KiB.
            let k = next() % 15;
            let n = ((16usize << k) + (next() as usize % (16usize << k))).min(300 << 10);
            // SAFETY: plain allocation; the block is written inside its size.
            let p = unsafe { crate::raw::malloc(n) };
            assert!(!p.is_null());
            // SAFETY: `p` has at least `n >= 16` bytes.
            unsafe { p.write(0xa5) };
            blocks.push(p);
        }
        // SAFETY: plain allocation, freed below.
        let huge = unsafe { crate::raw::malloc(40 << 20) };
        assert!(!huge.is_null());
        for p in blocks.iter().skip(1).step_by(2) {
            // SAFETY: each block is freed once.
            unsafe { crate::raw::free(*p) };
        }

        let path =
            std::env::temp_dir().join(format!("arenapool-heapmap-{}.svg", std::process::id()));
        let cpath = CString::new(path.to_str().unwrap()).unwrap();
        assert!(write_heap_map(&cpath));
        let svg = std::fs::read_to_string(&path).unwrap();
        // ARENAPOOL_HEAPMAP_KEEP=1 keeps the picture (its path is printed).
        if std::env::var_os("ARENAPOOL_HEAPMAP_KEEP").is_some() {
            std::eprintln!("heap map written to {}", path.display());
        } else {
            let _ = std::fs::remove_file(&path);
        }

        // SAFETY: the calling thread's arena is valid (it just allocated).
        let id = unsafe { (*crate::thread::arena()).id };
        assert!(id > 0);
        let used = format!("fill=\"{}\"", palette(id).used);
        let free = format!("fill=\"{FREE_GREY}\"");
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
        assert!(svg.ends_with("</svg>\n"));
        assert!(svg.contains(&used), "no rect in arena {id}'s colour {used}");
        assert!(svg.contains(&free), "no free-chunk rect");
        assert!(svg.contains("huge block at"));
        assert!(svg.contains(&format!("arena {id} (thread")));
        std::eprintln!(
            "heap map: {} bytes, {} rects",
            svg.len(),
            svg.matches("<rect").count()
        );

        for p in blocks.iter().step_by(2) {
            // SAFETY: the blocks not freed above, freed once.
            unsafe { crate::raw::free(*p) };
        }
        // SAFETY: freed once.
        unsafe { crate::raw::free(huge) };
        assert!(!write_heap_map(c"/nonexistent-dir/heap.svg"));
    }

    /// Maps drawn while other threads allocate and free (their spans change under
    /// the walk) are still whole files.
    #[test]
    fn heap_map_while_threads_churn() {
        use core::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..3u64)
            .map(|t| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut rng = 0x2545_f491_4f6c_dd1d ^ (t + 1);
                    let mut slots = [0usize; 512];
                    while !stop.load(Ordering::Relaxed) {
                        rng ^= rng << 13;
                        rng ^= rng >> 7;
                        rng ^= rng << 17;
                        let i = (rng % 512) as usize;
                        let n = 16usize << ((rng >> 20) % 13);
                        // SAFETY: each slot holds null or a live block of ours.
                        unsafe {
                            crate::raw::free(slots[i] as *mut u8);
                            let p = crate::raw::malloc(n);
                            assert!(!p.is_null());
                            p.write(1);
                            slots[i] = p as usize;
                        }
                    }
                    for p in slots {
                        // SAFETY: live blocks (or null), freed once.
                        unsafe { crate::raw::free(p as *mut u8) };
                    }
                })
            })
            .collect();
        let path = std::env::temp_dir().join(format!(
            "arenapool-heapmap-churn-{}.svg",
            std::process::id()
        ));
        let cpath = CString::new(path.to_str().unwrap()).unwrap();
        for _ in 0..20 {
            assert!(write_heap_map(&cpath));
            let svg = std::fs::read_to_string(&path).unwrap();
            assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        }
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            w.join().unwrap();
        }
        let _ = std::fs::remove_file(&path);
    }
}
