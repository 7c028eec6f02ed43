/*
 * cold_lines.c -- what one cold cache line costs a tick on this host: the CPU time per tick of a
 * loop that sleeps 10 ms (like the daemon) and then touches CODE distinct lines of code (one small
 * function per 128 bytes) and DATA distinct lines of data (one per page), minus the same loop
 * touching none. Explains why lines_per_tick.sh counts lines: the daemon's tick beyond the floor's
 * is mostly lines brought back after the sleep, not instructions.
 *
 * usage: cold_lines CODE DATA TICKS   (CODE <= 2000)
 * output: cpu_us_per_tick=X
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define F(i) __attribute__((noinline, aligned(128))) static uint64_t f##i(uint64_t x) { return x * (2 * i##u + 3) + i##u; }
#define F10(a) F(a##0) F(a##1) F(a##2) F(a##3) F(a##4) F(a##5) F(a##6) F(a##7) F(a##8) F(a##9)
#define F100(a) F10(a##0) F10(a##1) F10(a##2) F10(a##3) F10(a##4) F10(a##5) F10(a##6) F10(a##7) F10(a##8) F10(a##9)
#define F1000(a) F100(a##0) F100(a##1) F100(a##2) F100(a##3) F100(a##4) F100(a##5) F100(a##6) F100(a##7) F100(a##8) F100(a##9)
F1000(1) F1000(2)
#define P(i) f##i,
#define P10(a) P(a##0) P(a##1) P(a##2) P(a##3) P(a##4) P(a##5) P(a##6) P(a##7) P(a##8) P(a##9)
#define P100(a) P10(a##0) P10(a##1) P10(a##2) P10(a##3) P10(a##4) P10(a##5) P10(a##6) P10(a##7) P10(a##8) P10(a##9)
#define P1000(a) P100(a##0) P100(a##1) P100(a##2) P100(a##3) P100(a##4) P100(a##5) P100(a##6) P100(a##7) P100(a##8) P100(a##9)
static uint64_t (*const functions[])(uint64_t) = { P1000(1) P1000(2) };

static double cpu_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: cold_lines CODE DATA TICKS\n"); return 2; }
    int code = atoi(argv[1]), data = atoi(argv[2]), ticks = atoi(argv[3]);
    if (code < 0 || code > 2000 || data < 0 || ticks < 1) { fprintf(stderr, "cold_lines: CODE 0..2000, DATA >= 0, TICKS >= 1\n"); return 2; }
    const size_t stride = 4096 + 64; /* one line per page, a different line offset on each */
    volatile char *pages = malloc((size_t)(data + 1) * stride);
    if (!pages) return 1;
    for (size_t i = 0; i < (size_t)(data + 1) * stride; i += 64) pages[i] = 1;
    uint64_t sum = 0;
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    double start = 0;
    for (int t = 0; t < ticks + 50; t++) { /* 50 ticks to settle, not measured */
        if (t == 50) start = cpu_seconds();
        deadline.tv_nsec += 10000000;
        if (deadline.tv_nsec >= 1000000000) { deadline.tv_nsec -= 1000000000; deadline.tv_sec++; }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL);
        for (int i = 0; i < code; i++) sum = functions[i](sum);
        for (int i = 0; i < data; i++) sum += pages[(size_t)i * stride];
    }
    printf("cpu_us_per_tick=%.2f\n", (cpu_seconds() - start) / ticks * 1e6);
    return sum == 42; /* keeps the work */
}
