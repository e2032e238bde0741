/* Statistics through the C interface: mallinfo2 and malloc_stats report what the
 * program holds, and the environment switches (ARENAPOOL_SHOW_STATS,
 * ARENAPOOL_HEAP_MAP) are checked by the Rust test that runs this. Prints
 * "stats: ok" and exits 0 when every check passes. */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad;
#define CHECK(c, ...) do { if (!(c)) { bad++; fprintf(stderr, "FAIL: " __VA_ARGS__); fputc('\n', stderr); } } while (0)

static void *cross[1000];
static void *freer(void *arg) {
    (void)arg;
    for (int i = 0; i < 1000; i++) free(cross[i]);
    return NULL;
}

int main(void) {
    struct mallinfo2 before = mallinfo2();
    enum { N = 2000, SZ = 1000 };
    static void *p[N];
    for (int i = 0; i < N; i++) { p[i] = malloc(SZ); memset(p[i], 1, SZ); }
    void *big = malloc(40 << 20);
    memset(big, 2, 1 << 20);
    struct mallinfo2 held = mallinfo2();
    CHECK(held.uordblks >= before.uordblks + N * SZ + (40 << 20),
          "in use %zu -> %zu after %d x %d bytes and 40 MiB", before.uordblks, held.uordblks, N, SZ);
    CHECK(held.hblkhd >= (40 << 20), "huge bytes %zu", held.hblkhd);
    CHECK(held.arena > 0 && held.arena + held.hblkhd >= held.uordblks, "mapped %zu + %zu, in use %zu",
          held.arena, held.hblkhd, held.uordblks);
    for (int i = 0; i < N; i++) free(p[i]);
    free(big);
    struct mallinfo2 after = mallinfo2();
    CHECK(after.uordblks + N * SZ / 2 < held.uordblks && after.hblkhd == 0,
          "in use after free %zu (held %zu), huge %zu", after.uordblks, held.uordblks, after.hblkhd);
    /* A freed big block of 200 KiB waits on this thread's shelf: cached
     * (fsmblks), not in use; malloc_trim gives the shelf back to the pool. (A
     * program's first big blocks are mappings of their own, until it frees
     * one under 32 MiB; volatile, or the compiler drops the pair.) */
    void *volatile first = malloc(200 << 10);
    free(first);
    void *b = malloc(200 << 10);
    memset(b, 3, 200 << 10);
    struct mallinfo2 live = mallinfo2();
    free(b);
    struct mallinfo2 shelved = mallinfo2();
    CHECK(shelved.fsmblks >= live.fsmblks + (200 << 10) && shelved.uordblks + (200 << 10) <= live.uordblks,
          "a freed 200 KiB block: cached %zu -> %zu, in use %zu -> %zu", live.fsmblks, shelved.fsmblks,
          live.uordblks, shelved.uordblks);
    malloc_trim(0);
    struct mallinfo2 trimmed = mallinfo2();
    CHECK(trimmed.fsmblks + (200 << 10) <= shelved.fsmblks,
          "malloc_trim kept the shelf: cached %zu -> %zu", shelved.fsmblks, trimmed.fsmblks);
    /* cross-thread frees show in the matrix printed by malloc_stats */
    for (int i = 0; i < 1000; i++) cross[i] = malloc(100);
    pthread_t t;
    pthread_create(&t, NULL, freer, NULL);
    pthread_join(t, NULL);
    /* an mmap the kernel refuses: NULL, and reported with ARENAPOOL_VERBOSE=1 */
    void *huge = malloc((size_t)1 << 46);
    CHECK(huge == NULL, "a 64 TiB malloc succeeded");
    malloc_stats();
    if (bad) return 1;
    printf("stats: ok\n");
    return 0;
}
