/* Reading a training history CSV (laperm train --history): a header row
 * naming the columns step, epoch, val_loss, val_acc, train_loss, train_acc
 * (any order; other columns are ignored), then one row per validation point.
 * Works without cairo: plot-history and anything else may use it. Errors name
 * the file and the line number. */
#include "runtime/plot.h"
#include "runtime/error.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CSV_MAX_BYTES ((size_t)1 << 30)
#define CSV_NCOLS 6

static const char *const csv_cols[CSV_NCOLS] = {"step", "epoch", "val_loss", "val_acc", "train_loss", "train_acc"};
#define CSV_EXPECTED "step,epoch,val_loss,val_acc,train_loss,train_acc"

static laperm_status read_all(const char *path, char **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return lp_fail(LAPERM_E_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap + 1);
    if (!b) {
        fclose(f);
        return lp_fail(LAPERM_E_NOMEM, "%s: out of memory", path);
    }
    for (;;) {
        if (n == cap) {
            if (cap >= CSV_MAX_BYTES) {
                free(b);
                fclose(f);
                return lp_fail(LAPERM_E_FORMAT, "%s: larger than %zu bytes, not a history file", path,
                               CSV_MAX_BYTES);
            }
            char *nb = realloc(b, cap * 2 + 1);
            if (!nb) {
                free(b);
                fclose(f);
                return lp_fail(LAPERM_E_NOMEM, "%s: out of memory", path);
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(b);
        return lp_fail(LAPERM_E_IO, "%s: read error", path);
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return LAPERM_OK;
}

/* Split line (modified in place) at commas into at most max fields, each
 * trimmed of blanks and one pair of double quotes. Returns the field count
 * (which may exceed max: the rest are not stored). */
static int split(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = '\0';
        while (isspace((unsigned char)*p)) p++;
        char *e = p + strlen(p);
        while (e > p && isspace((unsigned char)e[-1])) *--e = '\0';
        if (e - p >= 2 && p[0] == '"' && e[-1] == '"') {
            e[-1] = '\0';
            p++;
        }
        if (n < max) fields[n] = p;
        n++;
        if (!comma) break;
        p = comma + 1;
    }
    return n;
}

static int looks_numeric(const char *s)
{
    char *end;
    if (!*s) return 0;
    strtod(s, &end);
    return *end == '\0';
}

static int same_name(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return 0;
    return *a == *b;
}

#define MAX_FIELDS 64

laperm_status lp_history_read_csv(const char *path, lp_history_row **rows, int *n)
{
    if (rows) *rows = NULL;
    if (n) *n = 0;
    if (!path || !*path) return lp_fail(LAPERM_E_ARG, "history: empty file name");
    if (!rows || !n) return lp_fail(LAPERM_E_ARG, "%s: lp_history_read_csv: no output", path);
    char *buf = NULL;
    size_t len = 0;
    laperm_status s = read_all(path, &buf, &len);
    if (s) return s;
    if (memchr(buf, '\0', len)) {
        free(buf);
        return lp_fail(LAPERM_E_FORMAT, "%s: binary data (a NUL byte), not a CSV file", path);
    }
    char *p = buf;
    if ((unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB && (unsigned char)p[2] == 0xBF) p += 3;

    int col[CSV_NCOLS];
    int nfields_header = 0;
    int have_header = 0;
    lp_history_row *out = NULL;
    int count = 0, cap = 0;
    long lineno = 0;
    char *fields[MAX_FIELDS];
    while (*p) {
        char *line = p;
        char *nl = strchr(p, '\n');
        if (nl) {
            *nl = '\0';
            p = nl + 1;
        } else {
            p += strlen(p);
        }
        lineno++;
        size_t ll = strlen(line);
        if (ll && line[ll - 1] == '\r') line[--ll] = '\0';
        const char *q = line;
        while (isspace((unsigned char)*q)) q++;
        if (!*q) continue; /* blank line */

        if (!have_header) {
            int nf = split(line, fields, MAX_FIELDS);
            if (nf > MAX_FIELDS) {
                s = lp_fail(LAPERM_E_FORMAT, "%s:%ld: header has %d columns, at most %d are read", path, lineno,
                            nf, MAX_FIELDS);
                goto fail;
            }
            if (looks_numeric(fields[0])) {
                s = lp_fail(LAPERM_E_FORMAT, "%s:%ld: missing header row (expected %s), found data", path, lineno,
                            CSV_EXPECTED);
                goto fail;
            }
            for (int c = 0; c < CSV_NCOLS; c++) {
                col[c] = -1;
                for (int f = 0; f < nf; f++) {
                    if (!same_name(fields[f], csv_cols[c])) continue;
                    if (col[c] >= 0) {
                        s = lp_fail(LAPERM_E_FORMAT, "%s:%ld: header names column '%s' twice", path, lineno,
                                    csv_cols[c]);
                        goto fail;
                    }
                    col[c] = f;
                }
                if (col[c] < 0) {
                    s = lp_fail(LAPERM_E_FORMAT, "%s:%ld: header lacks column '%s' (expected %s)", path, lineno,
                                csv_cols[c], CSV_EXPECTED);
                    goto fail;
                }
            }
            nfields_header = nf;
            have_header = 1;
            continue;
        }

        int nf = split(line, fields, MAX_FIELDS);
        if (nf != nfields_header) {
            s = lp_fail(LAPERM_E_FORMAT, "%s:%ld: %d fields, the header has %d", path, lineno, nf, nfields_header);
            goto fail;
        }
        double v[CSV_NCOLS];
        for (int c = 0; c < CSV_NCOLS; c++) {
            const char *f = fields[col[c]];
            char *end;
            errno = 0;
            if (!*f && c >= 2) {
                v[c] = NAN; /* a missing measurement */
                continue;
            }
            v[c] = strtod(f, &end);
            if (!*f || *end) {
                s = lp_fail(LAPERM_E_FORMAT, "%s:%ld: column '%s': expected a number, found '%s'", path, lineno,
                            csv_cols[c], f);
                goto fail;
            }
            if (c < 2 && (!isfinite(v[c]) || v[c] != floor(v[c]) || v[c] < 0 || v[c] > 9.2e18 ||
                          (c == 1 && v[c] > 2147483647.0))) {
                s = lp_fail(LAPERM_E_FORMAT, "%s:%ld: column '%s': expected a non-negative integer, found '%s'",
                            path, lineno, csv_cols[c], f);
                goto fail;
            }
        }
        if (count == cap) {
            if (cap >= (1 << 28)) {
                s = lp_fail(LAPERM_E_FORMAT, "%s:%ld: too many rows", path, lineno);
                goto fail;
            }
            int nc = cap ? cap * 2 : 64;
            lp_history_row *r = realloc(out, (size_t)nc * sizeof *r);
            if (!r) {
                s = lp_fail(LAPERM_E_NOMEM, "%s: out of memory", path);
                goto fail;
            }
            out = r;
            cap = nc;
        }
        out[count++] = (lp_history_row){.step = (long)v[0], .epoch = (int)v[1], .val_loss = v[2], .val_acc = v[3],
                                        .train_loss = v[4], .train_acc = v[5]};
    }
    if (!have_header) {
        s = lp_fail(LAPERM_E_FORMAT, "%s: empty file (expected a header row %s)", path, CSV_EXPECTED);
        goto fail;
    }
    free(buf);
    *rows = out;
    *n = count;
    return LAPERM_OK;
fail:
    free(buf);
    free(out);
    return s;
}
