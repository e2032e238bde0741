/*
 * Out of memory under LD_PRELOAD=libarenapool.so (see tests/preload.rs, out_of_memory_is_an_answer): the
 * address-space limit (RLIMIT_AS) is lowered to the process's size plus a
 * headroom of 8, 64 and 256 MiB in turn, and 1 or 4 threads allocate with malloc,
 * calloc, realloc, posix_memalign and aligned_alloc, in a mix of sizes (small
 * 16 B .. 1 KiB, medium up to 128 KiB, pool blocks up to 32 MiB, huge blocks
 * above), until allocations fail: first at random, then squeezing the rest out
 * from 48 MiB down to 16 bytes. It checks that
 *   - every failure is NULL with errno == ENOMEM (errno is cleared before each
 *     call), and posix_memalign's is the return value ENOMEM with *memptr
 *     untouched;
 *   - a failed realloc leaves the old block as it was, no live block loses its
 *     pattern, calloc blocks read as zeros, alignments and malloc_usable_size hold;
 *   - after each thread frees about half of its blocks, a 64 KiB malloc succeeds
 *     in each thread, and once everything is freed a 1 MiB malloc succeeds.
 * While the limit is set nothing is printed (stdio may allocate): the limit is
 * raised again before the report of each phase.
 *
 * Usage: oom <threads> [--glibc]   (--glibc: do not check that arenapool is
 * preloaded; the same rules hold for the system allocator.)
 * Prints one line per phase, "oom: done" and exits 0; exits 1 on a broken rule.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

#define KiB ((size_t)1024)
#define MiB (1024 * KiB)
#define MAXTHREADS 4
#define SLOTS (32 * 1024)
#define RANDOM_OPS 3000
#define RANDOM_FAILS 12
#define SQUEEZE_CAP 2048

enum { OP_MALLOC, OP_CALLOC, OP_REALLOC, OP_POSIX_MEMALIGN, OP_ALIGNED_ALLOC, NOPS };
static const char *const op_name[NOPS] = {"malloc", "calloc", "realloc", "posix_memalign",
                                          "aligned_alloc"};
static const char *const class_name[4] = {"small", "medium", "pool", "huge"};

static int class_of(size_t n) {
    if (n <= 1024)
        return 0;
    if (n <= 131064)
        return 1;
    if (n < 32 * MiB)
        return 2;
    return 3;
}

struct block {
    unsigned char *p;
    size_t n;
    uint64_t seed;
};

struct tally {
    unsigned long ok, fails_by_op[NOPS], fails_by_class[4];
    /* Failures without ENOMEM: count, the first (op, size, errno or return value). */
    unsigned long bad_errno;
    int bad_op, bad_err;
    size_t bad_n;
    /* posix_memalign failures that wrote *memptr. */
    unsigned long memptr_written;
    /* Blocks whose pattern changed: count, the first (what, size, offset). */
    unsigned long corrupt;
    const char *corrupt_what;
    size_t corrupt_n;
    long corrupt_off;
    unsigned long dirty, misaligned, short_usable;
    size_t peak_live;
    int slots_full, recovered, recovered_errno;
};

struct worker {
    struct block *live;
    size_t nlive;
    uint64_t rng, next_seed;
    struct tally t;
    pthread_t th;
};

static pthread_barrier_t gate;
static pthread_mutex_t recovery = PTHREAD_MUTEX_INITIALIZER;

/* ---- patterns ------------------------------------------------------------------- */

static inline uint64_t word(uint64_t seed, size_t i) { return seed ^ (i * 0x9e3779b97f4a7c15ull); }

static void fill(unsigned char *p, size_t n, uint64_t seed) {
    uint64_t *w = (uint64_t *)p;
    for (size_t i = 0; i < n / 8; i++)
        w[i] = word(seed, i);
    for (size_t j = n / 8 * 8; j < n; j++)
        p[j] = (unsigned char)(seed ^ j);
}

/* The first of the len bytes at p that differs from what fill(p, n, seed) wrote
   (len <= n), or -1. */
static long check(const unsigned char *p, size_t n, uint64_t seed, size_t len) {
    const uint64_t *w = (const uint64_t *)p;
    size_t full = n / 8 * 8, words = (len < full ? len : full) / 8;
    for (size_t i = 0; i < words; i++)
        if (w[i] != word(seed, i))
            return (long)(i * 8);
    for (size_t j = words * 8; j < len; j++) {
        unsigned char want;
        if (j < full) {
            uint64_t x = word(seed, j / 8);
            memcpy(&want, (unsigned char *)&x + j % 8, 1);
        } else {
            want = (unsigned char)(seed ^ j);
        }
        if (p[j] != want)
            return (long)j;
    }
    return -1;
}

static int all_zero(const unsigned char *p, size_t n) {
    const uint64_t *w = (const uint64_t *)p;
    for (size_t i = 0; i < n / 8; i++)
        if (w[i])
            return 0;
    for (size_t j = n / 8 * 8; j < n; j++)
        if (p[j])
            return 0;
    return 1;
}

/* ---- the worker ----------------------------------------------------------------- */

static uint64_t rnd(struct worker *w) {
    w->rng ^= w->rng >> 12;
    w->rng ^= w->rng << 25;
    w->rng ^= w->rng >> 27;
    return w->rng * 0x2545f4914f6cdd1dull;
}
static size_t below(struct worker *w, size_t n) { return (size_t)(rnd(w) % n); }

static uint64_t new_seed(struct worker *w) { return w->next_seed += 0x9e3779b97f4a7c15ull; }

static size_t size_of_class(struct worker *w, int c) {
    switch (c) {
    case 0:
        return 16 + below(w, 1009);
    case 1:
        return 1025 + below(w, 128 * KiB - 8 - 1025);
    case 2: {
        /* Log-uniform over 128 KiB .. 32 MiB. */
        int e = 17 + (int)below(w, 8);
        size_t lo = (size_t)1 << e;
        if (lo < 128 * KiB + 8)
            lo = 128 * KiB + 8;
        return lo + below(w, ((size_t)1 << (e + 1)) - lo - 1);
    }
    default:
        return 32 * MiB + 1 + below(w, 64 * MiB);
    }
}

static void corrupt(struct worker *w, const char *what, size_t n, long off) {
    if (w->t.corrupt++ == 0) {
        w->t.corrupt_what = what;
        w->t.corrupt_n = n;
        w->t.corrupt_off = off;
    }
}

/* A failure of op for n bytes; err is errno (or posix_memalign's return value). */
static void failed(struct worker *w, int op, size_t n, int err) {
    w->t.fails_by_op[op]++;
    w->t.fails_by_class[class_of(n)]++;
    if (err != ENOMEM && w->t.bad_errno++ == 0) {
        w->t.bad_op = op;
        w->t.bad_n = n;
        w->t.bad_err = err;
    }
}

static int room(struct worker *w) {
    if (w->nlive >= SLOTS) {
        w->t.slots_full = 1;
        return 0;
    }
    return 1;
}

/* Checks a fresh block of n bytes at align, fills it, keeps it. */
static void got(struct worker *w, unsigned char *p, size_t n, size_t align, int zeroed) {
    w->t.ok++;
    if ((uintptr_t)p % align)
        w->t.misaligned++;
    if (malloc_usable_size(p) < n)
        w->t.short_usable++;
    if (zeroed && !all_zero(p, n))
        w->t.dirty++;
    uint64_t seed = new_seed(w);
    fill(p, n, seed);
    w->live[w->nlive++] = (struct block){p, n, seed};
    if (w->nlive > w->t.peak_live)
        w->t.peak_live = w->nlive;
}

static const size_t aligns[] = {32, 64, 256, 4096, 64 * 1024, 2 * 1024 * 1024};

/* A new block of n bytes through op (anything but realloc). Whether it succeeded. */
static int alloc(struct worker *w, int op, size_t n) {
    if (!room(w))
        return 0;
    size_t align = 16;
    void *p;
    int err;
    switch (op) {
    case OP_MALLOC:
        errno = 0;
        p = malloc(n);
        err = errno;
        break;
    case OP_CALLOC:
        errno = 0;
        p = n % 16 == 0 && rnd(w) % 2 ? calloc(n / 16, 16) : calloc(1, n);
        err = errno;
        break;
    case OP_POSIX_MEMALIGN: {
        align = aligns[below(w, sizeof aligns / sizeof aligns[0])];
        void *out = (void *)0x1234;
        int r = posix_memalign(&out, align, n);
        if (r != 0 && out != (void *)0x1234)
            w->t.memptr_written++;
        p = r == 0 ? out : NULL;
        err = r;
        break;
    }
    default:
        /* C11: the size a multiple of the alignment. */
        align = aligns[below(w, 4)];
        n = (n + align - 1) & ~(align - 1);
        errno = 0;
        p = aligned_alloc(align, n);
        err = errno;
        break;
    }
    if (!p) {
        failed(w, op, n, err);
        return 0;
    }
    got(w, p, n, align, op == OP_CALLOC);
    return 1;
}

/* Reallocs live block i to m bytes. Whether it succeeded. */
static int re(struct worker *w, size_t i, size_t m) {
    struct block b = w->live[i];
    errno = 0;
    unsigned char *q = realloc(b.p, m);
    int err = errno;
    long off;
    if (!q) {
        failed(w, OP_REALLOC, m, err);
        if ((off = check(b.p, b.n, b.seed, b.n)) >= 0)
            corrupt(w, "block after a failed realloc", b.n, off);
        return 0;
    }
    w->t.ok++;
    if ((uintptr_t)q % 16)
        w->t.misaligned++;
    if (malloc_usable_size(q) < m)
        w->t.short_usable++;
    if ((off = check(q, b.n, b.seed, b.n < m ? b.n : m)) >= 0)
        corrupt(w, "block moved by realloc", b.n, off);
    uint64_t seed = new_seed(w);
    fill(q, m, seed);
    w->live[i] = (struct block){q, m, seed};
    return 1;
}

static void free_at(struct worker *w, size_t i) {
    free(w->live[i].p);
    w->live[i] = w->live[--w->nlive];
}

static void random_part(struct worker *w) {
    static const int ops[] = {OP_MALLOC, OP_CALLOC, OP_POSIX_MEMALIGN, OP_ALIGNED_ALLOC};
    int fails = 0;
    for (int k = 0; k < RANDOM_OPS && fails < RANDOM_FAILS && room(w); k++) {
        size_t r = below(w, 100);
        int c = r < 35 ? 0 : r < 65 ? 1 : r < 93 ? 2 : 3;
        size_t n = size_of_class(w, c);
        r = below(w, 100);
        int ok;
        if (r < 8 && w->nlive) {
            free_at(w, below(w, w->nlive));
            ok = 1;
        } else if (r < 30 && w->nlive) {
            ok = re(w, below(w, w->nlive), n);
        } else {
            ok = alloc(w, ops[below(w, 4)], n);
        }
        fails += !ok;
    }
}

/* From huge down to 16 bytes: allocates each size until it fails, then tries the
   other functions at that size (they may fail or succeed; either way correctly). */
static void squeeze(struct worker *w) {
    static const size_t sizes[] = {48 * MiB, 16 * MiB, 4 * MiB, MiB, 256 * KiB, 64 * KiB,
                                   16 * KiB, 4 * KiB,  KiB,     256, 64,        16};
    static const int ops[] = {OP_MALLOC, OP_CALLOC, OP_POSIX_MEMALIGN, OP_ALIGNED_ALLOC};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        int first = -1;
        for (int k = 0; k < SQUEEZE_CAP && room(w); k++)
            if (!alloc(w, ops[k % 4], n)) {
                first = ops[k % 4];
                break;
            }
        if (first < 0)
            continue;
        for (int o = 0; o < 4; o++)
            if (ops[o] != first)
                alloc(w, ops[o], n);
        /* realloc: grow a smaller live block to this size. */
        for (size_t i = 0; i < w->nlive; i++)
            if (w->live[i].n < n) {
                re(w, i, n);
                break;
            }
    }
}

static void verify_all(struct worker *w) {
    for (size_t i = 0; i < w->nlive; i++) {
        struct block b = w->live[i];
        long off = check(b.p, b.n, b.seed, b.n);
        if (off >= 0)
            corrupt(w, "live block", b.n, off);
    }
}

/* Frees about half the live blocks (the largest, then every other one). */
static void free_half(struct worker *w) {
    size_t big = 0;
    for (size_t i = 1; i < w->nlive; i++)
        if (w->live[i].n > w->live[big].n)
            big = i;
    if (w->nlive)
        free_at(w, big);
    for (size_t i = 0; i < w->nlive; i++)
        free_at(w, i);
}

static void *work(void *arg) {
    struct worker *w = arg;
    /* Warm up (before the limit): the thread's arena, a pool block. */
    size_t warm[] = {64, 5000, 300 * KiB};
    for (int i = 0; i < 3; i++)
        free(malloc(warm[i]));
    pthread_barrier_wait(&gate); /* warmed up */
    pthread_barrier_wait(&gate); /* the limit is set */
    random_part(w);
    squeeze(w);
    verify_all(w);
    pthread_barrier_wait(&gate); /* everybody squeezed */
    free_half(w);
    pthread_barrier_wait(&gate); /* everybody freed half */
    pthread_mutex_lock(&recovery);
    errno = 0;
    unsigned char *p = malloc(64 * KiB);
    w->t.recovered = p != NULL;
    w->t.recovered_errno = errno;
    if (p)
        got(w, p, 64 * KiB, 16, 0);
    pthread_mutex_unlock(&recovery);
    verify_all(w);
    while (w->nlive)
        free(w->live[--w->nlive].p);
    return NULL;
}

/* ---- the phases ------------------------------------------------------------------ */

static void set_limit(size_t bytes) {
    struct rlimit r;
    if (getrlimit(RLIMIT_AS, &r) != 0) {
        perror("getrlimit");
        exit(2);
    }
    /* (Never above the hard limit, which may be lower than the headroom asks.) */
    r.rlim_cur = bytes && (rlim_t)bytes < r.rlim_max ? (rlim_t)bytes : r.rlim_max;
    if (setrlimit(RLIMIT_AS, &r) != 0) {
        perror("setrlimit");
        exit(2);
    }
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int problems;
#define PROBLEM(...)                                                                       \
    do {                                                                                   \
        fprintf(stderr, "FAIL: threads %d, headroom %zu MiB: ", nthreads, mib);            \
        fprintf(stderr, __VA_ARGS__);                                                      \
        fprintf(stderr, "\n");                                                             \
        problems++;                                                                        \
    } while (0)

static void phase(int nthreads, size_t mib, uint64_t seed) {
    static struct worker ws[MAXTHREADS];
    double t0 = now();
    pthread_barrier_init(&gate, NULL, nthreads + 1);
    for (int i = 0; i < nthreads; i++) {
        struct worker *w = &ws[i];
        memset(w, 0, sizeof *w);
        w->live = calloc(SLOTS, sizeof *w->live);
        if (!w->live) {
            fprintf(stderr, "no memory for the slots\n");
            exit(2);
        }
        w->rng = (seed ^ mix(i + 1)) | 1;
        w->next_seed = mix(seed + 77 * i);
        if (pthread_create(&w->th, NULL, work, w) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            exit(2);
        }
    }
    pthread_barrier_wait(&gate); /* warmed up */
    long vm = status_kib("VmSize");
    if (vm <= 0) {
        fprintf(stderr, "no VmSize in /proc/self/status\n");
        exit(2);
    }
    set_limit((size_t)vm * 1024 + mib * MiB);
    pthread_barrier_wait(&gate);
    pthread_barrier_wait(&gate); /* squeezed */
    pthread_barrier_wait(&gate); /* freed half */
    for (int i = 0; i < nthreads; i++)
        pthread_join(ws[i].th, NULL);
    /* Everything is freed: a pool block must fit again. */
    unsigned char *p = malloc(MiB);
    int after = p != NULL;
    if (p) {
        fill(p, MiB, 1);
        free(p);
    }
    set_limit(0);
    /* The limit is off again: reporting may allocate. */
    pthread_barrier_destroy(&gate);
    struct tally t;
    memset(&t, 0, sizeof t);
    int recovered = 1, recovered_errno = 0;
    for (int i = 0; i < nthreads; i++) {
        struct tally *x = &ws[i].t;
        t.ok += x->ok;
        for (int o = 0; o < NOPS; o++)
            t.fails_by_op[o] += x->fails_by_op[o];
        for (int c = 0; c < 4; c++)
            t.fails_by_class[c] += x->fails_by_class[c];
        if (x->bad_errno && !t.bad_errno) {
            t.bad_op = x->bad_op;
            t.bad_n = x->bad_n;
            t.bad_err = x->bad_err;
        }
        t.bad_errno += x->bad_errno;
        if (x->corrupt && !t.corrupt) {
            t.corrupt_what = x->corrupt_what;
            t.corrupt_n = x->corrupt_n;
            t.corrupt_off = x->corrupt_off;
        }
        t.corrupt += x->corrupt;
        t.memptr_written += x->memptr_written;
        t.dirty += x->dirty;
        t.misaligned += x->misaligned;
        t.short_usable += x->short_usable;
        t.peak_live += x->peak_live;
        t.slots_full |= x->slots_full;
        if (!x->recovered && recovered) {
            recovered = 0;
            recovered_errno = x->recovered_errno;
        }
        free(ws[i].live);
    }
    unsigned long fails = 0;
    for (int o = 0; o < NOPS; o++)
        fails += t.fails_by_op[o];
    printf("oom: threads=%d headroom=%zuMiB failures=%lu (malloc %lu, calloc %lu, realloc %lu, "
           "posix_memalign %lu, aligned_alloc %lu; small %lu, medium %lu, pool %lu, huge %lu) "
           "ok=%lu peak_live=%zu slots_full=%d recovered=%d after_free_all=%d %.2fs\n",
           nthreads, mib, fails, t.fails_by_op[0], t.fails_by_op[1], t.fails_by_op[2],
           t.fails_by_op[3], t.fails_by_op[4], t.fails_by_class[0], t.fails_by_class[1],
           t.fails_by_class[2], t.fails_by_class[3], t.ok, t.peak_live, t.slots_full, recovered,
           after, now() - t0);
    fflush(stdout);
    for (int o = 0; o < NOPS; o++)
        if (!t.fails_by_op[o])
            PROBLEM("no %s failed", op_name[o]);
    if (t.bad_errno)
        PROBLEM("%lu failures without ENOMEM, the first: %s(%zu) (%s) gave errno %d", t.bad_errno,
                op_name[t.bad_op], t.bad_n, class_name[class_of(t.bad_n)], t.bad_err);
    if (t.memptr_written)
        PROBLEM("%lu failed posix_memalign calls wrote *memptr", t.memptr_written);
    if (t.corrupt)
        PROBLEM("%lu blocks corrupted, the first: %s of %zu bytes at offset %ld", t.corrupt,
                t.corrupt_what, t.corrupt_n, t.corrupt_off);
    if (t.dirty || t.misaligned || t.short_usable)
        PROBLEM("%lu calloc blocks not zeroed, %lu misaligned, %lu with a short usable size",
                t.dirty, t.misaligned, t.short_usable);
    if (!recovered)
        PROBLEM("after freeing half, a 64 KiB malloc failed (errno %d)", recovered_errno);
    if (!after)
        PROBLEM("after freeing everything, a 1 MiB malloc failed");
}

static int preloaded(void) {
    const char *names[] = {"malloc", "calloc", "realloc", "posix_memalign", "aligned_alloc",
                           "free"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        Dl_info info;
        void *sym = dlsym(RTLD_DEFAULT, names[i]);
        if (!sym || !dladdr(sym, &info) || !info.dli_fname || !strstr(info.dli_fname, "arenapool")) {
            fprintf(stderr, "FAIL: %s does not resolve to libarenapool (is LD_PRELOAD set?)\n",
                    names[i]);
            return 0;
        }
    }
    return 1;
}

int main(int argc, char **argv) {
    int nthreads = argc > 1 ? atoi(argv[1]) : 1;
    int glibc = argc > 2 && strcmp(argv[2], "--glibc") == 0;
    if (nthreads < 1 || nthreads > MAXTHREADS) {
        fprintf(stderr, "usage: oom <threads 1..%d> [--glibc]\n", MAXTHREADS);
        return 2;
    }
    if (!glibc && !preloaded())
        return 1;
    /* stdio's buffers, before any limit. malloc_usable_size(malloc(20)) tells the
       mode: arenapool's secure mode reports the requested size, 20. */
    void *probe = malloc(20);
    printf("oom: %d thread(s), %s, usable(malloc(20))=%zu\n", nthreads,
           glibc ? "system malloc" : "arenapool", malloc_usable_size(probe));
    free(probe);
    fflush(stdout);
    static const size_t headrooms[] = {8, 64, 256};
    for (int k = 0; k < 3; k++)
        phase(nthreads, headrooms[k], 0x5eed + k);
    if (problems)
        return 1;
    printf("oom: done\n");
    return 0;
}
