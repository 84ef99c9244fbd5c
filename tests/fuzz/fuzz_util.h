/* Shared by the libFuzzer targets: a private scratch directory (tmpfs when
 * there is one) and whole-file writes into it. The readers under test take
 * paths, so every input goes through a real file. */
#ifndef LAPERM_TESTS_FUZZ_UTIL_H
#define LAPERM_TESTS_FUZZ_UTIL_H

#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char fz_dir[256];

static void fz_cleanup(void)
{
    if (!fz_dir[0]) return;
    DIR *d = opendir(fz_dir);
    if (d) {
        struct dirent *e;
        char p[512];
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(p, sizeof p, "%s/%s", fz_dir, e->d_name);
                unlink(p);
            }
        closedir(d);
    }
    rmdir(fz_dir);
}

/* The scratch directory, made on first use and removed at exit. */
static const char *fz_scratch(void)
{
    if (fz_dir[0]) return fz_dir;
    struct stat st;
    const char *base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
    snprintf(fz_dir, sizeof fz_dir, "%s/laperm-fuzz-XXXXXX", base);
    if (!mkdtemp(fz_dir)) {
        perror("mkdtemp");
        abort();
    }
    atexit(fz_cleanup);
    return fz_dir;
}

/* path = scratch/name, holding data[0..n) and then zeros up to total bytes
 * (a sparse tail: total > n makes a big file cheaply). */
static void fz_write(char *path, size_t cap, const char *name, const uint8_t *data, size_t n,
                     size_t total)
{
    snprintf(path, cap, "%s/%s", fz_scratch(), name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        perror(path);
        abort();
    }
    size_t at = 0;
    while (at < n) {
        ssize_t w = write(fd, data + at, n - at);
        if (w <= 0) {
            perror(path);
            abort();
        }
        at += (size_t)w;
    }
    if (total > n && ftruncate(fd, (off_t)total) != 0) {
        perror(path);
        abort();
    }
    close(fd);
}

#endif
