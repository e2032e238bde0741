/*
 * fork() in a busy multi-threaded process, under LD_PRELOAD=libarenapool.so (see
 * tests/preload.rs).
 *
 * 8 threads allocate, fill, trade (through shared slots) and free blocks
 * continuously, while 4 threads fork 50 times each (200 forks). Each child, whose
 * other threads vanished in the middle of whatever they were doing, allocates and
 * frees small blocks, pool blocks (100 KiB) and a huge block (40 MiB), reallocs,
 * callocs, frees blocks it inherited from the parent's slots (after checking their
 * pattern), starts a thread that allocates, and _exit(0)s. The parent waits for
 * each child with a 10 s timeout: a child still running then is killed (SIGKILL)
 * and the test fails (a deadlock in the allocator's fork handling).
 *
 * Exit 0 on success; 1 with a message otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

#define NWORKERS 8
#define NFORKERS 4
#define FORKS_EACH 50
#define NSLOTS 1024
#define CHILD_TIMEOUT_S 10
#define KiB ((size_t)1024)
#define MiB (1024 * KiB)

static void *volatile slots[NSLOTS];
static volatile int stop;
static volatile int failed;

/* A block: word 0 is its size scrambled with its address, the rest a pattern. */
static void fill(void *p, size_t n) {
    uint64_t *w = p;
    w[0] = n ^ mix((uintptr_t)p);
    uint64_t seed = mix((uintptr_t)p + n);
    for (size_t i = 1; i < n / 8; i++)
        w[i] = seed + i;
}

/* Returns the block's size, or 0 if its pattern is wrong. */
static size_t check(const void *p) {
    const uint64_t *w = p;
    size_t n = w[0] ^ mix((uintptr_t)p);
    if (n < 16 || n > 4 * MiB || malloc_usable_size((void *)p) < n)
        return 0;
    uint64_t seed = mix((uintptr_t)p + n);
    for (size_t i = 1; i < n / 8; i++)
        if (w[i] != seed + i)
            return 0;
    return n;
}

static uint64_t rnd(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static size_t pick_size(uint64_t *s) {
    unsigned k = rnd(s) % 1000;
    if (k < 900)
        return 16 + rnd(s) % 1000;          /* small */
    if (k < 990)
        return 1024 + rnd(s) % (60 * KiB); /* medium */
    if (k < 998)
        return 64 * KiB + rnd(s) % MiB;    /* pool */
    return 3 * MiB;
}

/* Async-signal-safe message for children. */
static void child_fail(const char *msg, int code) {
    char buf[160];
    size_t n = 0;
    const char *pre = "FAIL fork child: ";
    while (*pre && n < sizeof buf - 2)
        buf[n++] = *pre++;
    while (*msg && n < sizeof buf - 2)
        buf[n++] = *msg++;
    buf[n++] = '\n';
    if (write(2, buf, n) < 0)
        _exit(code);
    _exit(code);
}

static void *worker(void *arg) {
    uint64_t s = mix((uintptr_t)arg + 12345) | 1;
    while (!stop) {
        size_t n = pick_size(&s);
        void *p = malloc(n);
        if (!p) {
            fprintf(stderr, "FAIL fork: malloc(%zu) failed in a worker\n", n);
            failed = 1;
            return NULL;
        }
        fill(p, n);
        unsigned k = rnd(&s) % 10;
        if (k < 2) {
            if (!check(p)) {
                fprintf(stderr, "FAIL fork: local block corrupted\n");
                failed = 1;
            }
            free(p);
            continue;
        }
        if (k == 2) {
            size_t m = pick_size(&s);
            p = realloc(p, m);
            if (!p) {
                fprintf(stderr, "FAIL fork: realloc failed\n");
                failed = 1;
                return NULL;
            }
            fill(p, m);
        }
        void *old = __atomic_exchange_n(&slots[rnd(&s) % NSLOTS], p, __ATOMIC_ACQ_REL);
        if (old) {
            if (!check(old)) {
                fprintf(stderr, "FAIL fork: traded block %p corrupted in the parent\n", old);
                failed = 1;
            }
            free(old);
        }
    }
    return NULL;
}

static void *child_thread(void *arg) {
    (void)arg;
    void *v[200];
    for (int i = 0; i < 200; i++) {
        v[i] = malloc(16 + i * 40);
        if (!v[i])
            return (void *)1;
        fill(v[i], 16 + i * 40);
    }
    for (int i = 0; i < 200; i++) {
        if (!check(v[i]))
            return (void *)1;
        free(v[i]);
    }
    return NULL;
}

static void child_work(uint64_t seed) {
    /* Small blocks. */
    void *v[500];
    for (int i = 0; i < 500; i++) {
        size_t n = 16 + (rnd(&seed) % 2000);
        v[i] = malloc(n);
        if (!v[i])
            child_fail("malloc of a small block failed", 10);
        fill(v[i], n);
    }
    for (int i = 0; i < 500; i += 2) {
        size_t n = 16 + (rnd(&seed) % 4000);
        v[i] = realloc(v[i], n);
        if (!v[i])
            child_fail("realloc failed", 11);
        fill(v[i], n);
    }
    for (int i = 0; i < 500; i++) {
        if (!check(v[i]))
            child_fail("small block corrupted", 12);
        free(v[i]);
    }
    /* Pool blocks (100 KiB) and a huge block (40 MiB). */
    for (int i = 0; i < 8; i++) {
        char *p = malloc(100 * KiB);
        if (!p)
            child_fail("malloc(100 KiB) failed", 13);
        memset(p, i, 100 * KiB);
        void *a = NULL;
        if (posix_memalign(&a, 4096, 100 * KiB) != 0 || ((uintptr_t)a & 4095))
            child_fail("posix_memalign(4096, 100 KiB) failed", 14);
        memset(a, i, 100 * KiB);
        free(p);
        free(a);
    }
    char *h = malloc(40 * MiB);
    if (!h)
        child_fail("malloc(40 MiB) failed", 15);
    for (size_t off = 0; off < 40 * MiB; off += 64 * KiB)
        h[off] = 1;
    h[40 * MiB - 1] = 1;
    h = realloc(h, 48 * MiB);
    if (!h || h[0] != 1)
        child_fail("realloc(40 MiB -> 48 MiB) failed", 16);
    free(h);
    char *z = calloc(1, 200 * KiB);
    if (!z)
        child_fail("calloc(200 KiB) failed", 17);
    for (size_t i = 0; i < 200 * KiB; i++)
        if (z[i])
            child_fail("calloc memory not zero", 18);
    free(z);
    /* Blocks inherited from the parent (their owners did not survive the fork). */
    for (int i = 0; i < 64; i++) {
        void *p = __atomic_exchange_n(&slots[rnd(&seed) % NSLOTS], NULL, __ATOMIC_ACQ_REL);
        if (p) {
            if (!check(p))
                child_fail("block inherited from the parent corrupted", 19);
            free(p);
        }
    }
    /* A thread of the child's own. */
    pthread_t t;
    void *res;
    if (pthread_create(&t, NULL, child_thread, NULL) != 0)
        child_fail("pthread_create failed", 20);
    pthread_join(t, &res);
    if (res != NULL)
        child_fail("the child's thread saw a bad block", 21);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int forks_done;
static double slowest_child;

static void *forker(void *arg) {
    uintptr_t id = (uintptr_t)arg;
    for (int i = 0; i < FORKS_EACH && !failed; i++) {
        /* Let the workers get into the middle of something. */
        struct timespec pause = {0, (long)(1 + (id * 7 + i * 3) % 5) * 1000000L};
        nanosleep(&pause, NULL);
        double t0 = now();
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "FAIL fork: fork: %s\n", strerror(errno));
            failed = 1;
            return NULL;
        }
        if (pid == 0) {
            child_work(mix(id * 1000 + i) | 1);
            _exit(0);
        }
        int status = 0;
        pid_t r;
        for (;;) {
            r = waitpid(pid, &status, WNOHANG);
            if (r == pid || (r < 0 && errno != EINTR))
                break;
            if (now() - t0 > CHILD_TIMEOUT_S) {
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
                fprintf(stderr, "FAIL fork: child %d (forker %lu, fork %d) still running after "
                        "%d s: killed (deadlock after fork?)\n", (int)pid, (unsigned long)id, i,
                        CHILD_TIMEOUT_S);
                failed = 1;
                return NULL;
            }
            struct timespec ms = {0, 1000000L};
            nanosleep(&ms, NULL);
        }
        if (r != pid) {
            fprintf(stderr, "FAIL fork: waitpid: %s\n", strerror(errno));
            failed = 1;
            return NULL;
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            if (WIFSIGNALED(status))
                fprintf(stderr, "FAIL fork: child %d killed by signal %d (%s)\n", (int)pid,
                        WTERMSIG(status), strsignal(WTERMSIG(status)));
            else
                fprintf(stderr, "FAIL fork: child %d exited with status %d\n", (int)pid,
                        WEXITSTATUS(status));
            failed = 1;
            return NULL;
        }
        double dt = now() - t0;
        __atomic_fetch_add(&forks_done, 1, __ATOMIC_RELAXED);
        /* slowest child, racy max is fine for a report */
        if (dt > slowest_child)
            slowest_child = dt;
    }
    return NULL;
}

int main(void) {
    double t0 = now();
    pthread_t w[NWORKERS], f[NFORKERS];
    for (uintptr_t i = 0; i < NWORKERS; i++)
        if (pthread_create(&w[i], NULL, worker, (void *)i) != 0) {
            fprintf(stderr, "FAIL fork: pthread_create\n");
            return 1;
        }
    for (uintptr_t i = 0; i < NFORKERS; i++)
        if (pthread_create(&f[i], NULL, forker, (void *)i) != 0) {
            fprintf(stderr, "FAIL fork: pthread_create\n");
            return 1;
        }
    for (int i = 0; i < NFORKERS; i++)
        pthread_join(f[i], NULL);
    stop = 1;
    for (int i = 0; i < NWORKERS; i++)
        pthread_join(w[i], NULL);
    int live = 0;
    for (int i = 0; i < NSLOTS; i++) {
        void *p = slots[i];
        slots[i] = NULL;
        if (p) {
            live++;
            if (!check(p)) {
                fprintf(stderr, "FAIL fork: block %p corrupted at the end\n", p);
                failed = 1;
            }
            free(p);
        }
    }
    if (failed)
        return 1;
    /* The parent can still fork after all that, from the main thread. */
    pid_t pid = fork();
    if (pid == 0) {
        child_work(99);
        _exit(0);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        fprintf(stderr, "FAIL fork: final fork from the main thread failed\n");
        return 1;
    }
    printf("fork: %d forks from %d threads while %d threads allocated, all children ok "
           "(slowest %.0f ms), %d blocks freed at the end, %.2f s\n",
           forks_done + 1, NFORKERS, NWORKERS, slowest_child * 1e3, live, now() - t0);
    return 0;
}
