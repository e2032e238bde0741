/*
 * Conformance of the malloc family to the C, POSIX and glibc rules, run with
 * LD_PRELOAD=libarenapool.so (see tests/preload.rs).
 *
 * Prints one line per check and exits 1 at the first failure, saying what went
 * wrong. `conformance --glibc` runs the same checks against the system allocator
 * (without LD_PRELOAD) to validate the test itself: it skips only the check that
 * the allocator is arenapool's.
 *
 * Build: cc -O2 -pthread -Wall -fno-builtin conformance.c -o conformance -ldl
 * (-fno-builtin keeps the compiler from folding or eliding malloc/free pairs.)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
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

static int glibc_mode;
static int nchecks;

/* ---- reporting ------------------------------------------------------------------ */

static void fail(int line, const char *fmt, ...) {
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "FAIL (conformance.c:%d): ", line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    fflush(stderr);
    exit(1);
}

/* CHECK(cond, "message with %d", args): fails with the message when cond is false. */
#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (!(cond))                                                                       \
            fail(__LINE__, __VA_ARGS__);                                                   \
    } while (0)

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
static double last_ok;

static void ok(const char *fmt, ...) {
    va_list ap;
    double t = now();
    printf("ok %3d %6.0f ms  ", ++nchecks, (t - last_ok) * 1e3);
    last_ok = t;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

/* Values the compiler cannot see through (no constant folding of huge sizes). */
static volatile size_t opaque_sink;
static size_t opaque(size_t x) {
    opaque_sink = x;
    return opaque_sink;
}

/* ---- patterns -------------------------------------------------------------------- */

/* Byte i of the pattern with this seed: byte i % 8 of a 64-bit word that depends on
   the seed and on i / 8, so data copied from a wrong offset never matches. */
static inline uint64_t pat_word(size_t seed, size_t w) {
    uint64_t x = (seed + 1) * 0x9E3779B97F4A7C15ull ^ (w * 0xBF58476D1CE4E5B9ull);
    return x ^ (x >> 31);
}
static inline unsigned char pat(size_t seed, size_t i) {
    return (unsigned char)(pat_word(seed, i / 8) >> (8 * (i % 8)));
}

static void fill(void *p, size_t from, size_t to, size_t seed) {
    unsigned char *b = p;
    size_t i = from;
    for (; i < to && i % 8; i++)
        b[i] = pat(seed, i);
    for (; i + 8 <= to; i += 8) {
        uint64_t w = pat_word(seed, i / 8);
        memcpy(b + i, &w, 8);
    }
    for (; i < to; i++)
        b[i] = pat(seed, i);
}

/* Index of the first byte in [from, to) that does not hold the pattern, or -1. */
static long verify(const void *p, size_t from, size_t to, size_t seed) {
    const unsigned char *b = p;
    size_t i = from;
    for (; i < to && i % 8; i++)
        if (b[i] != pat(seed, i))
            return (long)i;
    for (; i + 8 <= to; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        if (w != pat_word(seed, i / 8))
            break;
    }
    for (; i < to; i++)
        if (b[i] != pat(seed, i))
            return (long)i;
    return -1;
}

static long first_nonzero(const void *p, size_t n) {
    const unsigned char *b = p;
    size_t i = 0;
    for (; i < n && ((uintptr_t)(b + i) & 7); i++)
        if (b[i])
            return (long)i;
    for (; i + 8 <= n; i += 8)
        if (*(const uint64_t *)(b + i))
            break;
    for (; i < n; i++)
        if (b[i])
            return (long)i;
    return -1;
}

static int aligned_to(const void *p, size_t a) { return ((uintptr_t)p & (a - 1)) == 0; }

/* ---- 0. the allocator really is arenapool's ------------------------------------ */

static const char *const family[] = {
    "malloc", "free", "calloc", "realloc", "reallocarray", "posix_memalign", "aligned_alloc",
    "memalign", "valloc", "pvalloc", "malloc_usable_size", "cfree", "free_sized",
    "free_aligned_sized", "__libc_malloc", "__libc_free", "__libc_calloc", "__libc_realloc",
    "__libc_memalign", "__libc_valloc", "__libc_pvalloc", "__posix_memalign",
};

static void check_preloaded(void) {
    if (glibc_mode) {
        printf("--   (glibc mode: not checking that arenapool is preloaded)\n");
        return;
    }
    for (size_t i = 0; i < sizeof family / sizeof family[0]; i++) {
        void *sym = dlsym(RTLD_DEFAULT, family[i]);
        CHECK(sym != NULL, "dlsym(RTLD_DEFAULT, \"%s\") is NULL: not exported", family[i]);
        Dl_info info;
        CHECK(dladdr(sym, &info) != 0 && info.dli_fname != NULL, "dladdr(%s) failed", family[i]);
        CHECK(strstr(info.dli_fname, "arenapool") != NULL,
              "%s resolves to %s, not to libarenapool (%s)", family[i], info.dli_fname,
              i == 0 ? "is LD_PRELOAD set?" : "libarenapool does not export it");
    }
    /* The program's own calls bind to the same functions. */
    CHECK((void *)malloc == dlsym(RTLD_DEFAULT, "malloc"), "malloc in the program is not dlsym's");
    CHECK((void *)free == dlsym(RTLD_DEFAULT, "free"), "free in the program is not dlsym's");
    ok("malloc family (%zu names) resolves to libarenapool", sizeof family / sizeof family[0]);
}

/* ---- 1. out of memory for real (RLIMIT_AS) ------------------------------------- */

static void check_real_oom(void) {
    struct rlimit old, lim;
    CHECK(getrlimit(RLIMIT_AS, &old) == 0, "getrlimit: %s", strerror(errno));
    /* Blocks made before the limit: a small, a pool and a huge one. */
    char *small = malloc(100), *pool = malloc(5 * MiB), *huge = malloc(40 * MiB);
    CHECK(small && pool && huge, "setup allocations failed");
    fill(small, 0, 100, 1);
    fill(pool, 0, 5 * MiB, 2);
    fill(huge, 0, 40 * MiB, 3);
    long vm = status_kib("VmSize");
    CHECK(vm > 0, "no VmSize in /proc/self/status");
    /* 24 MiB of address space left: enough for stdio, not for a new 30 MiB block. */
    lim = old;
    lim.rlim_cur = (rlim_t)vm * 1024 + 24 * MiB;
    CHECK(setrlimit(RLIMIT_AS, &lim) == 0, "setrlimit: %s", strerror(errno));

    size_t big[] = {30 * MiB, 31 * MiB, 64 * MiB, 1024 * MiB};
    int err[32], k = 0;
    void *r[32];
    for (int i = 0; i < 4; i++) {
        size_t n = opaque(big[i]);
        errno = 0; r[k] = malloc(n); err[k++] = errno;
        errno = 0; r[k] = calloc(1, n); err[k++] = errno;
        errno = 0; r[k] = calloc(n / 16, 16); err[k++] = errno;
        errno = 0; r[k] = aligned_alloc(4096, n); err[k++] = errno;
        errno = 0; r[k] = memalign(MiB, n); err[k++] = errno;
        errno = 0; r[k] = valloc(n); err[k++] = errno;
    }
    void *pm = (void *)0x1234;
    int pmr = posix_memalign(&pm, 64, opaque(256 * MiB));
    errno = 0;
    void *rs = realloc(small, opaque(256 * MiB));
    int rs_err = errno;
    errno = 0;
    void *rp = realloc(pool, opaque(256 * MiB));
    int rp_err = errno;
    errno = 0;
    void *rh = realloc(huge, opaque(512 * MiB));
    int rh_err = errno;

    CHECK(setrlimit(RLIMIT_AS, &old) == 0, "restoring RLIMIT_AS: %s", strerror(errno));
    for (int i = 0; i < k; i++)
        CHECK(r[i] == NULL && err[i] == ENOMEM,
              "allocation %d (size %zu MiB, function %d) under RLIMIT_AS: got %p errno %d, "
              "want NULL/ENOMEM", i, big[i / 6] / MiB, i % 6, r[i], err[i]);
    CHECK(pmr == ENOMEM && pm == (void *)0x1234,
          "posix_memalign out of memory: returned %d (want ENOMEM=%d), *memptr %p (want "
          "untouched 0x1234)", pmr, ENOMEM, pm);
    CHECK(rs == NULL && rs_err == ENOMEM, "realloc(small, 256 MiB) under limit: %p errno %d", rs, rs_err);
    CHECK(rp == NULL && rp_err == ENOMEM, "realloc(pool, 256 MiB) under limit: %p errno %d", rp, rp_err);
    CHECK(rh == NULL && rh_err == ENOMEM, "realloc(huge, 512 MiB) under limit: %p errno %d", rh, rh_err);
    long b;
    CHECK((b = verify(small, 0, 100, 1)) < 0, "small block corrupted by failed realloc at %ld", b);
    CHECK((b = verify(pool, 0, 5 * MiB, 2)) < 0, "pool block corrupted by failed realloc at %ld", b);
    CHECK((b = verify(huge, 0, 40 * MiB, 3)) < 0, "huge block corrupted by failed realloc at %ld", b);
    free(small);
    free(pool);
    free(huge);
    /* The limit is gone: big requests work again. */
    char *again = malloc(opaque(300 * MiB));
    CHECK(again != NULL, "malloc(300 MiB) fails after RLIMIT_AS was restored");
    again[0] = 1;
    again[300 * MiB - 1] = 2;
    free(again);
    ok("real out-of-memory (RLIMIT_AS): malloc/calloc/aligned_alloc/memalign/valloc -> "
       "NULL+ENOMEM, posix_memalign -> ENOMEM (*memptr untouched), failed realloc keeps the block");
}

/* ---- 2. malloc(0), basic alignment ---------------------------------------------- */

static int cmp_ptr(const void *a, const void *b) {
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

static void check_malloc0(void) {
    enum { N = 1000 };
    static void *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = malloc(opaque(0));
        CHECK(p[i] != NULL, "malloc(0) returned NULL (call %d)", i);
        CHECK(aligned_to(p[i], 16), "malloc(0) = %p is not 16-byte aligned", p[i]);
    }
    qsort(p, N, sizeof p[0], cmp_ptr);
    for (int i = 1; i < N; i++)
        CHECK(p[i] != p[i - 1], "malloc(0) returned %p twice while both live", p[i]);
    for (int i = 0; i < N; i++)
        free(p[i]);
    void *c = calloc(0, 0), *r = realloc(NULL, 0);
    CHECK(c != NULL && r != NULL && c != r, "calloc(0,0)=%p realloc(NULL,0)=%p", c, r);
    free(c);
    free(r);
    ok("malloc(0) x%d: unique, non-NULL, 16-aligned, accepted by free; calloc(0,0), "
       "realloc(NULL,0) non-NULL", N);
}

static void check_alignment_of_malloc(void) {
    for (size_t n = 0; n <= 5000; n++) {
        void *p = malloc(n);
        CHECK(p && aligned_to(p, 16), "malloc(%zu) = %p: not 16-byte aligned", n, p);
        void *q = calloc(1, n);
        CHECK(q && aligned_to(q, 16), "calloc(1, %zu) = %p: not 16-byte aligned", n, q);
        free(p);
        free(q);
    }
    size_t big[] = {64 * KiB - 8, 64 * KiB, 100 * KiB, MiB, 32 * MiB - 1, 32 * MiB, 33 * MiB};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        void *p = malloc(big[i]);
        CHECK(p && aligned_to(p, 16), "malloc(%zu) = %p: not 16-byte aligned", big[i], p);
        free(p);
    }
    ok("malloc/calloc results are 16-byte aligned (sizes 0..5000 and 64 KiB..33 MiB)");
}

/* ---- 3. overflow and impossible sizes -------------------------------------------- */

static void check_overflow_and_huge(void) {
    struct {
        size_t n, s;
    } ov[] = {
        {SIZE_MAX, 2}, {2, SIZE_MAX}, {SIZE_MAX / 2 + 1, 2}, {(size_t)1 << 32, (size_t)1 << 32},
        {SIZE_MAX, SIZE_MAX}, {((size_t)1 << 62) + 1, 4}, {3, SIZE_MAX / 3 + 1},
    };
    for (size_t i = 0; i < sizeof ov / sizeof ov[0]; i++) {
        errno = 0;
        void *p = calloc(opaque(ov[i].n), opaque(ov[i].s));
        int e = errno;
        CHECK(p == NULL && e == ENOMEM, "calloc(%zu, %zu) overflows: got %p errno %d, want NULL/ENOMEM",
              ov[i].n, ov[i].s, p, e);
        char *q = malloc(16);
        memset(q, 0x5a, 16);
        errno = 0;
        void *r = reallocarray(q, opaque(ov[i].n), opaque(ov[i].s));
        e = errno;
        CHECK(r == NULL && e == ENOMEM,
              "reallocarray(p, %zu, %zu) overflows: got %p errno %d, want NULL/ENOMEM", ov[i].n,
              ov[i].s, r, e);
        for (int j = 0; j < 16; j++)
            CHECK(q[j] == 0x5a, "reallocarray overflow damaged the block");
        free(q);
        errno = 0;
        r = reallocarray(NULL, opaque(ov[i].n), opaque(ov[i].s));
        e = errno;
        CHECK(r == NULL && e == ENOMEM, "reallocarray(NULL, %zu, %zu): %p errno %d", ov[i].n, ov[i].s, r, e);
    }
    ok("calloc and reallocarray overflow -> NULL + ENOMEM (block kept)");

    char *q = reallocarray(NULL, 10, 100);
    CHECK(q != NULL, "reallocarray(NULL, 10, 100) failed");
    fill(q, 0, 1000, 9);
    q = reallocarray(q, 1000, 100);
    CHECK(q != NULL && verify(q, 0, 1000, 9) < 0, "reallocarray grow lost contents");
    free(q);
    ok("reallocarray without overflow works like realloc");

    size_t huge[] = {SIZE_MAX, SIZE_MAX - 4095, SIZE_MAX / 2, SIZE_MAX / 2 + 1, (size_t)1 << 62,
                     ((size_t)1 << 63) - 4096};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        size_t n = opaque(huge[i]);
        void *p;
        int e;
#define EXPECT_NOMEM(call)                                                                 \
    do {                                                                                   \
        errno = 0;                                                                         \
        p = (call);                                                                        \
        e = errno;                                                                         \
        CHECK(p == NULL && e == ENOMEM, "%s with n=%#zx: got %p errno %d, want NULL/ENOMEM", \
              #call, n, p, e);                                                             \
    } while (0)
        EXPECT_NOMEM(malloc(n));
        EXPECT_NOMEM(calloc(1, n));
        EXPECT_NOMEM(calloc(n, 1));
        EXPECT_NOMEM(realloc(NULL, n));
        EXPECT_NOMEM(aligned_alloc(16, n));
        EXPECT_NOMEM(aligned_alloc(64, n));
        EXPECT_NOMEM(aligned_alloc(4096, n));
        EXPECT_NOMEM(aligned_alloc(2 * MiB, n));
        EXPECT_NOMEM(memalign(16, n));
        EXPECT_NOMEM(memalign(256, n));
        EXPECT_NOMEM(valloc(n));
        EXPECT_NOMEM(pvalloc(n));
        void *pm = (void *)0x5678;
        int r = posix_memalign(&pm, 16, n);
        CHECK(r == ENOMEM && pm == (void *)0x5678,
              "posix_memalign(16, %#zx) = %d (want ENOMEM), *memptr %p (want untouched)", n, r, pm);
        r = posix_memalign(&pm, 8192, n);
        CHECK(r == ENOMEM && pm == (void *)0x5678,
              "posix_memalign(8192, %#zx) = %d (want ENOMEM), *memptr %p (want untouched)", n, r, pm);
        /* realloc of every kind of block to an impossible size keeps it intact */
        size_t kinds[] = {24, 2000, 60 * KiB, 200 * KiB, 33 * MiB};
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            char *b = malloc(kinds[k]);
            CHECK(b != NULL, "malloc(%zu) failed", kinds[k]);
            fill(b, 0, kinds[k], k + i);
            EXPECT_NOMEM(realloc(b, n));
            long bad = verify(b, 0, kinds[k], k + i);
            CHECK(bad < 0, "failed realloc(%zu-byte block, %#zx) changed byte %ld", kinds[k], n, bad);
            CHECK(malloc_usable_size(b) >= kinds[k], "failed realloc shrank the block");
            free(b);
        }
    }
    ok("huge sizes (SIZE_MAX, SIZE_MAX/2, 2^62, ...) -> NULL + ENOMEM for malloc/calloc/realloc/"
       "aligned_alloc/memalign/valloc/pvalloc, posix_memalign -> ENOMEM (*memptr untouched), "
       "failed realloc keeps small/medium/pool/huge blocks intact");
}

/* ---- 4. alignment arguments -------------------------------------------------------- */

static void check_bad_alignments(void) {
    size_t bad[] = {0, 1, 2, 3, 4, 5, 6, 7, 12, 24, 48, 96, 100, 4097, 3 * 4096, SIZE_MAX,
                    SIZE_MAX / 2, (SIZE_MAX / 2) + 2};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (size_t n = 0; n <= 4096; n += 1024) {
            void *p = (void *)0xdead;
            errno = 1234;
            int r = posix_memalign(&p, opaque(bad[i]), n);
            CHECK(r == EINVAL, "posix_memalign(align %zu, %zu) = %d, want EINVAL (%d)", bad[i], n, r, EINVAL);
            CHECK(p == (void *)0xdead, "posix_memalign(align %zu) failed but wrote *memptr = %p", bad[i], p);
        }
    }
    ok("posix_memalign: alignment 0, 1, 2, 3, 4, 12, 24, 48, 100, 4097, SIZE_MAX ... -> EINVAL, "
       "*memptr untouched");
    size_t good[] = {8, 16, 32, 4096};
    for (size_t i = 0; i < 4; i++) {
        void *p = NULL;
        CHECK(posix_memalign(&p, good[i], 10) == 0 && p && aligned_to(p, good[i]),
              "posix_memalign(%zu, 10) failed", good[i]);
        free(p);
    }
    ok("posix_memalign accepts alignment 8 (sizeof(void *))");

    /* C11 (DR 460) and glibc >= 2.38; glibc 2.36's aligned_alloc is memalign, so
       --glibc skips this one. */
    size_t nonpow2[] = {0, 3, 5, 6, 12, 24, 48, 100, 4097, 3 * 4096, SIZE_MAX};
    for (size_t i = 0; !glibc_mode && i < sizeof nonpow2 / sizeof nonpow2[0]; i++) {
        errno = 0;
        void *p = aligned_alloc(opaque(nonpow2[i]), 64);
        int e = errno;
        CHECK(p == NULL && e == EINVAL, "aligned_alloc(%zu, 64) = %p errno %d, want NULL/EINVAL",
              nonpow2[i], p, e);
    }
    if (glibc_mode)
        printf("--   (glibc mode: not checking aligned_alloc's EINVAL, which glibc < 2.38 lacks)\n");
    else
        ok("aligned_alloc: alignment 0, 3, 12, 24, 100, 4097, SIZE_MAX ... -> NULL + EINVAL");
    size_t small_pow2[] = {1, 2, 4, 8};
    for (size_t i = 0; i < 4; i++) {
        void *p = aligned_alloc(small_pow2[i], 100);
        CHECK(p != NULL, "aligned_alloc(%zu, 100) failed", small_pow2[i]);
        free(p);
        p = memalign(small_pow2[i], 100);
        CHECK(p != NULL, "memalign(%zu, 100) failed", small_pow2[i]);
        free(p);
    }
    /* glibc's memalign rounds an alignment that is not a power of two up to one. */
    size_t odd[] = {3, 24, 48, 100, 1000, 5000};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        size_t want = 1;
        while (want < odd[i])
            want <<= 1;
        void *p = memalign(opaque(odd[i]), 100);
        CHECK(p != NULL && aligned_to(p, want), "memalign(%zu, 100) = %p, want %zu-aligned", odd[i], p, want);
        free(p);
    }
    ok("aligned_alloc/memalign accept alignments 1..8; memalign rounds 3, 24, 100, 5000 up to a "
       "power of two");
}

static void check_alignment_sweep(void) {
    static const size_t sizes[] = {1, 100, 5000, 100000, 3 * MiB};
    enum { NS = sizeof sizes / sizeof sizes[0] };
    int count = 0;
    for (size_t a = 16; a <= 64 * MiB; a <<= 1) {
        void *p[3][NS];
        for (int s = 0; s < NS; s++) {
            size_t n = sizes[s];
            int r = posix_memalign(&p[0][s], a, n);
            CHECK(r == 0 && p[0][s], "posix_memalign(&p, %zu, %zu) = %d", a, n, r);
            errno = 0;
            p[1][s] = aligned_alloc(a, n);
            CHECK(p[1][s], "aligned_alloc(%zu, %zu) = NULL errno %d", a, n, errno);
            p[2][s] = memalign(a, n);
            CHECK(p[2][s], "memalign(%zu, %zu) = NULL errno %d", a, n, errno);
            for (int f = 0; f < 3; f++) {
                CHECK(aligned_to(p[f][s], a), "%s(%zu, %zu) = %p: not aligned",
                      f == 0 ? "posix_memalign" : f == 1 ? "aligned_alloc" : "memalign", a, n, p[f][s]);
                CHECK(malloc_usable_size(p[f][s]) >= n, "usable size %zu < %zu (align %zu)",
                      malloc_usable_size(p[f][s]), n, a);
                fill(p[f][s], 0, n, a + n + f);
                count++;
            }
        }
        /* All live at once: no block overlaps another. */
        for (int s = 0; s < NS; s++)
            for (int f = 0; f < 3; f++) {
                long bad = verify(p[f][s], 0, sizes[s], a + sizes[s] + f);
                CHECK(bad < 0, "aligned block (align %zu, size %zu, fn %d) overwritten at %ld", a,
                      sizes[s], f, bad);
            }
        for (int s = 0; s < NS; s++)
            for (int f = 0; f < 3; f++)
                free(p[f][s]);
    }
    ok("posix_memalign/aligned_alloc/memalign, every alignment 16 B .. 64 MiB x sizes 1, 100, "
       "5000, 100000, 3 MiB: aligned, usable >= size, writable, disjoint (%d blocks)", count);
}

static void check_valloc(void) {
    long page = sysconf(_SC_PAGESIZE);
    size_t sizes[] = {0, 1, 100, 4095, 4096, 4097, 100000, 3 * MiB, 40 * MiB};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        char *v = valloc(n);
        CHECK(v && aligned_to(v, page), "valloc(%zu) = %p: not page-aligned", n, v);
        memset(v, 0xaa, n);
        char *pv = pvalloc(n);
        CHECK(pv && aligned_to(pv, page), "pvalloc(%zu) = %p: not page-aligned", n, pv);
        size_t rounded = (n + page - 1) / page * page; /* glibc: pvalloc(0) need not give a page */
        CHECK(malloc_usable_size(pv) >= rounded, "pvalloc(%zu): usable %zu < %zu", n,
              malloc_usable_size(pv), rounded);
        memset(pv, 0xbb, rounded);
        free(v);
        free(pv);
    }
    ok("valloc/pvalloc: page-aligned, pvalloc usable size rounded up to whole pages");
}

/* ---- 5. realloc ----------------------------------------------------------------- */

static void check_realloc_basics(void) {
    char *p = realloc(NULL, 100);
    CHECK(p != NULL, "realloc(NULL, 100) = NULL");
    CHECK(malloc_usable_size(p) >= 100, "realloc(NULL, 100): usable %zu", malloc_usable_size(p));
    fill(p, 0, 100, 5);
    free(p);
    ok("realloc(NULL, n) allocates like malloc(n)");

    /* realloc(p, 0) frees p and returns NULL (glibc): leaking would grow VmSize by 2 GiB. */
    long before = status_kib("VmSize");
    size_t kinds[] = {1, 1000, 50 * KiB, MiB};
    for (int i = 0; i < 2000; i++) {
        size_t n = kinds[i % 4];
        char *b = malloc(n);
        CHECK(b != NULL, "malloc(%zu)", n);
        b[0] = 1;
        b[n - 1] = 2;
        void *r = realloc(b, 0);
        CHECK(r == NULL, "realloc(%zu-byte block, 0) = %p, want NULL (the block is freed)", n, r);
    }
    long after = status_kib("VmSize");
    CHECK(after - before < 256 * 1024, "realloc(p, 0) seems to leak: VmSize %ld -> %ld KiB", before, after);
    ok("realloc(p, 0) frees p and returns NULL (VmSize %ld -> %ld KiB over 2000 calls)", before, after);
}

/* Sizes crossing every boundary: cache classes, arena chunks (64 KiB), pool blocks,
   huge blocks (32 MiB). */
static const size_t ladder[] = {
    1, 7, 8, 9, 15, 16, 17, 24, 25, 31, 32, 33, 40, 48, 100, 127, 128, 129, 255, 256, 500,
    1000, 1008, 1009, 1016, 1017, 1024, 1025, 2000, 4095, 4096, 4097, 8000, 16 * KiB, 32 * KiB,
    65000, 64 * KiB - 9, 64 * KiB - 8, 64 * KiB - 7, 64 * KiB, 64 * KiB + 1, 100 * KiB, 256 * KiB,
    MiB, 4 * MiB, 8 * MiB + 3, 16 * MiB, 32 * MiB - 17, 32 * MiB - 1, 32 * MiB, 32 * MiB + 1,
    33 * MiB, 48 * MiB, 64 * MiB,
};
enum { NLADDER = sizeof ladder / sizeof ladder[0] };

static char *realloc_checked(char *p, size_t old, size_t n, size_t seed) {
    char *q = realloc(p, n);
    CHECK(q != NULL, "realloc(%zu -> %zu) returned NULL", old, n);
    CHECK(aligned_to(q, 16), "realloc(%zu -> %zu) = %p not 16-aligned", old, n, q);
    CHECK(malloc_usable_size(q) >= n, "realloc to %zu: usable %zu", n, malloc_usable_size(q));
    size_t keep = old < n ? old : n;
    long bad = verify(q, 0, keep, seed);
    CHECK(bad < 0, "realloc(%zu -> %zu) (%p -> %p) lost contents at byte %ld", old, n, (void *)p,
          (void *)q, bad);
    fill(q, keep, n, seed);
    return q;
}

static void check_realloc_ladder(void) {
    /* Up the ladder and down again, with and without a neighbour block pinned
       after each step (which defeats growing in place). */
    for (int pinned = 0; pinned < 2; pinned++) {
        char *p = malloc(ladder[0]);
        fill(p, 0, ladder[0], 77);
        size_t cur = ladder[0];
        void *pins[2 * NLADDER];
        int np = 0;
        for (int i = 1; i < NLADDER; i++) {
            p = realloc_checked(p, cur, ladder[i], 77);
            cur = ladder[i];
            if (pinned)
                pins[np++] = malloc(cur < 256 * KiB ? cur : 64);
        }
        for (int i = NLADDER - 2; i >= 0; i--) {
            p = realloc_checked(p, cur, ladder[i], 77);
            cur = ladder[i];
            if (pinned)
                pins[np++] = malloc(cur < 256 * KiB ? cur : 64);
        }
        free(p);
        for (int i = 0; i < np; i++)
            free(pins[i]);
    }
    /* Every jump between two ladder sizes below 200 KiB, both directions. */
    int jumps = 0;
    for (int i = 0; i < NLADDER && ladder[i] < 200 * KiB; i++)
        for (int j = 0; j < NLADDER && ladder[j] < 200 * KiB; j++) {
            char *p = malloc(ladder[i]);
            fill(p, 0, ladder[i], i * 100 + j);
            p = realloc_checked(p, ladder[i], ladder[j], i * 100 + j);
            free(p);
            jumps++;
        }
    /* Big jumps across the pool/huge boundaries. */
    size_t bigs[] = {100, 70 * KiB, 3 * MiB, 32 * MiB - 1, 32 * MiB, 40 * MiB};
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) {
            char *p = malloc(bigs[i]);
            fill(p, 0, bigs[i], i + j);
            p = realloc_checked(p, bigs[i], bigs[j], i + j);
            free(p);
            jumps++;
        }
    ok("realloc keeps contents up and down a ladder of %d sizes 1 B .. 64 MiB (small, medium, "
       "pool, huge; with and without pinned neighbours) and across %d size jumps",
       NLADDER, jumps);
}

static uint64_t rng_state = 0x243F6A8885A308D3ull;
static uint64_t rnd(void) {
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}
/* Log-uniform size in [1, max]. */
static size_t rnd_size(size_t max) {
    int bits = 0;
    while (((size_t)1 << bits) < max)
        bits++;
    size_t n = (size_t)1 << (rnd() % (bits + 1));
    n += rnd() % n;
    return n > max ? max : n;
}

static void check_realloc_random(void) {
    enum { N = 64 };
    char *p[N] = {0};
    size_t sz[N] = {0};
    for (int step = 0; step < 10000; step++) {
        int i = rnd() % N;
        size_t n = rnd_size(step % 50 == 0 ? 40 * MiB : 300 * KiB);
        if (p[i] == NULL) {
            p[i] = malloc(n);
            CHECK(p[i], "malloc(%zu)", n);
            fill(p[i], 0, n, i);
        } else {
            p[i] = realloc_checked(p[i], sz[i], n, i);
        }
        sz[i] = n;
        if (rnd() % 7 == 0) {
            long bad = verify(p[i], 0, sz[i], i);
            CHECK(bad < 0, "block %d (%zu B) corrupted at %ld", i, sz[i], bad);
            free(p[i]);
            p[i] = NULL;
        }
    }
    for (int i = 0; i < N; i++) {
        if (p[i]) {
            long bad = verify(p[i], 0, sz[i], i);
            CHECK(bad < 0, "block %d (%zu B) corrupted at %ld", i, sz[i], bad);
        }
        free(p[i]);
    }
    ok("realloc random walk: 10000 steps over 64 live blocks, 1 B .. 40 MiB, contents kept");
}

/* ---- 6. free ----------------------------------------------------------------------- */

static void *alloc_in_thread(void *arg) {
    size_t n = (size_t)arg;
    void **v = malloc(64 * sizeof *v);
    for (int i = 0; i < 64; i++)
        v[i] = malloc(n + i);
    return v;
}

static void *free_in_thread(void *arg) {
    void **v = arg;
    errno = 4242;
    for (int i = 0; i < 64; i++) {
        free(v[i]);
        if (errno != 4242)
            return (void *)1;
    }
    return NULL;
}

static void check_free(void) {
    for (int i = 0; i < 1000; i++)
        free(NULL);
    errno = 777;
    free(NULL);
    CHECK(errno == 777, "free(NULL) changed errno to %d", errno);
    ok("free(NULL) is a no-op");

    /* free never changes errno: every kind of block, in batches that overflow the
       thread cache, pool blocks that make the pool give memory back, huge blocks
       (munmap), aligned blocks, and blocks of another (live or exited) thread. */
    size_t kinds[] = {0, 8, 24, 500, 1000, 1024, 4000, 60 * KiB, 64 * KiB, 100 * KiB, 2 * MiB,
                      31 * MiB, 32 * MiB, 50 * MiB};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        int n = kinds[k] < MiB ? 600 : 12;
        void **v = malloc(n * sizeof *v);
        for (int i = 0; i < n; i++) {
            v[i] = malloc(kinds[k]);
            CHECK(v[i] || kinds[k] == 0, "malloc(%zu)", kinds[k]);
            if (kinds[k])
                ((char *)v[i])[0] = 1;
        }
        for (int i = 0; i < n; i++) {
            errno = 12345;
            free(v[i]);
            CHECK(errno == 12345, "free of a %zu-byte block changed errno to %d (%s)", kinds[k],
                  errno, strerror(errno));
        }
        free(v);
    }
    for (size_t a = 32; a <= 4 * MiB; a <<= 2) {
        void *p = aligned_alloc(a, a * 3);
        errno = 12345;
        free(p);
        CHECK(errno == 12345, "free of an aligned_alloc(%zu) block changed errno to %d", a, errno);
    }
    /* Cross-thread: blocks made by a thread that then exits, freed here. */
    for (size_t n = 16; n <= 256 * KiB; n *= 4) {
        pthread_t t;
        void *v;
        pthread_create(&t, NULL, alloc_in_thread, (void *)n);
        pthread_join(t, &v);
        errno = 12345;
        for (int i = 0; i < 64; i++) {
            free(((void **)v)[i]);
            CHECK(errno == 12345, "cross-thread free (exited owner, %zu B) changed errno to %d", n, errno);
        }
        free(v);
        CHECK(errno == 12345, "free changed errno to %d", errno);
        /* Blocks made here, freed by another thread. */
        v = alloc_in_thread((void *)n);
        void *res;
        pthread_create(&t, NULL, free_in_thread, v);
        pthread_join(t, &res);
        CHECK(res == NULL, "free in another thread changed errno (size %zu)", n);
        free(v);
    }
    ok("free never changes errno (errno 12345 kept across small, medium, pool, huge, aligned "
       "and cross-thread frees)");
}

/* ---- 7. malloc_usable_size ---------------------------------------------------------- */

static void check_usable_size(void) {
    CHECK(malloc_usable_size(NULL) == 0, "malloc_usable_size(NULL) = %zu", malloc_usable_size(NULL));
    enum { N = 3000 };
    static char *p[N];
    static size_t req[N], use[N];
    for (int i = 0; i < N; i++) {
        req[i] = i < 2000 ? (size_t)i : rnd_size(i < 2990 ? 200 * KiB : 40 * MiB);
        p[i] = malloc(req[i]);
        CHECK(p[i], "malloc(%zu)", req[i]);
        use[i] = malloc_usable_size(p[i]);
        CHECK(use[i] >= req[i], "malloc_usable_size = %zu < requested %zu", use[i], req[i]);
        fill(p[i], 0, use[i], i);
    }
    /* Churn: other allocations and frees around them. */
    for (int r = 0; r < 20000; r++) {
        size_t n = rnd_size(70 * KiB);
        char *q = malloc(n);
        memset(q, 0xee, n);
        if (r % 3)
            free(q);
    }
    for (int i = 0; i < N; i += 2) {
        long bad = verify(p[i], 0, use[i], i);
        CHECK(bad < 0, "block of %zu B (usable %zu) corrupted at %ld", req[i], use[i], bad);
        free(p[i]);
    }
    for (int r = 0; r < 5000; r++) {
        size_t n = rnd_size(8 * KiB);
        char *q = malloc(n);
        memset(q, 0xdd, malloc_usable_size(q));
        free(q);
    }
    for (int i = 1; i < N; i += 2) {
        long bad = verify(p[i], 0, use[i], i);
        CHECK(bad < 0, "block of %zu B (usable %zu) corrupted at %ld", req[i], use[i], bad);
        free(p[i]);
    }
    /* aligned blocks too */
    for (size_t a = 32; a <= MiB; a <<= 1) {
        char *q = aligned_alloc(a, 100);
        size_t u = malloc_usable_size(q);
        CHECK(u >= 100, "usable size of aligned_alloc(%zu, 100) = %zu", a, u);
        char *r = malloc(100);
        memset(r, 0x11, 100);
        memset(q, 0x22, u);
        for (int j = 0; j < 100; j++)
            CHECK(r[j] == 0x11, "filling the usable size of aligned_alloc(%zu) overwrote a neighbour", a);
        free(q);
        free(r);
    }
    ok("malloc_usable_size(NULL) == 0; >= request for %d blocks (0 B .. 40 MiB); writing all "
       "usable bytes is safe across churn", N);
}

/* ---- 8. calloc zeroes ------------------------------------------------------------- */

static void check_calloc(void) {
    size_t sizes[] = {1, 8, 24, 100, 500, 1000, 1016, 1024, 1500, 4000, 16 * KiB, 60 * KiB,
                      64 * KiB - 8, 64 * KiB, 65 * KiB, 200 * KiB, MiB, 5 * MiB, 31 * MiB,
                      32 * MiB, 40 * MiB};
    int total = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        int reps = n <= 64 * KiB ? 200 : n <= 5 * MiB ? 20 : 4;
        for (int r = 0; r < reps; r++) {
            /* Dirty memory of this size (and of a batch around it) goes back first. */
            int batch = n <= 4 * KiB ? 16 : 2;
            void *d[16];
            for (int b = 0; b < batch; b++) {
                d[b] = malloc(n);
                CHECK(d[b], "malloc(%zu)", n);
                memset(d[b], 0xff, malloc_usable_size(d[b]));
            }
            for (int b = 0; b < batch; b++)
                free(d[b]);
            for (int b = 0; b < batch; b++) {
                d[b] = (r & 1) ? calloc(n, 1) : calloc(1, n);
                CHECK(d[b], "calloc(%zu)", n);
                long nz = first_nonzero(d[b], n);
                CHECK(nz < 0, "calloc(%zu) (rep %d) returned dirty memory: byte %ld is %#x", n, r,
                      nz, ((unsigned char *)d[b])[nz]);
                total++;
            }
            for (int b = 0; b < batch; b++) {
                memset(d[b], 0xff, n);
                free(d[b]);
            }
        }
        /* element-count shaped calls */
        if (n % 8 == 0) {
            char *c = calloc(n / 8, 8);
            CHECK(c && first_nonzero(c, n) < 0, "calloc(%zu, 8) not zeroed", n / 8);
            free(c);
        }
    }
    /* Mixed: random sizes, dirty frees, calloc of random sizes. */
    for (int r = 0; r < 3000; r++) {
        size_t n = rnd_size(r % 100 == 0 ? 36 * MiB : 150 * KiB);
        char *c = calloc(1, n);
        long nz = first_nonzero(c, n);
        CHECK(nz < 0, "calloc(%zu) returned dirty memory at byte %ld", n, nz);
        memset(c, 0xab, n);
        free(c);
        total++;
    }
    ok("calloc returns zeroed memory, fresh and after reuse of dirty memory (%d calls, 1 B .. "
       "40 MiB: small, medium, pool, huge)", total);
}

/* ---- 9. other names ---------------------------------------------------------------- */

typedef void *(*malloc_fn)(size_t);
typedef void (*free_fn)(void *);
typedef void *(*calloc_fn)(size_t, size_t);
typedef void *(*realloc_fn)(void *, size_t);
typedef void *(*memalign_fn)(size_t, size_t);
typedef int (*posix_memalign_fn)(void **, size_t, size_t);
typedef void (*free_sized_fn)(void *, size_t);
typedef void (*free_aligned_sized_fn)(void *, size_t, size_t);

static void *sym(const char *name) {
    void *s = dlsym(RTLD_DEFAULT, name);
    CHECK(s != NULL, "dlsym(RTLD_DEFAULT, \"%s\") = NULL", name);
    return s;
}

static void check_sized_frees(void) {
    if (glibc_mode && dlsym(RTLD_DEFAULT, "free_sized") == NULL) {
        printf("--   (glibc mode: this glibc has no free_sized/free_aligned_sized)\n");
    } else {
        free_sized_fn fs = (free_sized_fn)sym("free_sized");
        free_aligned_sized_fn fas = (free_aligned_sized_fn)sym("free_aligned_sized");
        size_t sizes[] = {1, 100, 5000, 100 * KiB, 40 * MiB};
        for (int i = 0; i < 5; i++) {
            for (int r = 0; r < 100; r++) {
                void *p = malloc(sizes[i]);
                errno = 999;
                fs(p, sizes[i]);
                CHECK(errno == 999, "free_sized changed errno");
                p = aligned_alloc(64, sizes[i]);
                fas(p, 64, sizes[i]);
                p = aligned_alloc(8192, sizes[i]);
                fas(p, 8192, sizes[i]);
                if (sizes[i] > MiB)
                    break;
            }
        }
        fs(NULL, 0);
        fas(NULL, 64, 0);
        ok("free_sized / free_aligned_sized accept malloc / aligned_alloc blocks and NULL");
    }
    free_fn cf = (free_fn)dlsym(RTLD_DEFAULT, "cfree");
    if (cf == NULL && glibc_mode) {
        printf("--   (glibc mode: no cfree)\n");
        return;
    }
    CHECK(cf != NULL, "cfree is not exported");
    for (int r = 0; r < 1000; r++)
        cf(malloc(r * 37));
    cf(NULL);
    ok("cfree accepts malloc blocks and NULL");
}

static int same_or_ours(void *a, const char *name) {
    if (a == dlsym(RTLD_DEFAULT, name + (name[2] == 'p' ? 2 : 7)))
        return 1;
    Dl_info info;
    return dladdr(a, &info) && info.dli_fname && strstr(info.dli_fname, "arenapool");
}

static void check_libc_names(void) {
    malloc_fn lm = (malloc_fn)sym("__libc_malloc");
    free_fn lf = (free_fn)sym("__libc_free");
    calloc_fn lc = (calloc_fn)sym("__libc_calloc");
    realloc_fn lr = (realloc_fn)sym("__libc_realloc");
    memalign_fn lma = (memalign_fn)sym("__libc_memalign");
    malloc_fn lva = (malloc_fn)sym("__libc_valloc");
    malloc_fn lpva = (malloc_fn)sym("__libc_pvalloc");
    posix_memalign_fn lpm = (posix_memalign_fn)dlsym(RTLD_DEFAULT, "__posix_memalign");
    if (lpm == NULL && glibc_mode) /* glibc has no __posix_memalign */
        lpm = posix_memalign;
    CHECK(lpm != NULL, "dlsym(RTLD_DEFAULT, \"__posix_memalign\") = NULL");
    if (!glibc_mode) {
        const char *names[] = {"__libc_malloc", "__libc_free", "__libc_calloc", "__libc_realloc",
                               "__libc_memalign", "__libc_valloc", "__libc_pvalloc",
                               "__posix_memalign"};
        for (int i = 0; i < 8; i++)
            CHECK(same_or_ours(sym(names[i]), names[i]), "%s is neither the preloaded function "
                  "nor in libarenapool", names[i]);
    }
    /* They interoperate with the public names in every direction. */
    for (int r = 0; r < 200; r++) {
        size_t n = rnd_size(r % 20 == 0 ? 40 * MiB : 100 * KiB);
        char *a = lm(n);
        CHECK(a, "__libc_malloc(%zu)", n);
        fill(a, 0, n, r);
        a = realloc(a, n + 100);
        CHECK(a && verify(a, 0, n, r) < 0, "realloc of a __libc_malloc block lost contents");
        lf(a);
        char *b = malloc(n);
        fill(b, 0, n, r);
        b = lr(b, n * 2 + 1);
        CHECK(b && verify(b, 0, n, r) < 0, "__libc_realloc lost contents");
        free(b);
        char *c = lc(n, 1);
        CHECK(c && first_nonzero(c, n) < 0, "__libc_calloc(%zu, 1) not zeroed", n);
        lf(c);
        void *d = lma(256, n);
        CHECK(d && aligned_to(d, 256), "__libc_memalign(256, %zu) = %p", n, d);
        free(d);
        void *e = (void *)0x77;
        CHECK(lpm(&e, 4096, n) == 0 && aligned_to(e, 4096), "__posix_memalign(4096, %zu)", n);
        lf(e);
        e = (void *)0x77;
        CHECK(lpm(&e, 24, n) == EINVAL && e == (void *)0x77, "__posix_memalign(24) not EINVAL");
        /* blocks of __libc_valloc/__libc_pvalloc go to free (glibc's would crash it) */
        char *v = lva(n);
        CHECK(v && aligned_to(v, 4096), "__libc_valloc(%zu) = %p", n, (void *)v);
        memset(v, 1, n);
        free(v);
        v = lpva(n);
        CHECK(v && aligned_to(v, 4096) && malloc_usable_size(v) >= n, "__libc_pvalloc(%zu)", n);
        memset(v, 1, n);
        lf(v);
    }
    lf(NULL);
    ok("__libc_malloc/free/calloc/realloc/memalign/valloc/pvalloc and __posix_memalign "
       "resolve%s and interoperate with malloc/free/realloc", glibc_mode ? "" : " to arenapool");
}

/* ---- 10. threads ------------------------------------------------------------------ */

struct pingpong {
    char *volatile slot[64];
};

static void *pp_worker(void *arg) {
    struct pingpong *pp = arg;
    for (int r = 0; r < 20000; r++) {
        int i = r % 64;
        size_t n = 16 + (r * 37) % 3000;
        char *p = malloc(n);
        memcpy(p, &n, sizeof n);
        fill(p, sizeof n, n, n);
        char *old = __atomic_exchange_n(&pp->slot[i], p, __ATOMIC_ACQ_REL);
        if (old) {
            size_t on;
            memcpy(&on, old, sizeof on);
            if (on < 16 || on > 3100 || verify(old, sizeof on, on, on) >= 0)
                return (void *)1;
            free(old);
        }
    }
    return NULL;
}

static void check_threads(void) {
    struct pingpong pp;
    memset(&pp, 0, sizeof pp);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, pp_worker, &pp) == 0, "pthread_create");
    for (int i = 0; i < 4; i++) {
        void *res;
        pthread_join(t[i], &res);
        CHECK(res == NULL, "a block traded between threads was corrupted");
    }
    for (int i = 0; i < 64; i++)
        free(pp.slot[i]);
    ok("4 threads trading 80000 blocks through shared slots (cross-thread frees)");
}

int main(int argc, char **argv) {
    glibc_mode = argc > 1 && strcmp(argv[1], "--glibc") == 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    last_ok = now();
    printf("conformance: %s\n", glibc_mode ? "system allocator (--glibc)" : "arenapool via LD_PRELOAD");
    check_preloaded();
    check_real_oom();
    check_malloc0();
    check_alignment_of_malloc();
    check_overflow_and_huge();
    check_bad_alignments();
    check_alignment_sweep();
    check_valloc();
    check_realloc_basics();
    check_realloc_ladder();
    check_realloc_random();
    check_free();
    check_usable_size();
    check_calloc();
    check_sized_frees();
    check_libc_names();
    check_threads();
    printf("conformance: all %d checks passed\n", nchecks);
    return 0;
}
