/*
 * loadgen.c -- minimal HTTP/1.1 keep-alive load generator over a Unix socket (issue #7).
 *
 * usage: loadgen SOCKET PATH CONNECTIONS SECONDS
 *   One pthread per connection; each sends `GET PATH HTTP/1.1` back to back on a
 *   keep-alive connection (closed-loop: next request after the full response), for
 *   SECONDS, and records each request's latency (send start -> last body byte).
 *   Responses are framed by Content-Length or Transfer-Encoding: chunked; if the server
 *   closes the connection, the thread reconnects (counted in `reconnects`).
 * output (one line, stdout):
 *   loadgen path=/healthz conns=1 seconds=5.00 requests=N ok=N non2xx=0 errors=0
 *           reconnects=0 rps=X p50_us=Y p90_us=.. p99_us=Z max_us=.. resp_bytes=B
 * exit status: 0 on success; 1 if no request succeeded, any connection could not be
 * established, or more than 1% of requests failed (so callers fail loudly).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *sock_path, *req_path;
static atomic_int stop_flag = 0;
static atomic_int connect_failures = 0;
static atomic_int connect_errno = 0;
static pthread_barrier_t start_barrier;

typedef struct {
    uint32_t *lat; /* microseconds */
    size_t n, cap;
    long ok, non2xx, errors, reconnects;
    long resp_bytes;
    int fd;
    char *rbuf;
    size_t rlen, rcap;
} worker_t;

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int connect_unix(void) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof a.sun_path, "%s", sock_path);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* ensure at least `need` bytes buffered; returns 0 ok, -1 on EOF/error */
static int fill(worker_t *w, size_t need) {
    while (w->rlen < need) {
        if (w->rcap - w->rlen < 65536) {
            w->rcap = w->rcap * 2 + 65536;
            w->rbuf = realloc(w->rbuf, w->rcap);
        }
        ssize_t n = read(w->fd, w->rbuf + w->rlen, w->rcap - w->rlen - 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        w->rlen += (size_t)n;
    }
    return 0;
}

static void consume(worker_t *w, size_t n) {
    memmove(w->rbuf, w->rbuf + n, w->rlen - n);
    w->rlen -= n;
}

/* find "\r\n" at or after off; returns index or -1 (fills as needed) */
static long find_crlf(worker_t *w, size_t off) {
    for (;;) {
        for (size_t i = off; i + 1 < w->rlen; i++)
            if (w->rbuf[i] == '\r' && w->rbuf[i + 1] == '\n') return (long)i;
        if (fill(w, w->rlen + 1) < 0) return -1;
    }
}

/* Reads one response. Returns status code, or -1 on error; sets *keep to 0 if the
 * server will close the connection. */
static int read_response(worker_t *w, int *keep, long *bytes) {
    /* headers */
    size_t hend = 0;
    for (;;) {
        char *p = w->rlen ? memmem(w->rbuf, w->rlen, "\r\n\r\n", 4) : NULL;
        if (p) { hend = (size_t)(p - w->rbuf) + 4; break; }
        if (fill(w, w->rlen + 1) < 0) return -1;
    }
    w->rbuf[hend - 1] = 0; /* temporarily terminate (was '\n') */
    int status = -1;
    if (sscanf(w->rbuf, "HTTP/1.%*d %d", &status) != 1) return -1;
    long clen = -1;
    int chunked = 0;
    *keep = 1;
    for (char *line = strstr(w->rbuf, "\r\n"); line && line < w->rbuf + hend - 2; line = strstr(line + 2, "\r\n")) {
        char *h = line + 2;
        if (!strncasecmp(h, "Content-Length:", 15)) clen = atol(h + 15);
        else if (!strncasecmp(h, "Transfer-Encoding:", 18) && strcasestr(h, "chunked") &&
                 strcasestr(h, "chunked") < strstr(h, "\r\n"))
            chunked = 1;
        else if (!strncasecmp(h, "Connection:", 11)) {
            char *e = strstr(h, "\r\n");
            char *c = strcasestr(h, "close");
            if (c && (!e || c < e)) *keep = 0;
        }
    }
    if (!strncmp(w->rbuf, "HTTP/1.0", 8)) {
        char *ka = strcasestr(w->rbuf, "keep-alive");
        if (!ka) *keep = 0;
    }
    consume(w, hend);
    *bytes = (long)hend;
    if (status == 204 || status == 304 || (status >= 100 && status < 200)) return status;
    if (chunked) {
        for (;;) {
            long e = find_crlf(w, 0);
            if (e < 0) return -1;
            long sz = strtol(w->rbuf, NULL, 16);
            consume(w, (size_t)e + 2);
            if (sz == 0) { /* trailers until empty line */
                for (;;) {
                    long t = find_crlf(w, 0);
                    if (t < 0) return -1;
                    consume(w, (size_t)t + 2);
                    if (t == 0) break;
                }
                break;
            }
            if (fill(w, (size_t)sz + 2) < 0) return -1;
            consume(w, (size_t)sz + 2);
            *bytes += sz;
        }
    } else if (clen >= 0) {
        if (fill(w, (size_t)clen) < 0) return -1;
        consume(w, (size_t)clen);
        *bytes += clen;
    } else { /* read until close */
        while (fill(w, w->rlen + 1) == 0) {}
        *bytes += (long)w->rlen;
        w->rlen = 0;
        *keep = 0;
    }
    return status;
}

static void *worker(void *arg) {
    worker_t *w = arg;
    char req[2048];
    int rl = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: drum-monitor-loadgen\r\n\r\n", req_path);
    w->fd = connect_unix();
    if (w->fd < 0) {
        atomic_store(&connect_errno, errno);
        atomic_fetch_add(&connect_failures, 1);
    }
    pthread_barrier_wait(&start_barrier);
    if (w->fd < 0) return NULL;
    while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
        double t0 = now_us();
        ssize_t off = 0;
        int failed = 0;
        while (off < rl) {
            ssize_t n = write(w->fd, req + off, (size_t)(rl - off));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) { failed = 1; break; }
            off += n;
        }
        int keep = 1;
        long bytes = 0;
        int status = failed ? -1 : read_response(w, &keep, &bytes);
        double t1 = now_us();
        if (status < 0) {
            w->errors++;
        } else {
            if (w->n == w->cap) {
                w->cap = w->cap ? w->cap * 2 : 65536;
                w->lat = realloc(w->lat, w->cap * sizeof *w->lat);
            }
            w->lat[w->n++] = (uint32_t)(t1 - t0 + 0.5);
            if (status >= 200 && status < 300) w->ok++; else w->non2xx++;
            w->resp_bytes = bytes;
        }
        if (status < 0 || !keep) {
            close(w->fd);
            w->rlen = 0;
            w->fd = connect_unix();
            if (w->fd < 0) { w->errors++; usleep(1000); w->fd = connect_unix(); if (w->fd < 0) break; }
            w->reconnects++;
        }
    }
    if (w->fd >= 0) close(w->fd);
    return NULL;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: loadgen SOCKET PATH CONNECTIONS SECONDS\n");
        return 2;
    }
    sock_path = argv[1];
    req_path = argv[2];
    int conns = atoi(argv[3]);
    double secs = atof(argv[4]);
    if (conns < 1 || secs <= 0) {
        fprintf(stderr, "loadgen: CONNECTIONS >= 1 and SECONDS > 0 required\n");
        return 2;
    }
    worker_t *ws = calloc((size_t)conns, sizeof *ws);
    pthread_t *th = calloc((size_t)conns, sizeof *th);
    pthread_barrier_init(&start_barrier, NULL, (unsigned)conns + 1);
    for (int i = 0; i < conns; i++) pthread_create(&th[i], NULL, worker, &ws[i]);
    pthread_barrier_wait(&start_barrier);
    double t0 = now_us();
    struct timespec d = {(time_t)secs, (long)((secs - (time_t)secs) * 1e9)};
    while (nanosleep(&d, &d) < 0 && errno == EINTR) {}
    atomic_store(&stop_flag, 1);
    for (int i = 0; i < conns; i++) pthread_join(th[i], NULL);
    double elapsed = (now_us() - t0) / 1e6;

    size_t total = 0;
    long ok = 0, non2xx = 0, errors = 0, reconnects = 0, resp_bytes = 0;
    for (int i = 0; i < conns; i++) {
        total += ws[i].n;
        ok += ws[i].ok; non2xx += ws[i].non2xx; errors += ws[i].errors;
        reconnects += ws[i].reconnects;
        if (ws[i].resp_bytes) resp_bytes = ws[i].resp_bytes;
    }
    uint32_t *all = malloc((total ? total : 1) * sizeof *all);
    size_t k = 0;
    for (int i = 0; i < conns; i++) {
        memcpy(all + k, ws[i].lat, ws[i].n * sizeof *all);
        k += ws[i].n;
    }
    qsort(all, total, sizeof *all, cmp_u32);
#define PCT(p) (total ? all[(size_t)((double)(total - 1) * (p))] : 0)
    printf("loadgen path=%s conns=%d seconds=%.2f requests=%zu ok=%ld non2xx=%ld errors=%ld "
           "reconnects=%ld rps=%.0f p50_us=%u p90_us=%u p99_us=%u max_us=%u resp_bytes=%ld\n",
           req_path, conns, elapsed, total, ok, non2xx, errors, reconnects, total / elapsed,
           PCT(0.50), PCT(0.90), PCT(0.99), total ? all[total - 1] : 0, resp_bytes);
    int cf = atomic_load(&connect_failures);
    if (cf) fprintf(stderr, "loadgen: %d connection(s) to %s failed: %s\n", cf, sock_path,
                    strerror(atomic_load(&connect_errno)));
    if (ok == 0 || cf || (double)(errors + non2xx) > 0.01 * (double)(total + errors)) {
        fprintf(stderr, "loadgen: FAILED (ok=%ld non2xx=%ld errors=%ld connect_failures=%d)\n", ok, non2xx,
                errors, cf);
        return 1;
    }
    return 0;
}
