//! Parallel **word frequency** count: the classic "split the text, lowercase each
//! word into a fresh `String`, count it in a hash map" pattern, with one
//! `HashMap<String, usize>` per rayon worker thread, held in a
//! `thread_local::ThreadLocal`, and a merge of the per-thread maps at the end.
//!
//! For the allocator this is a stream of short-lived small `String`s (one per
//! word, freed at once when the word is already counted), long-lived map keys and
//! growing hash tables on every worker thread, and the worker threads' maps freed
//! by the merging thread.
//!
//! The corpus (default 128 MB) is generated in memory, in parallel, from a seeded
//! PRNG (one seed per chunk, so it does not depend on the thread count): a
//! vocabulary of 40,000 generated words drawn with Zipf-like (1/rank)
//! frequencies, in lines of 4 to 19 words, the first word of each line
//! capitalised and some words followed by `,` or `.`. The generator records how
//! often it emitted each word, and the merged counts are checked against it word
//! by word (and the total against the number of words generated).
//!
//! Run it (arenapool is the default allocator, see `benches/common/select.rs`):
//!
//! ```text
//! cargo run --release --example word_freq                 # 128 MB corpus, all cores
//! cargo run --release --example word_freq -- 256 --threads 2
//! ARENAPOOL_ALLOC=system cargo run --release --example word_freq   # glibc malloc
//! ARENAPOOL_ALLOC=mimalloc cargo run --release --example word_freq # or jemalloc
//! ```
//!
//! Arguments: an optional corpus size in MB (default 128, at least 1) and
//! `--threads N` (default: rayon's global pool, one thread per core).

#![allow(clippy::disallowed_types, clippy::disallowed_macros)]

#[path = "../benches/common/select.rs"]
mod select;

#[path = "common/cli.rs"]
mod cli;

#[global_allocator]
static GLOBAL: select::Selected = select::Selected;

use rayon::prelude::*;
use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Instant;
use thread_local::ThreadLocal;

const DEFAULT_MB: u64 = 128;
const VOCABULARY: usize = 40_000;
const SEED: u64 = 0x05ee_d0fa_110c;

/// SplitMix64: small, fast, and good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n as u128) >> 64) as u64
    }
    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// `VOCABULARY` distinct lowercase words of 3 to about 12 letters: a random stem
/// of consonant-vowel syllables, then the rank written in base 18 with consonants
/// only. The stem ends with the word's last vowel, so the suffix, hence the rank,
/// can be read back from the word: no two words are equal.
fn vocabulary(rng: &mut Rng) -> Vec<String> {
    const CONSONANTS: &[u8] = b"bcdfghjklmnprstvwz";
    const VOWELS: &[u8] = b"aeiou";
    (0..VOCABULARY)
        .map(|rank| {
            let mut w = String::new();
            // Frequent words are short, as in real text.
            let syllables = 1 + rng.below(if rank < 100 { 1 } else { 4 }) as usize;
            for _ in 0..syllables {
                w.push(CONSONANTS[rng.below(CONSONANTS.len() as u64) as usize] as char);
                w.push(VOWELS[rng.below(VOWELS.len() as u64) as usize] as char);
            }
            let mut r = rank;
            loop {
                w.push(CONSONANTS[r % CONSONANTS.len()] as char);
                r /= CONSONANTS.len();
                if r == 0 {
                    break;
                }
            }
            w
        })
        .collect()
}

struct Corpus {
    text: String,
    vocab: Vec<String>,
    /// How many times the generator emitted each vocabulary word.
    emitted: Vec<usize>,
    words: usize,
    lines: usize,
}

/// One chunk of the corpus, generated from its own seed.
struct Chunk {
    text: String,
    emitted: Vec<usize>,
    words: usize,
    lines: usize,
}

fn generate_chunk(seed: u64, bytes: usize, vocab: &[String], cumulative: &[f64]) -> Chunk {
    let mut rng = Rng(seed);
    let sum = cumulative[VOCABULARY - 1];
    let mut emitted = vec![0usize; VOCABULARY];
    let mut text = String::with_capacity(bytes + 256);
    let (mut words, mut lines) = (0, 0);
    while text.len() < bytes {
        let n = 4 + rng.below(16);
        for i in 0..n {
            let x = rng.unit() * sum;
            let r = cumulative.partition_point(|&c| c <= x).min(VOCABULARY - 1);
            emitted[r] += 1;
            words += 1;
            let w = &vocab[r];
            if i == 0 {
                text.push(w.as_bytes()[0].to_ascii_uppercase() as char);
                text.push_str(&w[1..]);
            } else {
                text.push(' ');
                text.push_str(w);
            }
            match rng.below(16) {
                0 => text.push(','),
                1 if i + 1 == n => text.push('.'),
                _ => {}
            }
        }
        text.push('\n');
        lines += 1;
    }
    Chunk {
        text,
        emitted,
        words,
        lines,
    }
}

/// The corpus: `CHUNKS` chunks generated in parallel (each from its own seed, so
/// the corpus does not depend on the number of threads), then concatenated.
fn generate(bytes: usize) -> Corpus {
    const CHUNKS: usize = 64;
    let mut rng = Rng(SEED);
    let vocab = vocabulary(&mut rng);
    // Zipf, exponent 1: the word of rank r has weight 1 / (r + 1).
    let mut cumulative = Vec::with_capacity(VOCABULARY);
    let mut sum = 0.0;
    for r in 0..VOCABULARY {
        sum += 1.0 / (r + 1) as f64;
        cumulative.push(sum);
    }
    let per_chunk = bytes.div_ceil(CHUNKS);
    let chunks: Vec<Chunk> = (0..CHUNKS as u64)
        .into_par_iter()
        .map(|c| {
            generate_chunk(
                SEED ^ (c + 1).wrapping_mul(0xa076_1d64_78bd_642f),
                per_chunk,
                &vocab,
                &cumulative,
            )
        })
        .collect();
    let mut text = String::with_capacity(chunks.iter().map(|c| c.text.len()).sum());
    let mut emitted = vec![0usize; VOCABULARY];
    let (mut words, mut lines) = (0, 0);
    for c in chunks {
        text.push_str(&c.text);
        for (e, n) in emitted.iter_mut().zip(&c.emitted) {
            *e += n;
        }
        words += c.words;
        lines += c.lines;
    }
    Corpus {
        text,
        vocab,
        emitted,
        words,
        lines,
    }
}

/// Counts the words of `text` into one map per worker thread.
fn count(text: &str) -> ThreadLocal<RefCell<HashMap<String, usize>>> {
    let maps: ThreadLocal<RefCell<HashMap<String, usize>>> = ThreadLocal::new();
    text.par_lines().for_each(|line| {
        let mut map = maps.get_or(|| RefCell::new(HashMap::new())).borrow_mut();
        for token in line.split_whitespace() {
            let word = token
                .trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase();
            if !word.is_empty() {
                *map.entry(word).or_insert(0) += 1;
            }
        }
    });
    maps
}

/// Merges the per-thread maps into the largest of them.
fn merge(maps: ThreadLocal<RefCell<HashMap<String, usize>>>) -> (HashMap<String, usize>, usize) {
    let mut maps: Vec<HashMap<String, usize>> = maps.into_iter().map(RefCell::into_inner).collect();
    let parts = maps.len();
    maps.sort_by_key(|m| std::cmp::Reverse(m.len()));
    let mut it = maps.into_iter();
    let mut total = it.next().unwrap_or_default();
    for m in it {
        for (w, c) in m {
            *total.entry(w).or_insert(0) += c;
        }
    }
    (total, parts)
}

fn main() {
    let args = cli::parse_args("word_freq [CORPUS_MB (default 128)] [--threads N]");
    let mb = args.size.unwrap_or(DEFAULT_MB);
    if !(1..=4096).contains(&mb) {
        eprintln!("corpus size must be 1 to 4096 MB");
        std::process::exit(2);
    }
    let start = Instant::now();

    let (corpus, counts, parts, threads, times) = cli::with_pool(args.threads, || {
        let t = Instant::now();
        let corpus = generate((mb as usize) << 20);
        let t_generate = t.elapsed();
        let t = Instant::now();
        let maps = count(&corpus.text);
        let t_count = t.elapsed();
        let t = Instant::now();
        let (counts, parts) = merge(maps);
        let t_merge = t.elapsed();
        let times = (t_generate, t_count, t_merge);
        (corpus, counts, parts, rayon::current_num_threads(), times)
    });
    let (t_generate, t_count, t_merge) = times;

    let total: usize = counts.values().sum();
    let mut top: Vec<(&str, usize)> = counts.iter().map(|(w, &c)| (w.as_str(), c)).collect();
    top.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    top.truncate(10);

    // Check: the total, and every word's count, against what the generator emitted.
    assert_eq!(total, corpus.words, "total word count");
    let distinct = corpus.emitted.iter().filter(|&&c| c > 0).count();
    assert_eq!(counts.len(), distinct, "distinct words");
    for (w, &e) in corpus.vocab.iter().zip(&corpus.emitted) {
        assert_eq!(counts.get(w).copied().unwrap_or(0), e, "count of {w:?}");
    }

    println!(
        "corpus: {:.1} MB, {} lines, {} words (vocabulary {VOCABULARY})",
        corpus.text.len() as f64 / (1 << 20) as f64,
        corpus.lines,
        corpus.words
    );
    println!("distinct words: {}", counts.len());
    println!("total: {total}");
    println!("top 10:");
    for (i, (w, c)) in top.iter().enumerate() {
        println!("  {:2}. {w:<12} {c}", i + 1);
    }
    drop(top);
    drop(counts);
    drop(corpus);
    let wall = start.elapsed();
    println!(
        "time: generate {:.3} s, count {:.3} s, merge {:.3} s ({parts} per-thread maps)",
        t_generate.as_secs_f64(),
        t_count.as_secs_f64(),
        t_merge.as_secs_f64()
    );
    println!(
        "word_freq: {mb} MB, {threads} threads, allocator {}, wall {:.3} s",
        select::name(),
        wall.as_secs_f64()
    );
}
