/*
 * floor.c -- "the floor" for drum-monitor's per-tick sampling cost (issue #7).
 *
 * Samples, per tick, the same data drum-monitor samples for a DRUM tree and parses
 * the numbers, with as little overhead as C allows:
 *   per process in the tree (BFS from --pid over /proc/P/task/P/children):
 *       /proc/P/stat; /proc/P/task/P/children of the root every tick, of deeper processes
 *       when they join the tree and then once a second (as drum-monitor's ProcessTree)
 *   /proc/ROOT/cmdline once a second (drum-monitor's safety net for noticing an exec; it
 *       otherwise watches the root's stat line, which it reads anyway)
 *   cgroup v1 of the root process (from /proc/PID/cgroup):
 *       memory: memory.usage_in_bytes, memory.max_usage_in_bytes, memory.limit_in_bytes
 *               (leaf) + memory.limit_in_bytes of each ancestor up to the hierarchy root,
 *               memory.stat, memory.oom_control, memory.failcnt
 *       cpuacct.usage, cpu.stat, cpu.cfs_quota_us, cpu.cfs_period_us
 *   /proc/meminfo
 *
 * Default mode: every file is opened once and re-read with pread(fd, .., 0) each tick
 * (process files are opened when a process appears in the tree, closed when it leaves).
 * --reopen: open/read/close every file every tick.
 * --interval-us U: a tick every U us, from clock_nanosleep (one thread wakes per tick).
 * --dispatch (with --interval-us; built with -DFLOOR_DISPATCH and the Swift toolchain's
 *   libdispatch): the ticks are driven by a DispatchSourceTimer set up exactly as drum-monitor's
 *   SamplingLoop sets up its own (a serial user-initiated queue, the same deadline, repeat and
 *   leeway), so the difference to the nanosleep run is what Dispatch's wake-ups cost (its timer
 *   thread, then the queue's worker) and the difference to drum-monitor is drum-monitor's own.
 *   CPU is the whole process's (all threads).
 *
 * usage: floor --pid PID [--ticks N] [--interval-us U [--dispatch]] [--reopen] [--dump]
 *              [--breakdown] [--cgroup-root /sys/fs/cgroup]
 * output (one line):
 *   floor mode=held ticks=N procs=9 reads_per_tick=30 cpu_us_per_tick=X utime_us_per_tick=..
 *         stime_us_per_tick=.. wall_us_per_tick=.. vmrss_kb=.. checksum=..
 * cpu_us_per_tick = getrusage(RUSAGE_SELF) utime+stime over the measured ticks / ticks
 * (one warm-up tick and all setup are excluded).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#ifdef FLOOR_DISPATCH
#include <dispatch/dispatch.h>
#endif

#define BUFSZ 16384
#define MAXPROC 4096
#define MAXANC 64

static int reopen_mode = 0;
static char buf[BUFSZ];
static uint64_t checksum = 0;
static long reads_this_tick = 0;

typedef struct {
    char path[1200];
    int fd; /* held mode only; -1 when not open */
} file_t;

/* --breakdown: per-file-kind CPU time (CLOCK_THREAD_CPUTIME_ID around each read) */
static int breakdown = 0;
#define NKIND 32
static const char *kind_name[NKIND];
static double kind_ns[NKIND];
static long kind_n[NKIND];
static int nkinds = 0;
static int kind_of(const char *path) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    for (int i = 0; i < nkinds; i++)
        if (!strcmp(kind_name[i], b)) return i;
    if (nkinds == NKIND) return NKIND - 1;
    kind_name[nkinds] = strdup(b);
    return nkinds++;
}
static double thread_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void file_init(file_t *f, const char *path) {
    snprintf(f->path, sizeof f->path, "%s", path);
    f->fd = -1;
    if (!reopen_mode) f->fd = open(path, O_RDONLY | O_CLOEXEC);
}

static void file_close(file_t *f) {
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
}

/* Returns bytes read (NUL-terminated in buf) or -1. */
static ssize_t file_read_raw(file_t *f);
static ssize_t file_read(file_t *f) {
    if (!breakdown) return file_read_raw(f);
    double t0 = thread_ns();
    ssize_t n = file_read_raw(f);
    int k = kind_of(f->path);
    kind_ns[k] += thread_ns() - t0;
    kind_n[k]++;
    return n;
}
static ssize_t file_read_raw(file_t *f) {
    ssize_t n;
    reads_this_tick++;
    if (reopen_mode) {
        int fd = open(f->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return -1;
        n = read(fd, buf, BUFSZ - 1);
        close(fd);
    } else {
        if (f->fd < 0) return -1;
        n = pread(f->fd, buf, BUFSZ - 1, 0);
    }
    if (n < 0) return -1;
    buf[n] = 0;
    return n;
}

/* ---- number parsing ---- */
static inline const char *skip_ws(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\n') p++;
    return p;
}
static inline const char *parse_i64(const char *p, int64_t *out) {
    int neg = 0;
    uint64_t v = 0;
    p = skip_ws(p);
    if (*p == '-') { neg = 1; p++; }
    while (*p >= '0' && *p <= '9') v = v * 10 + (uint64_t)(*p++ - '0');
    *out = neg ? -(int64_t)v : (int64_t)v;
    return p;
}
static int64_t read_single(file_t *f) {
    int64_t v = -1;
    if (file_read(f) > 0) parse_i64(buf, &v);
    checksum += (uint64_t)v;
    return v;
}

/* "key value\n" lines (memory.stat, cpu.stat, oom_control, meminfo "Key:   N kB").
 * Parses every line; returns the values of up to 4 wanted keys. */
static int parse_kv(const char *keys[], int nkeys, int64_t *vals) {
    const char *p = buf;
    int nlines = 0;
    for (int i = 0; i < nkeys; i++) vals[i] = -1;
    while (*p) {
        const char *k = p;
        while (*p && *p != ' ' && *p != ':' && *p != '\n') p++;
        size_t klen = (size_t)(p - k);
        if (*p == ':') p++;
        int64_t v;
        p = parse_i64(p, &v);
        checksum += (uint64_t)v;
        for (int i = 0; i < nkeys; i++)
            if (strlen(keys[i]) == klen && memcmp(keys[i], k, klen) == 0) vals[i] = v;
        while (*p && *p != '\n') p++;
        if (*p == '\n') p++;
        nlines++;
    }
    return nlines;
}

/* ---- process tree ---- */
#define MAXKIDS 256
typedef struct {
    int pid;
    int seen;
    file_t stat, children;
    int64_t ppid, utime, stime, starttime, rss_pages;
    int kids_known, nkids;
    int kids[MAXKIDS];
} proc_t;

static proc_t procs[MAXPROC];
static int nprocs = 0;

static proc_t *proc_get(int pid) {
    for (int i = 0; i < nprocs; i++)
        if (procs[i].pid == pid) return &procs[i];
    if (nprocs == MAXPROC) return NULL;
    proc_t *p = &procs[nprocs++];
    memset(p, 0, sizeof *p);
    p->pid = pid;
    char path[128];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    file_init(&p->stat, path);
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", pid, pid);
    file_init(&p->children, path);
    return p;
}

static int parse_stat(proc_t *p) {
    if (file_read(&p->stat) <= 0) return -1;
    char *s = strrchr(buf, ')');
    if (!s) return -1;
    s += 2; /* state */
    s++;    /* field 3 consumed */
    int64_t v;
    /* fields 4.. : ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
       cutime cstime priority nice num_threads itrealvalue starttime vsize rss */
    for (int field = 4; field <= 24; field++) {
        s = (char *)parse_i64(s, &v);
        switch (field) {
        case 4: p->ppid = v; break;
        case 14: p->utime = v; break;
        case 15: p->stime = v; break;
        case 22: p->starttime = v; break;
        case 24: p->rss_pages = v; break;
        }
    }
    checksum += (uint64_t)(p->utime + p->stime + p->rss_pages);
    return 0;
}

static int queue[MAXPROC], queue_parent[MAXPROC];
static double last_full_scan_us = -1e18;
static int full_scan_tick;
static double now_us(void);

/* BFS over children files; (re)opens fds for new processes, closes fds of gone ones.
   Children files are read for the root every tick, for others when first seen and once a second;
   in between, a process's last-read children are followed if their ppid still names it. */
static int walk_tree(int root, int64_t *tree_rss_pages, int64_t *tree_cpu_ticks) {
    for (int i = 0; i < nprocs; i++) procs[i].seen = 0;
    double now = now_us();
    int full_scan = full_scan_tick = now - last_full_scan_us >= 1e6;
    if (full_scan) last_full_scan_us = now;
    int qh = 0, qt = 0, count = 0;
    queue_parent[qt] = 0;
    queue[qt++] = root;
    *tree_rss_pages = 0;
    *tree_cpu_ticks = 0;
    while (qh < qt) {
        int parent = queue_parent[qh];
        int pid = queue[qh++];
        proc_t *p = proc_get(pid);
        if (!p) break;
        if (p->seen) continue;
        if (parse_stat(p) < 0) continue; /* gone */
        if (parent && p->ppid != parent) continue; /* followed from a stale list: moved */
        p->seen = 1;
        count++;
        *tree_rss_pages += p->rss_pages;
        *tree_cpu_ticks += p->utime + p->stime;
        if (pid == root || full_scan || !p->kids_known) {
            if (file_read(&p->children) < 0) continue;
            p->kids_known = 1;
            p->nkids = 0;
            const char *c = buf;
            for (;;) {
                c = skip_ws(c);
                if (!*c) break;
                int64_t cp;
                c = parse_i64(c, &cp);
                if (p->nkids < MAXKIDS) p->kids[p->nkids++] = (int)cp;
            }
        }
        for (int k = 0; k < p->nkids && qt < MAXPROC; k++) {
            queue_parent[qt] = pid;
            queue[qt++] = p->kids[k];
        }
    }
    /* drop processes that left the tree */
    for (int i = 0; i < nprocs;) {
        if (!procs[i].seen) {
            file_close(&procs[i].stat);
            file_close(&procs[i].children);
            procs[i] = procs[--nprocs];
        } else {
            i++;
        }
    }
    return count;
}

/* ---- cgroup files ---- */
static file_t mem_usage, mem_max_usage, mem_stat, mem_oom, mem_failcnt;
static file_t mem_limits[MAXANC]; /* [0] = leaf, then ancestors up to the root */
static int nlimits = 0;
static file_t cpuacct_usage, cpu_stat, cpu_quota, cpu_period, meminfo, root_cmdline;

static int cgroup_path_of(int pid, const char *want, char *out, size_t outsz, char *ctrl_dir,
                          size_t ctrlsz) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cgroup", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[1024];
    int found = -1;
    while (fgets(line, sizeof line, f)) {
        char *a = strchr(line, ':');
        if (!a) continue;
        char *b = strchr(a + 1, ':');
        if (!b) continue;
        *b = 0;
        char *ctrls = a + 1;
        /* match `want` as one of the comma-separated controllers */
        char tmp[256];
        snprintf(tmp, sizeof tmp, "%s", ctrls);
        for (char *tok = strtok(tmp, ","); tok; tok = strtok(NULL, ",")) {
            if (strcmp(tok, want) == 0) {
                char *cg = b + 1;
                cg[strcspn(cg, "\n")] = 0;
                snprintf(out, outsz, "%s", cg);
                snprintf(ctrl_dir, ctrlsz, "%s", ctrls);
                found = 0;
            }
        }
    }
    fclose(f);
    return found;
}

static void setup_cgroup(int pid, const char *root) {
    char cg[512], ctrl[128], base[1024], p[1200];
    if (cgroup_path_of(pid, "memory", cg, sizeof cg, ctrl, sizeof ctrl) < 0) {
        fprintf(stderr, "floor: no v1 memory cgroup for pid %d\n", pid);
        exit(2);
    }
    snprintf(base, sizeof base, "%s/%s%s", root, ctrl, strcmp(cg, "/") ? cg : "");
    snprintf(p, sizeof p, "%s/memory.usage_in_bytes", base); file_init(&mem_usage, p);
    snprintf(p, sizeof p, "%s/memory.max_usage_in_bytes", base); file_init(&mem_max_usage, p);
    snprintf(p, sizeof p, "%s/memory.stat", base); file_init(&mem_stat, p);
    snprintf(p, sizeof p, "%s/memory.oom_control", base); file_init(&mem_oom, p);
    snprintf(p, sizeof p, "%s/memory.failcnt", base); file_init(&mem_failcnt, p);
    /* leaf and ancestors */
    char anc[512];
    snprintf(anc, sizeof anc, "%s", cg);
    for (;;) {
        snprintf(p, sizeof p, "%s/%s%s/memory.limit_in_bytes", root, ctrl,
                 strcmp(anc, "/") ? anc : "");
        if (nlimits < MAXANC) file_init(&mem_limits[nlimits++], p);
        if (strcmp(anc, "/") == 0 || anc[0] == 0) break;
        char *slash = strrchr(anc, '/');
        if (slash == anc) anc[1] = 0; else *slash = 0;
    }
    if (cgroup_path_of(pid, "cpuacct", cg, sizeof cg, ctrl, sizeof ctrl) == 0) {
        snprintf(p, sizeof p, "%s/%s%s/cpuacct.usage", root, ctrl, strcmp(cg, "/") ? cg : "");
        file_init(&cpuacct_usage, p);
    }
    if (cgroup_path_of(pid, "cpu", cg, sizeof cg, ctrl, sizeof ctrl) == 0) {
        snprintf(base, sizeof base, "%s/%s%s", root, ctrl, strcmp(cg, "/") ? cg : "");
        snprintf(p, sizeof p, "%s/cpu.stat", base); file_init(&cpu_stat, p);
        snprintf(p, sizeof p, "%s/cpu.cfs_quota_us", base); file_init(&cpu_quota, p);
        snprintf(p, sizeof p, "%s/cpu.cfs_period_us", base); file_init(&cpu_period, p);
    }
    file_init(&meminfo, "/proc/meminfo");
    char cmdline[64];
    snprintf(cmdline, sizeof cmdline, "/proc/%d/cmdline", pid);
    file_init(&root_cmdline, cmdline);
}

typedef struct {
    int procs;
    int64_t tree_rss_pages, tree_cpu_ticks;
    int64_t usage, max_usage, limit_eff, failcnt;
    int64_t total_rss, total_cache, total_inactive_file, working_set;
    int64_t oom_kill, under_oom;
    int64_t cpuacct_ns, nr_periods, nr_throttled, throttled_ns, quota, period;
    int64_t mem_total_kb, mem_avail_kb;
} sample_t;

static void tick(int root, sample_t *s) {
    int64_t v[4];
    s->procs = walk_tree(root, &s->tree_rss_pages, &s->tree_cpu_ticks);
    if (full_scan_tick && file_read(&root_cmdline) > 0) checksum += (uint64_t)buf[0];
    s->usage = read_single(&mem_usage);
    s->max_usage = read_single(&mem_max_usage);
    s->limit_eff = INT64_MAX;
    for (int i = 0; i < nlimits; i++) {
        int64_t l = read_single(&mem_limits[i]);
        if (l > 0 && l < s->limit_eff) s->limit_eff = l;
    }
    s->failcnt = read_single(&mem_failcnt);
    if (file_read(&mem_stat) > 0) {
        static const char *k[] = {"total_rss", "total_cache", "total_inactive_file"};
        parse_kv(k, 3, v);
        s->total_rss = v[0]; s->total_cache = v[1]; s->total_inactive_file = v[2];
        s->working_set = s->usage - (v[2] > 0 ? v[2] : 0);
        if (s->working_set < 0) s->working_set = 0;
    }
    if (file_read(&mem_oom) > 0) {
        static const char *k[] = {"oom_kill", "under_oom"};
        parse_kv(k, 2, v);
        s->oom_kill = v[0]; s->under_oom = v[1];
    }
    if (cpuacct_usage.path[0]) s->cpuacct_ns = read_single(&cpuacct_usage);
    if (cpu_stat.path[0]) {
        if (file_read(&cpu_stat) > 0) {
            static const char *k[] = {"nr_periods", "nr_throttled", "throttled_time"};
            parse_kv(k, 3, v);
            s->nr_periods = v[0]; s->nr_throttled = v[1]; s->throttled_ns = v[2];
        }
        s->quota = read_single(&cpu_quota);
        s->period = read_single(&cpu_period);
    }
    if (file_read(&meminfo) > 0) {
        static const char *k[] = {"MemTotal", "MemAvailable"};
        parse_kv(k, 2, v);
        s->mem_total_kb = v[0]; s->mem_avail_kb = v[1];
    }
}

static double tv_us(struct timeval t) { return t.tv_sec * 1e6 + t.tv_usec; }
static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static long vmrss_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) kb = atol(line + 6);
    if (f) fclose(f);
    return kb;
}

#ifdef FLOOR_DISPATCH
/* The ticks on a DispatchSourceTimer, as Sources/Sampler/SamplingLoop.swift schedules them. */
typedef struct {
    int root;
    sample_t *s;
    long left;
    long total_reads, proc_sum;
    dispatch_source_t timer;
    dispatch_semaphore_t done;
} dispatch_run_t;

static void dispatch_tick(void *context) {
    dispatch_run_t *r = context;
    if (r->left <= 0) return;
    reads_this_tick = 0;
    tick(r->root, r->s);
    r->total_reads += reads_this_tick;
    r->proc_sum += r->s->procs;
    if (--r->left == 0) {
        dispatch_source_cancel(r->timer);
        dispatch_semaphore_signal(r->done);
    }
}

static void run_dispatch(int root, sample_t *s, long ticks, long interval_us, long *total_reads, long *proc_sum) {
    /* DispatchQueue(label:qos: .userInitiated): QOS_CLASS_USER_INITIATED is 0x19. */
    dispatch_queue_attr_t attr = dispatch_queue_attr_make_with_qos_class(DISPATCH_QUEUE_SERIAL, 0x19, 0);
    dispatch_queue_t queue = dispatch_queue_create("floor.sampler", attr);
    dispatch_run_t r = {root, s, ticks, 0, 0, NULL, dispatch_semaphore_create(0)};
    r.timer = dispatch_source_create(DISPATCH_SOURCE_TYPE_TIMER, 0, 0, queue);
    uint64_t interval = (uint64_t)interval_us * 1000;
    uint64_t leeway = interval / 1000 > 50000 ? interval / 1000 : 50000;
    dispatch_source_set_timer(r.timer, dispatch_time(DISPATCH_TIME_NOW, (int64_t)interval), interval, leeway);
    dispatch_set_context(r.timer, &r);
    dispatch_source_set_event_handler_f(r.timer, dispatch_tick);
    dispatch_resume(r.timer);
    dispatch_semaphore_wait(r.done, DISPATCH_TIME_FOREVER);
    *total_reads = r.total_reads;
    *proc_sum = r.proc_sum;
}
#endif

int main(int argc, char **argv) {
    int pid = 0, dump = 0, use_dispatch = 0;
    long ticks = 10000, interval_us = 0;
    const char *root = "/sys/fs/cgroup";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--pid") && i + 1 < argc) pid = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--ticks") && i + 1 < argc) ticks = atol(argv[++i]);
        else if (!strcmp(argv[i], "--interval-us") && i + 1 < argc) interval_us = atol(argv[++i]);
        else if (!strcmp(argv[i], "--cgroup-root") && i + 1 < argc) root = argv[++i];
        else if (!strcmp(argv[i], "--reopen")) reopen_mode = 1;
        else if (!strcmp(argv[i], "--dump")) dump = 1;
        else if (!strcmp(argv[i], "--breakdown")) breakdown = 1;
        else if (!strcmp(argv[i], "--dispatch")) use_dispatch = 1;
        else {
            fprintf(stderr, "usage: floor --pid PID [--ticks N] [--interval-us U [--dispatch]] [--reopen] [--dump] "
                            "[--breakdown] [--cgroup-root DIR]\n");
            return 2;
        }
    }
    if (pid <= 0 || ticks <= 0) {
        fprintf(stderr, "floor: --pid required\n");
        return 2;
    }
#ifndef FLOOR_DISPATCH
    if (use_dispatch) {
        fprintf(stderr, "floor: --dispatch needs a build with -DFLOOR_DISPATCH and libdispatch\n");
        return 2;
    }
#endif
    if (use_dispatch && interval_us <= 0) {
        fprintf(stderr, "floor: --dispatch needs --interval-us\n");
        return 2;
    }
    if (kill(pid, 0) != 0 && errno == ESRCH) {
        fprintf(stderr, "floor: pid %d does not exist\n", pid);
        return 2;
    }
    setup_cgroup(pid, root);
    sample_t s;
    memset(&s, 0, sizeof s);
    reads_this_tick = 0;
    tick(pid, &s); /* warm-up; opens process fds in held mode */
    long reads = reads_this_tick;
    if (dump) {
        printf("procs=%d tree_rss_bytes=%lld tree_cpu_ticks=%lld usage=%lld max_usage=%lld "
               "limit_eff=%lld (%d limit files) failcnt=%lld working_set=%lld total_rss=%lld "
               "total_cache=%lld oom_kill=%lld under_oom=%lld cpuacct_ns=%lld nr_periods=%lld "
               "nr_throttled=%lld throttled_ns=%lld quota=%lld period=%lld MemTotal_kB=%lld "
               "MemAvailable_kB=%lld reads=%ld\n",
               s.procs, (long long)s.tree_rss_pages * sysconf(_SC_PAGESIZE),
               (long long)s.tree_cpu_ticks, (long long)s.usage, (long long)s.max_usage,
               (long long)s.limit_eff, nlimits, (long long)s.failcnt, (long long)s.working_set,
               (long long)s.total_rss, (long long)s.total_cache, (long long)s.oom_kill,
               (long long)s.under_oom, (long long)s.cpuacct_ns, (long long)s.nr_periods,
               (long long)s.nr_throttled, (long long)s.throttled_ns, (long long)s.quota,
               (long long)s.period, (long long)s.mem_total_kb, (long long)s.mem_avail_kb, reads);
        for (int i = 0; i < nlimits; i++) printf("limit file: %s\n", mem_limits[i].path);
    }
    if (s.procs == 0) {
        fprintf(stderr, "floor: could not read the tree of pid %d\n", pid);
        return 1;
    }
    struct rusage r0, r1;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    getrusage(RUSAGE_SELF, &r0);
    double w0 = now_us();
    long total_reads = 0, proc_sum = 0;
#ifdef FLOOR_DISPATCH
    if (use_dispatch) run_dispatch(pid, &s, ticks, interval_us, &total_reads, &proc_sum);
#endif
    for (long t = 0; t < ticks && !use_dispatch; t++) {
        if (interval_us > 0) {
            next.tv_nsec += interval_us * 1000;
            while (next.tv_nsec >= 1000000000L) { next.tv_nsec -= 1000000000L; next.tv_sec++; }
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
        }
        reads_this_tick = 0;
        tick(pid, &s);
        total_reads += reads_this_tick;
        proc_sum += s.procs;
    }
    double w1 = now_us();
    getrusage(RUSAGE_SELF, &r1);
    double ut = tv_us(r1.ru_utime) - tv_us(r0.ru_utime);
    double st = tv_us(r1.ru_stime) - tv_us(r0.ru_stime);
    printf("floor mode=%s ticks=%ld interval_us=%ld procs=%.1f reads_per_tick=%.1f "
           "cpu_us_per_tick=%.2f utime_us_per_tick=%.2f stime_us_per_tick=%.2f "
           "wall_us_per_tick=%.2f vmrss_kb=%ld checksum=%llu\n",
           use_dispatch ? "held-dispatch" : reopen_mode ? "reopen" : "held", ticks, interval_us, (double)proc_sum / ticks,
           (double)total_reads / ticks, (ut + st) / ticks, ut / ticks, st / ticks,
           (w1 - w0) / ticks, vmrss_kb(), (unsigned long long)checksum);
    if (breakdown) {
        for (int i = 0; i < nkinds; i++)
            printf("breakdown file=%s reads_per_tick=%.2f us_per_read=%.2f us_per_tick=%.2f\n",
                   kind_name[i], (double)kind_n[i] / (ticks + 1), kind_ns[i] / 1e3 / kind_n[i],
                   kind_ns[i] / 1e3 / (ticks + 1));
    }
    return 0;
}
