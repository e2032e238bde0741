/* Sizes on every boundary of arenapool's size classes, moved across all the
 * others with realloc, plain and over-aligned: contents kept, usable size at
 * least the request, alignment kept by posix_memalign. Exits non-zero on the
 * first class of failure it finds (each one is printed). */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KIB 1024UL
#define MIB (1024UL * 1024UL)

/* 16-byte rounding, the thread cache (1016 B requests), the arena/pool boundary
 * (128 KiB chunks: 131064 B requests), and the huge threshold (32 MiB). */
static const size_t sizes[] = {
    0, 1, 8, 9, 24, 25, 1000, 1016, 1017, 1024, 4096, 65528, 65536,
    131064, 131065, 131072, 1 * MIB, 32 * MIB - 1, 32 * MIB, 32 * MIB + 1,
};
static const size_t aligns[] = {32, 64, 4096, 64 * KIB, 1 * MIB, 16 * MIB};
#define N(a) (sizeof(a) / sizeof *(a))

/* Every byte of the first 64 KiB, then one per page. */
static size_t step(size_t i) { return i < 64 * KIB ? 1 : 4093; }
static void fill(unsigned char *p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i += step(i))
        p[i] = (unsigned char)(i * 31 + seed);
}
static int intact(const unsigned char *p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i += step(i))
        if (p[i] != (unsigned char)(i * 31 + seed))
            return 0;
    return 1;
}

static int bad;
static void fail(const char *what, size_t a, size_t from, size_t to) {
    printf("FAIL %s: align %zu, %zu -> %zu bytes\n", what, a, from, to);
    bad++;
}

/* p holds `from` bytes filled with `seed`: realloc it to `to` and check. */
static void move_and_check(unsigned char *p, size_t a, size_t from, size_t to, unsigned seed) {
    unsigned char *q = realloc(p, to);
    if (to == 0)
        return; /* realloc(p, 0) freed p */
    if (!q) {
        fail("realloc returned NULL", a, from, to);
        free(p);
        return;
    }
    if (!intact(q, from < to ? from : to, seed))
        fail("contents changed", a, from, to);
    if (malloc_usable_size(q) < to)
        fail("usable size too small", a, from, to);
    fill(q, to, seed + 1);
    if (!intact(q, to, seed + 1))
        fail("block not writable", a, from, to);
    free(q);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    for (size_t i = 0; i < N(sizes); i++)
        for (size_t j = 0; j < N(sizes); j++) {
            unsigned char *p = malloc(sizes[i]);
            if (!p) {
                fail("malloc returned NULL", 16, sizes[i], sizes[j]);
                continue;
            }
            if ((uintptr_t)p % 16)
                fail("malloc result not 16-byte aligned", 16, sizes[i], sizes[j]);
            fill(p, sizes[i], (unsigned)(i + j));
            move_and_check(p, 16, sizes[i], sizes[j], (unsigned)(i + j));
        }
    printf("plain: %zu x %zu sizes done\n", N(sizes), N(sizes));
    for (size_t k = 0; k < N(aligns); k++)
        for (size_t i = 0; i < N(sizes); i++)
            for (size_t j = 0; j < N(sizes); j += 3) {
                void *v;
                if (posix_memalign(&v, aligns[k], sizes[i])) {
                    fail("posix_memalign failed", aligns[k], sizes[i], sizes[j]);
                    continue;
                }
                unsigned char *p = v;
                if ((uintptr_t)p % aligns[k])
                    fail("misaligned", aligns[k], sizes[i], sizes[j]);
                if (malloc_usable_size(p) < sizes[i])
                    fail("usable size too small", aligns[k], sizes[i], sizes[i]);
                fill(p, sizes[i], (unsigned)k);
                move_and_check(p, aligns[k], sizes[i], sizes[j], (unsigned)k);
            }
    printf("aligned: %zu alignments done\n", N(aligns));
    printf("%s: %d failures\n", bad ? "FAILED" : "ok", bad);
    return bad != 0;
}
