/*
 * lines_per_tick.c -- reads a valgrind lackey trace (--trace-mem=yes) on stdin and prints, per
 * tick, how many distinct 64-byte cache lines of code and of data the whole process touched
 * (all threads), as medians over the ticks after the first SKIP.
 *
 * Why: a tick runs after a 10 ms sleep, when the lines it needs have been evicted; on this kind of
 * host each one costs ~40 ns to bring back (Benchmarks/README.md). So the lines a tick touches,
 * not its instructions, are most of what its CPU time is beyond the floor's; and unlike CPU time
 * they are the same count for the same binary whatever else the host is doing.
 *
 * A tick is everything from one execution of the instruction at TICK_ADDR (the tick function's
 * entry, as valgrind loaded it) to the next: the tick and Dispatch's wake-ups around it.
 *
 * usage: lines_per_tick TICK_ADDR_HEX SKIP < trace
 * output: ticks=N code_lines=C data_lines=D code_pages=P data_pages=Q instructions=I
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TABLE (1u << 20)
#define MAX_TICKS 100000

static uint64_t keys[TABLE];
static uint32_t stamp[TABLE];
static uint32_t current = 1;

/* Adds key to this tick's set; 1 if it was new. Open addressing; a new tick bumps `current`. */
static int first_touch(uint64_t key) {
    uint32_t h = (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 44);
    for (;; h = (h + 1) & (TABLE - 1)) {
        if (stamp[h] != current) { stamp[h] = current; keys[h] = key; return 1; }
        if (keys[h] == key) return 0;
    }
}

static int by_value(const void *a, const void *b) { return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b); }

static int median(int *v, int n) { qsort(v, n, sizeof *v, by_value); return v[n / 2]; }

static int code[MAX_TICKS], data[MAX_TICKS], code_pages[MAX_TICKS], data_pages[MAX_TICKS], instructions[MAX_TICKS];

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: lines_per_tick TICK_ADDR_HEX SKIP < lackey-trace\n"); return 2; }
    uint64_t tick = strtoull(argv[1], NULL, 16);
    int skip = atoi(argv[2]);
    int n = -1; /* ticks started so far, minus one */
    char line[256];
    while (fgets(line, sizeof line, stdin)) {
        /* lackey: "I  addr,size" for an instruction, " L|S|M addr,size" for data. */
        int is_code = line[0] == 'I';
        if (!is_code && !(line[0] == ' ' && (line[1] == 'L' || line[1] == 'S' || line[1] == 'M'))) continue;
        char *end;
        uint64_t addr = strtoull(line + 2, &end, 16);
        if (end == line + 2) continue;
        if (is_code && addr == tick) {
            if (++n >= MAX_TICKS) break;
            current++;
        }
        if (n < 0) continue;
        /* Keys: line or page number, tagged with kind (bit 0: data) and granularity (bit 1: page). */
        if (is_code) instructions[n]++;
        if (first_touch(((addr >> 6) << 2) | (uint64_t)!is_code)) (is_code ? code : data)[n]++;
        if (first_touch(((addr >> 12) << 2) | 2 | (uint64_t)!is_code)) (is_code ? code_pages : data_pages)[n]++;
    }
    /* The last tick may be cut short by the end of the trace: not counted. */
    int used = n - skip;
    if (used < 5) { fprintf(stderr, "lines_per_tick: only %d ticks after the first %d\n", n < 0 ? 0 : n, skip); return 1; }
    printf("ticks=%d code_lines=%d data_lines=%d code_pages=%d data_pages=%d instructions=%d\n", used,
           median(code + skip, used), median(data + skip, used), median(code_pages + skip, used),
           median(data_pages + skip, used), median(instructions + skip, used));
    return 0;
}
