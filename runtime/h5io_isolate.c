/* Reading untrusted .h5 files in a child process (see runtime/h5io.h).
 *
 * libhdf5 1.10.8 has heap overflows and wild reads in its object-header and
 * attribute decoding (reached from H5Aexists on a corrupt file): a hostile
 * weight file can crash it, or silently corrupt the heap of the process that
 * reads it. lp_h5_read_weights_isolated forks, runs lp_h5_read_weights in the
 * child and streams the result back through a pipe; the parent never calls
 * libhdf5, so whatever the file does to the child stays there. A child that
 * dies (a signal, or a sanitizer's exit) before sending a complete result is
 * reported as LAPERM_E_FORMAT "FILE: the HDF5 library crashed reading it
 * (corrupt file; ...)".
 *
 * The stream (native byte order, both ends are this process):
 *   u32 magic "LPH5", u32 kind (1 weights, 2 state), i32 status, str message,
 *   if status is 0:
 *     weights: i32 nlayers, i32 model_save_layout, per layer: str name,
 *              i32 nweights, per weight: str name, i32 rank, i64 shape[rank],
 *              f32 data[product(shape)]
 *     state:   i32 n, per blob: str name, i32 type, i64 count,
 *              data[count * element size]
 *   u32 magic again (the end).
 * str is u32 length + bytes. The parent bounds every count before it
 * allocates (the child is not trusted to be sane after a corrupt read).
 *
 * LAPERM_H5_NO_ISOLATE=1 reads in-process (debugging: a crash then shows
 * its stack). Without libhdf5 the calls go straight to the stubs. */
#define _POSIX_C_SOURCE 200809L

#include "runtime/h5io.h"
#include "runtime/error.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define ISO_MAGIC 0x3548504cu          /* "LPH5" */
#define ISO_KIND_WEIGHTS 1
#define ISO_KIND_STATE 2
#define ISO_MAX_ELEMS ((int64_t)1 << 31) /* as the reader: per array and per file */
#define ISO_MAX_LAYERS 100000
#define ISO_MAX_WEIGHTS 65536
#define ISO_MAX_BLOBS 65536
#define ISO_MAX_MSG 4096
#define ISO_CPU_LIMIT_S 600            /* CPU seconds the child may spend */

static int use_isolation(void)
{
#ifdef LP_WITH_HDF5
    const char *e = getenv("LAPERM_H5_NO_ISOLATE");
    return !(e && e[0] && strcmp(e, "0") != 0);
#else
    return 0;
#endif
}

/* ---- child side: buffered writes to the pipe ------------------------------- */

typedef struct wbuf {
    int fd, err;
    size_t n;
    uint8_t buf[1 << 16];
} wbuf;

static void w_raw(wbuf *w, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0 && !w->err) {
        ssize_t k = write(w->fd, b, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            w->err = 1;
            return;
        }
        b += k;
        n -= (size_t)k;
    }
}

static void w_flush(wbuf *w)
{
    w_raw(w, w->buf, w->n);
    w->n = 0;
}

static void w_bytes(wbuf *w, const void *p, size_t n)
{
    if (w->n + n > sizeof w->buf) w_flush(w);
    if (n >= sizeof w->buf) {
        w_raw(w, p, n);
        return;
    }
    memcpy(w->buf + w->n, p, n);
    w->n += n;
}

static void w_u32(wbuf *w, uint32_t v) { w_bytes(w, &v, sizeof v); }
static void w_i32(wbuf *w, int32_t v) { w_bytes(w, &v, sizeof v); }
static void w_i64(wbuf *w, int64_t v) { w_bytes(w, &v, sizeof v); }

static void w_str(wbuf *w, const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    w_u32(w, (uint32_t)n);
    w_bytes(w, s, n);
}

static size_t blob_size(lp_h5_type t)
{
    switch (t) {
    case LP_H5_F32: return 4;
    case LP_H5_F64: return 8;
    case LP_H5_I64: return 8;
    case LP_H5_U64: return 8;
    case LP_H5_U8: return 1;
    }
    return 0;
}

_Noreturn static void child_run(int fd, const char *path, int kind)
{
    /* A file that sends libhdf5 into a loop ends as SIGXCPU; no core files. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_CPU, &rl) == 0 && (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > ISO_CPU_LIMIT_S)) {
        rl.rlim_cur = ISO_CPU_LIMIT_S;
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < rl.rlim_cur) rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_CPU, &rl);
    }
    if (getrlimit(RLIMIT_CORE, &rl) == 0) {
        rl.rlim_cur = 0;
        (void)setrlimit(RLIMIT_CORE, &rl);
    }
    signal(SIGXCPU, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);

    static wbuf w; /* static: 64 KiB off the stack */
    w.fd = fd;
    w.err = 0;
    w.n = 0;
    w_u32(&w, ISO_MAGIC);
    w_u32(&w, (uint32_t)kind);
    if (kind == ISO_KIND_WEIGHTS) {
        lp_h5_weights *x = NULL;
        laperm_status s = lp_h5_read_weights(path, &x);
        w_i32(&w, (int32_t)s);
        w_str(&w, s ? laperm_last_error() : "", ISO_MAX_MSG);
        if (!s) {
            w_i32(&w, x->nlayers);
            w_i32(&w, x->model_save_layout);
            for (int i = 0; i < x->nlayers; i++) {
                const lp_h5_layer *L = &x->layers[i];
                w_str(&w, L->name, LP_H5_NAME_MAX);
                w_i32(&w, L->nweights);
                for (int j = 0; j < L->nweights; j++) {
                    const lp_h5_array *a = &L->weights[j];
                    w_str(&w, a->name, LP_H5_NAME_MAX);
                    w_i32(&w, a->rank);
                    size_t n = 1;
                    for (int k = 0; k < a->rank; k++) {
                        w_i64(&w, a->shape[k]);
                        n *= (size_t)a->shape[k];
                    }
                    w_bytes(&w, a->data, n * sizeof(float));
                }
            }
        }
    } else {
        lp_h5_blob *b = NULL;
        int nb = 0;
        laperm_status s = lp_h5_read_state(path, &b, &nb);
        w_i32(&w, (int32_t)s);
        w_str(&w, s ? laperm_last_error() : "", ISO_MAX_MSG);
        if (!s) {
            w_i32(&w, nb);
            for (int i = 0; i < nb; i++) {
                w_str(&w, b[i].name, LP_H5_NAME_MAX);
                w_i32(&w, (int32_t)b[i].type);
                w_i64(&w, b[i].count);
                w_bytes(&w, b[i].data, (size_t)b[i].count * blob_size(b[i].type));
            }
        }
    }
    w_u32(&w, ISO_MAGIC);
    w_flush(&w);
    /* No free, no exit handlers: the process is thrown away. */
    _exit(w.err ? 3 : 0);
}

/* ---- parent side: bounded decoding ------------------------------------------ */

typedef struct rbuf {
    int fd, bad; /* bad: short or malformed stream */
    size_t at, n;
    uint8_t buf[1 << 16];
} rbuf;

static int r_fill(rbuf *r)
{
    for (;;) {
        ssize_t k = read(r->fd, r->buf, sizeof r->buf);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return 0;
        r->at = 0;
        r->n = (size_t)k;
        return 1;
    }
}

static int r_bytes(rbuf *r, void *p, size_t n)
{
    uint8_t *d = p;
    while (n > 0 && !r->bad) {
        if (r->at == r->n) {
            /* Large reads go straight into the destination. */
            if (n >= sizeof r->buf) {
                ssize_t k = read(r->fd, d, n);
                if (k < 0 && errno == EINTR) continue;
                if (k <= 0) {
                    r->bad = 1;
                    break;
                }
                d += k;
                n -= (size_t)k;
                continue;
            }
            if (!r_fill(r)) {
                r->bad = 1;
                break;
            }
        }
        size_t k = r->n - r->at < n ? r->n - r->at : n;
        memcpy(d, r->buf + r->at, k);
        r->at += k;
        d += k;
        n -= k;
    }
    return !r->bad;
}

static int32_t r_i32(rbuf *r)
{
    int32_t v = 0;
    r_bytes(r, &v, sizeof v);
    return v;
}

static uint32_t r_u32(rbuf *r)
{
    uint32_t v = 0;
    r_bytes(r, &v, sizeof v);
    return v;
}

static int64_t r_i64(rbuf *r)
{
    int64_t v = 0;
    r_bytes(r, &v, sizeof v);
    return v;
}

/* A string of at most cap - 1 bytes into dst (NUL-terminated). */
static void r_str(rbuf *r, char *dst, size_t cap)
{
    uint32_t n = r_u32(r);
    if (r->bad || n >= cap) {
        r->bad = 1;
        dst[0] = '\0';
        return;
    }
    r_bytes(r, dst, n);
    dst[r->bad ? 0 : n] = '\0';
}

static lp_h5_weights *decode_weights(rbuf *r)
{
    int32_t nl = r_i32(r), layout = r_i32(r);
    if (r->bad || nl < 0 || nl > ISO_MAX_LAYERS) {
        r->bad = 1;
        return NULL;
    }
    lp_h5_weights *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->model_save_layout = layout != 0;
    if (nl > 0 && !(w->layers = calloc((size_t)nl, sizeof *w->layers))) goto fail;
    int64_t total = 0;
    for (int i = 0; i < nl; i++) {
        lp_h5_layer *L = &w->layers[i];
        w->nlayers = i + 1;
        r_str(r, L->name, sizeof L->name);
        int32_t nw = r_i32(r);
        if (r->bad || nw < 0 || nw > ISO_MAX_WEIGHTS) goto bad;
        if (nw > 0 && !(L->weights = calloc((size_t)nw, sizeof *L->weights))) goto fail;
        for (int j = 0; j < nw; j++) {
            lp_h5_array *a = &L->weights[j];
            L->nweights = j + 1;
            r_str(r, a->name, sizeof a->name);
            a->rank = r_i32(r);
            if (r->bad || a->rank < 0 || a->rank > LP_H5_MAX_RANK) goto bad;
            int64_t n = 1;
            for (int k = 0; k < a->rank; k++) {
                int64_t d = r_i64(r);
                if (r->bad || d < 0 || d > ISO_MAX_ELEMS || (d > 0 && n > ISO_MAX_ELEMS / d)) goto bad;
                a->shape[k] = d;
                n *= d;
            }
            if (n > ISO_MAX_ELEMS - total) goto bad;
            total += n;
            if (!(a->data = malloc(n ? (size_t)n * sizeof(float) : sizeof(float)))) goto fail;
            if (!r_bytes(r, a->data, (size_t)n * sizeof(float))) goto bad;
        }
    }
    return w;
bad:
    r->bad = 1;
fail:
    lp_h5_weights_free(w);
    return NULL;
}

static lp_h5_blob *decode_state(rbuf *r, int *nout)
{
    *nout = 0;
    int32_t n = r_i32(r);
    if (r->bad || n < 0 || n > ISO_MAX_BLOBS) {
        r->bad = 1;
        return NULL;
    }
    lp_h5_blob *b = calloc(n ? (size_t)n : 1, sizeof *b);
    if (!b) return NULL;
    int got = 0;
    for (int i = 0; i < n; i++) {
        lp_h5_blob *x = &b[i];
        got = i + 1;
        r_str(r, x->name, sizeof x->name);
        int32_t t = r_i32(r);
        x->count = r_i64(r);
        size_t es = (t >= 0 && t <= (int32_t)LP_H5_U8) ? blob_size((lp_h5_type)t) : 0;
        if (r->bad || !es || x->count < 0 || x->count > ISO_MAX_ELEMS) goto bad;
        x->type = (lp_h5_type)t;
        if (!(x->data = malloc(x->count ? (size_t)x->count * es : es))) goto fail;
        if (!r_bytes(r, x->data, (size_t)x->count * es)) goto bad;
    }
    *nout = n;
    return b;
bad:
    r->bad = 1;
fail:
    lp_h5_blobs_free(b, got);
    return NULL;
}

/* The parent's half: decode the child's stream from fd, reap the child,
 * and turn an early death into an error naming path. */
static laperm_status run_parent(const char *path, int kind, pid_t pid, int fd, lp_h5_weights **wout,
                                lp_h5_blob **bout, int *nb)
{
    static _Thread_local rbuf r;
    memset(&r, 0, offsetof(rbuf, buf));
    r.fd = fd;
    char msg[ISO_MAX_MSG + 1];
    lp_h5_weights *w = NULL;
    lp_h5_blob *b = NULL;
    int n = 0, nomem = 0;
    if (r_u32(&r) != ISO_MAGIC || r_u32(&r) != (uint32_t)kind) r.bad = 1;
    int32_t st = r_i32(&r);
    if (st < (int32_t)LAPERM_OK || st > (int32_t)LAPERM_E_INTERRUPTED) r.bad = 1;
    r_str(&r, msg, sizeof msg);
    if (!r.bad && st == LAPERM_OK) {
        if (kind == ISO_KIND_WEIGHTS) w = decode_weights(&r);
        else b = decode_state(&r, &n);
        nomem = !r.bad && !w && !b;
    }
    if (!r.bad && !nomem && r_u32(&r) != ISO_MAGIC) r.bad = 1;
    if (!r.bad && !nomem) {
        uint8_t extra;
        if (r_bytes(&r, &extra, 1)) r.bad = 1; /* nothing may follow the end mark */
        else r.bad = 0;                        /* (the EOF that r_bytes flagged) */
    }
    /* Closing our end stops a child still writing (EPIPE or SIGPIPE). */
    close(fd);
    int ws = 0;
    pid_t got;
    do got = waitpid(pid, &ws, 0);
    while (got < 0 && errno == EINTR);
    int reaped = got == pid;
    int complete = !r.bad && !nomem;

    /* Success needs the whole stream and a clean exit: a child that crashed
     * after sending may have computed its result from a corrupted heap.
     * (Without a status to look at, SIGCHLD ignored, the end mark decides:
     * the child sends it as the last thing before _exit.) */
    if (complete && ((reaped && WIFEXITED(ws) && WEXITSTATUS(ws) == 0) || (!reaped && errno == ECHILD))) {
        if (st != LAPERM_OK) return lp_fail((laperm_status)st, "%s", msg);
        if (wout) *wout = w;
        if (bout) {
            *bout = b;
            *nb = n;
        }
        return LAPERM_OK;
    }
    lp_h5_weights_free(w);
    lp_h5_blobs_free(b, n);
    if (nomem) return lp_fail(LAPERM_E_NOMEM, "%s: out of memory for its contents", path);
    if (reaped && WIFSIGNALED(ws) && WTERMSIG(ws) != SIGPIPE) {
        int sig = WTERMSIG(ws);
        if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP)
            return lp_fail(LAPERM_E_INTERRUPTED, "%s: interrupted while reading it", path);
        if (sig == SIGXCPU)
            return lp_fail(LAPERM_E_FORMAT,
                           "%s: the HDF5 library spent over %d s of CPU time reading it (corrupt file)",
                           path, ISO_CPU_LIMIT_S);
        return lp_fail(LAPERM_E_FORMAT,
                       "%s: the HDF5 library crashed reading it (corrupt file; signal %d, %s)", path,
                       sig, strsignal(sig));
    }
    if (reaped && WIFEXITED(ws) && WEXITSTATUS(ws) != 0 && WEXITSTATUS(ws) != 3)
        return lp_fail(LAPERM_E_FORMAT,
                       "%s: the HDF5 library crashed reading it (corrupt file; the reader exited "
                       "with status %d)",
                       path, WEXITSTATUS(ws));
    return lp_fail(LAPERM_E_FORMAT,
                   "%s: the HDF5 library crashed reading it (corrupt file; incomplete result)", path);
}

/* Fork, read path in the child, decode in the parent: *wout or (*bout, *nb)
 * receive the result, *status its status. Returns -1 (nothing done) when no
 * child could be started, else 0. */
static int run_isolated(const char *path, int kind, lp_h5_weights **wout, lp_h5_blob **bout, int *nb,
                        laperm_status *status)
{
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        child_run(fds[1], path, kind);
    }
    close(fds[1]);
    *status = run_parent(path, kind, pid, fds[0], wout, bout, nb);
    return 0;
}

laperm_status lp_h5_read_weights_isolated(const char *path, lp_h5_weights **out)
{
    if (!out) return lp_fail(LAPERM_E_ARG, "lp_h5_read_weights_isolated: out is NULL");
    *out = NULL;
    if (!path || !*path || !use_isolation()) return lp_h5_read_weights(path, out);
    laperm_status st;
    /* No process to spare (pipe or fork failed): read here. */
    if (run_isolated(path, ISO_KIND_WEIGHTS, out, NULL, NULL, &st) < 0) return lp_h5_read_weights(path, out);
    return st;
}

laperm_status lp_h5_read_state_isolated(const char *path, lp_h5_blob **out, int *n)
{
    if (!out || !n) return lp_fail(LAPERM_E_ARG, "lp_h5_read_state_isolated: out or n is NULL");
    *out = NULL;
    *n = 0;
    if (!path || !*path || !use_isolation()) return lp_h5_read_state(path, out, n);
    laperm_status st;
    if (run_isolated(path, ISO_KIND_STATE, NULL, out, n, &st) < 0) return lp_h5_read_state(path, out, n);
    return st;
}
