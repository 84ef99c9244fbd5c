/* Keras weight files through libhdf5 (see runtime/h5io.h).
 *
 * The reader treats every file as hostile: every HDF5 call is checked, string
 * lengths, ranks, counts and sizes are bounded before anything is allocated,
 * external links, external raw-data files and virtual datasets are refused
 * (they would make a weights file read other files), and every error path
 * releases what it holds. HDF5's own error printing is switched off; the
 * innermost message of its error stack goes into our one-line error. */
#define _XOPEN_SOURCE 700 /* mkstemp, fchmod, fsync, O_DIRECTORY */

#include "runtime/h5io.h"
#include "runtime/error.h"

#include <hdf5.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Limits on what a file may claim. */
#define H5_MAX_ELEMS ((int64_t)1 << 31)       /* per dataset and per file */
#define H5_MAX_LAYERS 100000
#define H5_MAX_WEIGHTS 65536                  /* per layer */
#define H5_MAX_BLOBS 65536
#define H5_MAX_STRSIZE 65536                  /* one fixed-length string */
#define H5_MAX_STRBYTES ((size_t)64 << 20)    /* one string attribute */
#define H5_MAX_ATTR_CHUNKS 100000             /* Keras' name0, name1, ... */
#define H5_MAX_FILTER_RATIO 2048              /* compressed datasets */
#define H5_ATTR_LIMIT 64512                   /* Keras' HDF5_OBJECT_HEADER_LIMIT */

/* ---- small helpers --------------------------------------------------------- */

static void h5_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

/* 1.12 renamed two calls (the old names stay as deprecated symbols). */
#if H5_VERSION_GE(1, 12, 0)
#define LP_H5_IS_HDF5(path) H5Fis_accessible((path), H5P_DEFAULT)
#define LP_H5_RECLAIM(type, space, buf) H5Treclaim((type), (space), H5P_DEFAULT, (buf))
#else
#define LP_H5_IS_HDF5(path) H5Fis_hdf5(path)
#define LP_H5_RECLAIM(type, space, buf) H5Dvlen_reclaim((type), (space), H5P_DEFAULT, (buf))
#endif

static void close_id(hid_t *id, herr_t (*fn)(hid_t))
{
    if (*id >= 0) fn(*id);
    *id = H5I_INVALID_HID;
}
#define CLOSE_A(id) close_id(&(id), H5Aclose)
#define CLOSE_D(id) close_id(&(id), H5Dclose)
#define CLOSE_G(id) close_id(&(id), H5Gclose)
#define CLOSE_S(id) close_id(&(id), H5Sclose)
#define CLOSE_T(id) close_id(&(id), H5Tclose)
#define CLOSE_P(id) close_id(&(id), H5Pclose)
#define CLOSE_F(id) close_id(&(id), H5Fclose)

/* ": " and the innermost description on this thread's HDF5 error stack, for
 * messages such as ": truncated file: eof = ..."; "" if the stack is empty. */
typedef struct { char *buf; size_t size; int got; } h5_detail_ctx;

static herr_t detail_cb(unsigned n, const H5E_error2_t *e, void *p)
{
    (void)n;
    h5_detail_ctx *c = p;
    if (!c->got && e && e->desc && e->desc[0]) {
        snprintf(c->buf, c->size, ": %s", e->desc);
        c->got = 1;
    }
    return 0;
}

static const char *h5_detail(char *buf, size_t size)
{
    h5_detail_ctx c = {buf, size, 0};
    buf[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, detail_cb, &c);
    /* Keep messages on one line. */
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return buf;
}


static void type_desc(hid_t t, char *buf, size_t size)
{
    H5T_class_t cls = H5Tget_class(t);
    size_t bytes = H5Tget_size(t);
    switch (cls) {
    case H5T_FLOAT:
        if (bytes == 4 && H5Tequal(t, H5T_IEEE_F32LE) <= 0 && H5Tequal(t, H5T_IEEE_F32BE) <= 0)
            snprintf(buf, size, "a non-IEEE 32-bit float");
        else
            snprintf(buf, size, "float%zu", bytes * 8);
        break;
    case H5T_INTEGER:
        snprintf(buf, size, "%sint%zu", H5Tget_sign(t) == H5T_SGN_NONE ? "u" : "", bytes * 8);
        break;
    case H5T_STRING: snprintf(buf, size, "string"); break;
    case H5T_COMPOUND: snprintf(buf, size, "compound"); break;
    case H5T_ENUM: snprintf(buf, size, "enum"); break;
    case H5T_ARRAY: snprintf(buf, size, "array"); break;
    case H5T_VLEN: snprintf(buf, size, "vlen"); break;
    case H5T_OPAQUE: snprintf(buf, size, "opaque"); break;
    case H5T_BITFIELD: snprintf(buf, size, "bitfield"); break;
    case H5T_REFERENCE: snprintf(buf, size, "reference"); break;
    case H5T_TIME: snprintf(buf, size, "time"); break;
    default: snprintf(buf, size, "an unknown type"); break;
    }
}

/* ---- reading --------------------------------------------------------------- */

typedef struct rd {
    const char *path;
    hid_t gapl, dapl, lapl; /* access lists that refuse external links */
    int64_t total;          /* elements read so far */
    char elink[200];        /* the external link refused last, for messages */
} rd;

/* External links would let a weights file open other files: refuse them. */
static herr_t deny_elink(const char *parent_file, const char *parent_group, const char *child_file,
                         const char *child_obj, unsigned *flags, hid_t fapl, void *op)
{
    (void)parent_file, (void)parent_group, (void)flags, (void)fapl;
    rd *r = op;
    snprintf(r->elink, sizeof r->elink, "external link to %.80s:%.80s refused",
             child_file ? child_file : "?", child_obj ? child_obj : "?");
    return -1;
}

/* Why the last HDF5 call failed: a refused external link, else HDF5's
 * innermost message. */
static const char *rd_detail(rd *r, char *buf, size_t size)
{
    if (r->elink[0]) {
        snprintf(buf, size, ": %s", r->elink);
        r->elink[0] = '\0';
        return buf;
    }
    return h5_detail(buf, size);
}

typedef struct namelist {
    char (*v)[LP_H5_NAME_MAX];
    int n, cap;
} namelist;

static void names_free(namelist *nl)
{
    free(nl->v);
    nl->v = NULL;
    nl->n = nl->cap = 0;
}

static laperm_status names_push(rd *r, const char *where, const char *aname, namelist *nl,
                                const char *s, size_t len, hssize_t idx)
{
    if (len == 0)
        return lp_fail(LAPERM_E_FORMAT, "%s: %s: attribute %s: empty name at index %lld", r->path,
                       where, aname, (long long)idx);
    if (len >= LP_H5_NAME_MAX)
        return lp_fail(LAPERM_E_FORMAT,
                       "%s: %s: attribute %s: name at index %lld is %zu bytes, expected at most %d",
                       r->path, where, aname, (long long)idx, len, LP_H5_NAME_MAX - 1);
    if (nl->n == nl->cap) {
        int cap = nl->cap ? nl->cap * 2 : 16;
        void *p = realloc(nl->v, (size_t)cap * sizeof *nl->v);
        if (!p) return lp_fail(LAPERM_E_NOMEM, "%s: out of memory reading %s", r->path, aname);
        nl->v = p;
        nl->cap = cap;
    }
    memcpy(nl->v[nl->n], s, len);
    nl->v[nl->n][len] = '\0';
    nl->n++;
    return LAPERM_OK;
}

/* Append the strings of one attribute (fixed-length or variable-length, as
 * h5py writes them) to nl. An empty attribute of any type is accepted: Keras
 * writes weight_names of a layer without weights as an empty float64 array. */
static laperm_status read_str_attr(rd *r, hid_t obj, const char *where, const char *aname,
                                   namelist *nl, int max)
{
    laperm_status st = LAPERM_OK;
    hid_t a = H5I_INVALID_HID, sp = H5I_INVALID_HID, ft = H5I_INVALID_HID, mt = H5I_INVALID_HID;
    char det[256], td[64];
    void *buf = NULL;
    int vl_read = 0;
    hssize_t np = 0;

    if ((a = H5Aopen(obj, aname, H5P_DEFAULT)) < 0) {
        st = lp_fail(LAPERM_E_FORMAT, "%s: %s: cannot open attribute %s%s", r->path, where, aname,
                     rd_detail(r, det, sizeof det));
        goto done;
    }
    if ((sp = H5Aget_space(a)) < 0 || (ft = H5Aget_type(a)) < 0) {
        st = lp_fail(LAPERM_E_FORMAT, "%s: %s: attribute %s: cannot read its type or shape%s",
                     r->path, where, aname, rd_detail(r, det, sizeof det));
        goto done;
    }
    H5S_class_t sc = H5Sget_simple_extent_type(sp);
    if (sc == H5S_NULL) {
        np = 0;
    } else if (sc == H5S_SCALAR) {
        np = 1;
    } else if (sc == H5S_SIMPLE) {
        int nd = H5Sget_simple_extent_ndims(sp);
        if (nd != 1) {
            st = lp_fail(LAPERM_E_FORMAT, "%s: %s: attribute %s: expected a 1-D array, found rank %d",
                         r->path, where, aname, nd);
            goto done;
        }
        np = H5Sget_simple_extent_npoints(sp);
    } else {
        np = -1;
    }
    if (np < 0) {
        st = lp_fail(LAPERM_E_FORMAT, "%s: %s: attribute %s: unreadable dataspace", r->path, where,
                     aname);
        goto done;
    }
    if (np == 0) goto done;
    if (np > (hssize_t)(max - nl->n)) {
        st = lp_fail(LAPERM_E_FORMAT, "%s: %s: attribute %s: %lld entries, expected at most %d",
                     r->path, where, aname, (long long)np + nl->n, max);
        goto done;
    }
    if (H5Tget_class(ft) != H5T_STRING) {
        type_desc(ft, td, sizeof td);
        st = lp_fail(LAPERM_E_FORMAT, "%s: %s: attribute %s: expected strings, found %s", r->path,
                     where, aname, td);
        goto done;
    }
    htri_t is_vl = H5Tis_variable_str(ft);
    H5T_cset_t cset = H5Tget_cset(ft);
    if (is_vl < 0 || cset < 0 || (mt = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_cset(mt, cset) < 0) {
        st = lp_fail(LAPERM_E_FORMAT, "%s: %s: attribute %s: unreadable string type%s", r->path,
                     where, aname, rd_detail(r, det, sizeof det));
        goto done;
    }
    if (is_vl) {
        if (H5Tset_size(mt, H5T_VARIABLE) < 0) {
            st = lp_fail(LAPERM_E_FORMAT, "%s: %s: attribute %s: unreadable string type", r->path,
                         where, aname);
            goto done;
        }
        if (!(buf = calloc((size_t)np, sizeof(char *)))) {
            st = lp_fail(LAPERM_E_NOMEM, "%s: %s: attribute %s: out of memory", r->path, where,
                         aname);
            goto done;
        }
        if (H5Aread(a, mt, buf) < 0) {
            st = lp_fail(LAPERM_E_FORMAT, "%s: %s: cannot read attribute %s%s", r->path, where,
                         aname, rd_detail(r, det, sizeof det));
            goto done;
        }
        vl_read = 1;
        char **s = buf;
        for (hssize_t i = 0; i < np; i++) {
            const char *v = s[i] ? s[i] : "";
            size_t len = strnlen(v, H5_MAX_STRSIZE);
            if ((st = names_push(r, where, aname, nl, v, len, i))) goto done;
        }
    } else {
        size_t size = H5Tget_size(ft);
        if (size == 0 || size > H5_MAX_STRSIZE || (size_t)np > H5_MAX_STRBYTES / size) {
            st = lp_fail(LAPERM_E_FORMAT,
                         "%s: %s: attribute %s: %lld strings of %zu bytes, expected at most %zu bytes in all",
                         r->path, where, aname, (long long)np, size, H5_MAX_STRBYTES);
            goto done;
        }
        if (H5Tset_size(mt, size) < 0 || H5Tset_strpad(mt, H5T_STR_NULLPAD) < 0) {
            st = lp_fail(LAPERM_E_FORMAT, "%s: %s: attribute %s: unreadable string type", r->path,
                         where, aname);
            goto done;
        }
        if (!(buf = malloc((size_t)np * size))) {
            st = lp_fail(LAPERM_E_NOMEM, "%s: out of memory reading attribute %s", r->path, aname);
            goto done;
        }
        if (H5Aread(a, mt, buf) < 0) {
            st = lp_fail(LAPERM_E_FORMAT, "%s: %s: cannot read attribute %s%s", r->path, where,
                         aname, rd_detail(r, det, sizeof det));
            goto done;
        }
        const char *s = buf;
        for (hssize_t i = 0; i < np; i++) {
            const char *v = s + (size_t)i * size;
            size_t len = strnlen(v, size);
            if ((st = names_push(r, where, aname, nl, v, len, i))) goto done;
        }
    }
done:
    if (vl_read) LP_H5_RECLAIM(mt, sp, buf);
    free(buf);
    CLOSE_T(mt);
    CLOSE_T(ft);
    CLOSE_S(sp);
    CLOSE_A(a);
    return st;
}

/* A string-list attribute as Keras reads it: `name` itself, or when Keras had
 * to split it (over 64512 bytes) name0, name1, ... in order. *found = 0 if
 * neither exists. */
static laperm_status read_names(rd *r, hid_t obj, const char *where, const char *aname,
                                namelist *nl, int max, int *found)
{
    char det[256], cn[96];
    *found = 0;
    htri_t ex = H5Aexists(obj, aname);
    if (ex < 0)
        return lp_fail(LAPERM_E_FORMAT, "%s: %s: cannot look up attribute %s%s", r->path, where,
                       aname, rd_detail(r, det, sizeof det));
    if (ex > 0) {
        *found = 1;
        return read_str_attr(r, obj, where, aname, nl, max);
    }
    for (int i = 0; i < H5_MAX_ATTR_CHUNKS; i++) {
        snprintf(cn, sizeof cn, "%s%d", aname, i);
        ex = H5Aexists(obj, cn);
        if (ex < 0)
            return lp_fail(LAPERM_E_FORMAT, "%s: %s: cannot look up attribute %s%s", r->path, where,
                           cn, rd_detail(r, det, sizeof det));
        if (ex == 0) return LAPERM_OK;
        *found = 1;
        laperm_status st = read_str_attr(r, obj, where, cn, nl, max);
        if (st) return st;
    }
    return lp_fail(LAPERM_E_FORMAT, "%s: %s: attribute %s split into more than %d parts", r->path,
                   where, aname, H5_MAX_ATTR_CHUNKS);
}

/* Refuse storage that reads other files or that cannot hold what the shape
 * claims (a small hostile file must not make us allocate gigabytes). */
static laperm_status check_storage(rd *r, const char *what, hid_t d, uint64_t need)
{
    char det[256];
    laperm_status st = LAPERM_OK;
    hid_t dcpl = H5Dget_create_plist(d);
    if (dcpl < 0)
        return lp_fail(LAPERM_E_FORMAT, "%s: %s: cannot read its creation properties%s", r->path,
                       what, rd_detail(r, det, sizeof det));
    H5D_layout_t layout = H5Pget_layout(dcpl);
    int next = H5Pget_external_count(dcpl);
    int nfilt = H5Pget_nfilters(dcpl);
    if (layout < 0 || next < 0 || nfilt < 0) {
        st = lp_fail(LAPERM_E_FORMAT, "%s: %s: unreadable storage properties%s", r->path, what,
                     rd_detail(r, det, sizeof det));
    } else if (layout == H5D_VIRTUAL) {
        st = lp_fail(LAPERM_E_FORMAT, "%s: %s: virtual datasets are not supported", r->path, what);
    } else if (next > 0) {
        st = lp_fail(LAPERM_E_FORMAT, "%s: %s: external raw-data files are not supported", r->path,
                     what);
    } else if (need > 0) {
        uint64_t have = H5Dget_storage_size(d);
        if (nfilt == 0 && have < need)
            st = lp_fail(LAPERM_E_FORMAT,
                         "%s: %s: stores %" PRIu64 " bytes, its shape needs %" PRIu64
                         " (truncated, unwritten or corrupt dataset)",
                         r->path, what, have, need);
        else if (nfilt > 0 && need / H5_MAX_FILTER_RATIO > have + (1u << 20) / H5_MAX_FILTER_RATIO)
            st = lp_fail(LAPERM_E_FORMAT,
                         "%s: %s: stores %" PRIu64 " compressed bytes for %" PRIu64
                         " bytes of data (ratio over %d: corrupt or hostile dataset)",
                         r->path, what, have, need, H5_MAX_FILTER_RATIO);
    }
    CLOSE_P(dcpl);
    return st;
}

/* Shape of a dataset: rank <= max_rank, every dimension and the product
 * bounded by H5_MAX_ELEMS. */
static laperm_status read_shape(rd *r, const char *what, hid_t sp, int max_rank, int *rank,
                                int64_t *dims, int64_t *count)
{
    H5S_class_t sc = H5Sget_simple_extent_type(sp);
    if (sc == H5S_SCALAR) {
        *rank = 0;
        *count = 1;
        return LAPERM_OK;
    }
    if (sc != H5S_SIMPLE)
        return lp_fail(LAPERM_E_FORMAT, "%s: %s: expected a simple dataspace, found %s", r->path,
                       what, sc == H5S_NULL ? "a null dataspace" : "an unreadable dataspace");
    int nd = H5Sget_simple_extent_ndims(sp);
    if (nd < 0 || nd > H5S_MAX_RANK)
        return lp_fail(LAPERM_E_FORMAT, "%s: %s: unreadable rank", r->path, what);
    if (nd > max_rank)
        return lp_fail(LAPERM_E_FORMAT, "%s: %s: expected rank at most %d, found rank %d", r->path,
                       what, max_rank, nd);
    hsize_t hd[H5S_MAX_RANK];
    if (H5Sget_simple_extent_dims(sp, hd, NULL) != nd)
        return lp_fail(LAPERM_E_FORMAT, "%s: %s: unreadable dimensions", r->path, what);
    int64_t n = 1;
    int big = 0;
    for (int i = 0; i < nd; i++) {
        if (hd[i] > (hsize_t)H5_MAX_ELEMS) big = 1;
        dims[i] = big ? 0 : (int64_t)hd[i];
    }
    for (int i = 0; i < nd && !big; i++) {
        if (dims[i] == 0) {
            n = 0;
        } else if (n > H5_MAX_ELEMS / dims[i]) {
            big = 1;
        } else {
            n *= dims[i];
        }
    }
    if (big || n > H5_MAX_ELEMS) {
        char sh[160];
        size_t k = (size_t)snprintf(sh, sizeof sh, "[");
        for (int i = 0; i < nd && k < sizeof sh; i++)
            k += (size_t)snprintf(sh + k, sizeof sh - k, "%s%llu", i ? "," : "",
                                  (unsigned long long)hd[i]);
        if (k < sizeof sh) snprintf(sh + k, sizeof sh - k, "]");
        return lp_fail(LAPERM_E_FORMAT, "%s: %s: shape %s has more than 2^31 elements", r->path,
                       what, sh);
    }
    *rank = nd;
    *count = n;
    return LAPERM_OK;
}

static laperm_status read_array(rd *r, hid_t grp, const char *lname, const char *wname,
                                lp_h5_array *arr)
{
    laperm_status st = LAPERM_OK;
    hid_t d = H5I_INVALID_HID, t = H5I_INVALID_HID, sp = H5I_INVALID_HID;
    char det[256], td[64], what[2 * LP_H5_NAME_MAX + 32];
    snprintf(what, sizeof what, "layer %s: dataset %s", lname, wname);

    snprintf(arr->name, sizeof arr->name, "%s", wname);
    htri_t ex = H5Lexists(grp, wname, r->lapl);
    if (ex <= 0) {
        st = lp_fail(LAPERM_E_FORMAT, "%s: layer %s: missing dataset %s (named in weight_names)",
                     r->path, lname, wname);
        goto done;
    }
    if ((d = H5Dopen2(grp, wname, r->dapl)) < 0) {
        st = lp_fail(LAPERM_E_FORMAT, "%s: %s: cannot open as a dataset%s", r->path, what,
                     rd_detail(r, det, sizeof det));
        goto done;
    }
    if ((t = H5Dget_type(d)) < 0 || (sp = H5Dget_space(d)) < 0) {
        st = lp_fail(LAPERM_E_FORMAT, "%s: %s: cannot read its type or shape%s", r->path, what,
                     rd_detail(r, det, sizeof det));
        goto done;
    }
    if (H5Tget_class(t) != H5T_FLOAT ||
        (H5Tequal(t, H5T_IEEE_F32LE) <= 0 && H5Tequal(t, H5T_IEEE_F32BE) <= 0)) {
        type_desc(t, td, sizeof td);
        st = lp_fail(LAPERM_E_FORMAT, "%s: %s: expected float32, found %s", r->path, what, td);
        goto done;
    }
    int64_t n = 0;
    if ((st = read_shape(r, what, sp, LP_H5_MAX_RANK, &arr->rank, arr->shape, &n))) goto done;
    if (n > H5_MAX_ELEMS - r->total) {
        st = lp_fail(LAPERM_E_FORMAT, "%s: %s: the file holds more than 2^31 weights in all",
                     r->path, what);
        goto done;
    }
    if ((st = check_storage(r, what, d, (uint64_t)n * sizeof(float)))) goto done;
    if (!(arr->data = malloc(n ? (size_t)n * sizeof(float) : sizeof(float)))) {
        st = lp_fail(LAPERM_E_NOMEM, "%s: %s: out of memory for %" PRId64 " floats", r->path, what,
                     n);
        goto done;
    }
    if (n > 0 && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, arr->data) < 0) {
        st = lp_fail(LAPERM_E_FORMAT, "%s: %s: cannot read%s", r->path, what,
                     rd_detail(r, det, sizeof det));
        goto done;
    }
    r->total += n;
done:
    CLOSE_S(sp);
    CLOSE_T(t);
    CLOSE_D(d);
    return st;
}

static laperm_status read_layer(rd *r, hid_t base, const char *lname, lp_h5_layer *L)
{
    laperm_status st = LAPERM_OK;
    hid_t g = H5I_INVALID_HID;
    namelist wn = {0};
    char det[256], where[LP_H5_NAME_MAX + 16];
    snprintf(L->name, sizeof L->name, "%s", lname);
    snprintf(where, sizeof where, "layer %s", lname);

    htri_t ex = H5Lexists(base, lname, r->lapl);
    if (ex <= 0) {
        st = lp_fail(LAPERM_E_FORMAT, "%s: layer %s: missing group (named in layer_names)", r->path,
                     lname);
        goto done;
    }
    if ((g = H5Gopen2(base, lname, r->gapl)) < 0) {
        st = lp_fail(LAPERM_E_FORMAT, "%s: layer %s: cannot open as a group%s", r->path, lname,
                     rd_detail(r, det, sizeof det));
        goto done;
    }
    int found = 0;
    if ((st = read_names(r, g, where, "weight_names", &wn, H5_MAX_WEIGHTS, &found))) goto done;
    if (!found) {
        st = lp_fail(LAPERM_E_FORMAT, "%s: layer %s: missing attribute weight_names", r->path, lname);
        goto done;
    }
    if (wn.n > 0) {
        if (!(L->weights = calloc((size_t)wn.n, sizeof *L->weights))) {
            st = lp_fail(LAPERM_E_NOMEM, "%s: layer %s: out of memory", r->path, lname);
            goto done;
        }
        for (int i = 0; i < wn.n; i++) {
            L->nweights = i + 1; /* so that a failure frees what was read */
            if ((st = read_array(r, g, lname, wn.v[i], &L->weights[i]))) goto done;
        }
    }
done:
    names_free(&wn);
    CLOSE_G(g);
    return st;
}

static hid_t make_access_list(hid_t cls, rd *r)
{
    hid_t p = H5Pcreate(cls);
    if (p < 0) return p;
    if (H5Pset_elink_cb(p, deny_elink, r) < 0 || H5Pset_nlinks(p, 16) < 0) {
        H5Pclose(p);
        return H5I_INVALID_HID;
    }
    return p;
}

/* Open path read-only after telling I/O failures (missing, unreadable,
 * directory) from format failures (not HDF5, truncated). */
static laperm_status open_file(rd *r, hid_t *file)
{
    char det[256];
    *file = H5I_INVALID_HID;
    int fd = open(r->path, O_RDONLY | O_NONBLOCK);
    if (fd < 0) return lp_fail(LAPERM_E_IO, "%s: cannot open: %s", r->path, strerror(errno));
    struct stat sb;
    int ok = fstat(fd, &sb) == 0;
    int err = errno;
    close(fd);
    if (!ok) return lp_fail(LAPERM_E_IO, "%s: cannot stat: %s", r->path, strerror(err));
    if (S_ISDIR(sb.st_mode)) return lp_fail(LAPERM_E_IO, "%s: is a directory", r->path);
    if (!S_ISREG(sb.st_mode))
        return lp_fail(LAPERM_E_IO, "%s: not a regular file", r->path);
    htri_t is = LP_H5_IS_HDF5(r->path);
    if (is <= 0)
        return lp_fail(LAPERM_E_FORMAT, "%s: not an HDF5 file (no HDF5 signature in %lld bytes)",
                       r->path, (long long)sb.st_size);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0) {
        CLOSE_P(fapl);
        return lp_fail(LAPERM_E_FORMAT, "%s: HDF5 setup failed%s", r->path,
                       rd_detail(r, det, sizeof det));
    }
    *file = H5Fopen(r->path, H5F_ACC_RDONLY, fapl);
    laperm_status st = LAPERM_OK;
    if (*file < 0) /* before H5Pclose, which clears the error stack */
        st = lp_fail(LAPERM_E_FORMAT, "%s: not a readable HDF5 file (%lld bytes)%s", r->path,
                     (long long)sb.st_size, rd_detail(r, det, sizeof det));
    CLOSE_P(fapl);
    return st;
}

laperm_status lp_h5_read_weights(const char *path, lp_h5_weights **out)
{
    if (!out) return lp_fail(LAPERM_E_ARG, "lp_h5_read_weights: out is NULL");
    *out = NULL;
    if (!path || !*path) return lp_fail(LAPERM_E_ARG, "lp_h5_read_weights: empty path");
    h5_quiet();

    laperm_status st = LAPERM_OK;
    rd r = {path, H5I_INVALID_HID, H5I_INVALID_HID, H5I_INVALID_HID, 0, {0}};
    hid_t file = H5I_INVALID_HID, root = H5I_INVALID_HID, base = H5I_INVALID_HID;
    namelist ln = {0};
    lp_h5_weights *w = NULL;
    char det[256];

    if ((st = open_file(&r, &file))) goto done;
    r.gapl = make_access_list(H5P_GROUP_ACCESS, &r);
    r.dapl = make_access_list(H5P_DATASET_ACCESS, &r);
    r.lapl = make_access_list(H5P_LINK_ACCESS, &r);
    if (r.gapl < 0 || r.dapl < 0 || r.lapl < 0) {
        st = lp_fail(LAPERM_E_FORMAT, "%s: HDF5 setup failed%s", path,
                     rd_detail(&r, det, sizeof det));
        goto done;
    }
    if (!(w = calloc(1, sizeof *w))) {
        st = lp_fail(LAPERM_E_NOMEM, "%s: out of memory", path);
        goto done;
    }
    if ((root = H5Gopen2(file, "/", r.gapl)) < 0) {
        st = lp_fail(LAPERM_E_FORMAT, "%s: cannot open the root group%s", path,
                     rd_detail(&r, det, sizeof det));
        goto done;
    }
    int found = 0;
    if ((st = read_names(&r, root, "root group", "layer_names", &ln, H5_MAX_LAYERS, &found)))
        goto done;
    if (found) {
        base = root;
        root = H5I_INVALID_HID;
    } else {
        /* model.save: the same layout under /model_weights (as Keras'
         * load_weights: when layer_names is not at the root). */
        htri_t ex = H5Lexists(root, "model_weights", r.lapl);
        if (ex > 0) {
            if ((base = H5Gopen2(root, "model_weights", r.gapl)) < 0) {
                st = lp_fail(LAPERM_E_FORMAT, "%s: cannot open group /model_weights%s", path,
                             rd_detail(&r, det, sizeof det));
                goto done;
            }
            if ((st = read_names(&r, base, "group /model_weights", "layer_names", &ln,
                                 H5_MAX_LAYERS, &found)))
                goto done;
            w->model_save_layout = 1;
        }
        if (!found) {
            st = lp_fail(LAPERM_E_FORMAT,
                         "%s: missing attribute layer_names (expected at / or /model_weights): "
                         "not a Keras weights file",
                         path);
            goto done;
        }
    }
    if (ln.n > 0) {
        if (!(w->layers = calloc((size_t)ln.n, sizeof *w->layers))) {
            st = lp_fail(LAPERM_E_NOMEM, "%s: out of memory for %d layers", path, ln.n);
            goto done;
        }
        for (int i = 0; i < ln.n; i++) {
            w->nlayers = i + 1;
            if ((st = read_layer(&r, base, ln.v[i], &w->layers[i]))) goto done;
        }
    }
done:
    names_free(&ln);
    CLOSE_G(base);
    CLOSE_G(root);
    CLOSE_P(r.gapl);
    CLOSE_P(r.dapl);
    CLOSE_P(r.lapl);
    if (file >= 0 && H5Fclose(file) < 0 && !st)
        st = lp_fail(LAPERM_E_FORMAT, "%s: closing failed%s", path,
                     rd_detail(&r, det, sizeof det));
    if (st) {
        lp_h5_weights_free(w);
        return st;
    }
    *out = w;
    return LAPERM_OK;
}

void lp_h5_weights_free(lp_h5_weights *w)
{
    if (!w) return;
    for (int i = 0; i < w->nlayers && w->layers; i++) {
        lp_h5_layer *L = &w->layers[i];
        for (int j = 0; j < L->nweights && L->weights; j++) free(L->weights[j].data);
        free(L->weights);
    }
    free(w->layers);
    free(w);
}

void lp_h5_blobs_free(lp_h5_blob *b, int n)
{
    if (!b) return;
    for (int i = 0; i < n; i++) free(b[i].data);
    free(b);
}

static size_t blob_elem_size(lp_h5_type t)
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

static hid_t blob_file_type(lp_h5_type t)
{
    switch (t) {
    case LP_H5_F32: return H5T_IEEE_F32LE;
    case LP_H5_F64: return H5T_IEEE_F64LE;
    case LP_H5_I64: return H5T_STD_I64LE;
    case LP_H5_U64: return H5T_STD_U64LE;
    case LP_H5_U8: return H5T_STD_U8LE;
    }
    return H5I_INVALID_HID;
}

static hid_t blob_mem_type(lp_h5_type t)
{
    switch (t) {
    case LP_H5_F32: return H5T_NATIVE_FLOAT;
    case LP_H5_F64: return H5T_NATIVE_DOUBLE;
    case LP_H5_I64: return H5T_NATIVE_INT64;
    case LP_H5_U64: return H5T_NATIVE_UINT64;
    case LP_H5_U8: return H5T_NATIVE_UINT8;
    }
    return H5I_INVALID_HID;
}

/* Which blob type a file datatype holds; -1 if none. */
static int blob_type_of(hid_t t)
{
    H5T_class_t cls = H5Tget_class(t);
    if (cls == H5T_FLOAT) {
        if (H5Tequal(t, H5T_IEEE_F32LE) > 0 || H5Tequal(t, H5T_IEEE_F32BE) > 0) return LP_H5_F32;
        if (H5Tequal(t, H5T_IEEE_F64LE) > 0 || H5Tequal(t, H5T_IEEE_F64BE) > 0) return LP_H5_F64;
        return -1;
    }
    if (cls == H5T_INTEGER) {
        size_t sz = H5Tget_size(t);
        H5T_sign_t sg = H5Tget_sign(t);
        if (sz == 8 && sg == H5T_SGN_2) return LP_H5_I64;
        if (sz == 8 && sg == H5T_SGN_NONE) return LP_H5_U64;
        if (sz == 1 && sg == H5T_SGN_NONE) return LP_H5_U8;
    }
    return -1;
}

static laperm_status read_blob(rd *r, hid_t g, const char *name, lp_h5_blob *b)
{
    laperm_status st = LAPERM_OK;
    hid_t d = H5I_INVALID_HID, t = H5I_INVALID_HID, sp = H5I_INVALID_HID;
    char det[256], td[64], what[LP_H5_NAME_MAX + 32];
    snprintf(what, sizeof what, "laperm_state/%s", name);
    snprintf(b->name, sizeof b->name, "%s", name);

    if ((d = H5Dopen2(g, name, r->dapl)) < 0) {
        st = lp_fail(LAPERM_E_FORMAT, "%s: %s: cannot open as a dataset%s", r->path, what,
                     rd_detail(r, det, sizeof det));
        goto done;
    }
    if ((t = H5Dget_type(d)) < 0 || (sp = H5Dget_space(d)) < 0) {
        st = lp_fail(LAPERM_E_FORMAT, "%s: %s: cannot read its type or shape%s", r->path, what,
                     rd_detail(r, det, sizeof det));
        goto done;
    }
    int bt = blob_type_of(t);
    if (bt < 0) {
        type_desc(t, td, sizeof td);
        st = lp_fail(LAPERM_E_FORMAT,
                     "%s: %s: expected float32, float64, int64, uint64 or uint8, found %s", r->path,
                     what, td);
        goto done;
    }
    b->type = (lp_h5_type)bt;
    int rank = 0;
    int64_t dims[1], n = 0;
    if ((st = read_shape(r, what, sp, 1, &rank, dims, &n))) goto done;
    if (rank != 1) {
        st = lp_fail(LAPERM_E_FORMAT, "%s: %s: expected a 1-D dataset, found rank %d", r->path, what,
                     rank);
        goto done;
    }
    size_t es = blob_elem_size(b->type);
    if ((st = check_storage(r, what, d, (uint64_t)n * es))) goto done;
    if (!(b->data = malloc(n ? (size_t)n * es : es))) {
        st = lp_fail(LAPERM_E_NOMEM, "%s: %s: out of memory", r->path, what);
        goto done;
    }
    if (n > 0 && H5Dread(d, blob_mem_type(b->type), H5S_ALL, H5S_ALL, H5P_DEFAULT, b->data) < 0) {
        st = lp_fail(LAPERM_E_FORMAT, "%s: %s: cannot read%s", r->path, what,
                     rd_detail(r, det, sizeof det));
        goto done;
    }
    b->count = n;
done:
    CLOSE_S(sp);
    CLOSE_T(t);
    CLOSE_D(d);
    return st;
}

laperm_status lp_h5_read_state(const char *path, lp_h5_blob **out, int *n)
{
    if (!out || !n) return lp_fail(LAPERM_E_ARG, "lp_h5_read_state: out or n is NULL");
    *out = NULL;
    *n = 0;
    if (!path || !*path) return lp_fail(LAPERM_E_ARG, "lp_h5_read_state: empty path");
    h5_quiet();

    laperm_status st = LAPERM_OK;
    rd r = {path, H5I_INVALID_HID, H5I_INVALID_HID, H5I_INVALID_HID, 0, {0}};
    hid_t file = H5I_INVALID_HID, g = H5I_INVALID_HID, gcpl = H5I_INVALID_HID;
    lp_h5_blob *b = NULL;
    int nb = 0;
    char det[256];

    if ((st = open_file(&r, &file))) goto done;
    r.gapl = make_access_list(H5P_GROUP_ACCESS, &r);
    r.dapl = make_access_list(H5P_DATASET_ACCESS, &r);
    r.lapl = make_access_list(H5P_LINK_ACCESS, &r);
    if (r.gapl < 0 || r.dapl < 0 || r.lapl < 0) {
        st = lp_fail(LAPERM_E_FORMAT, "%s: HDF5 setup failed%s", path,
                     rd_detail(&r, det, sizeof det));
        goto done;
    }
    htri_t ex = H5Lexists(file, "laperm_state", r.lapl);
    if (ex < 0) {
        st = lp_fail(LAPERM_E_FORMAT, "%s: cannot look up laperm_state%s", path,
                     rd_detail(&r, det, sizeof det));
        goto done;
    }
    if (ex == 0) goto done;
    if ((g = H5Gopen2(file, "laperm_state", r.gapl)) < 0) {
        st = lp_fail(LAPERM_E_FORMAT, "%s: laperm_state: cannot open as a group%s", path,
                     rd_detail(&r, det, sizeof det));
        goto done;
    }
    H5G_info_t gi;
    unsigned crt = 0;
    if (H5Gget_info(g, &gi) < 0 || (gcpl = H5Gget_create_plist(g)) < 0 ||
        H5Pget_link_creation_order(gcpl, &crt) < 0) {
        st = lp_fail(LAPERM_E_FORMAT, "%s: laperm_state: unreadable group%s", path,
                     rd_detail(&r, det, sizeof det));
        goto done;
    }
    if (gi.nlinks > H5_MAX_BLOBS) {
        st = lp_fail(LAPERM_E_FORMAT, "%s: laperm_state: %llu entries, expected at most %d", path,
                     (unsigned long long)gi.nlinks, H5_MAX_BLOBS);
        goto done;
    }
    /* Blobs come back in the order they were written (the writer tracks
     * creation order), else in name order. */
    H5_index_t idx = (crt & H5P_CRT_ORDER_TRACKED) ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME;
    if (gi.nlinks > 0 && !(b = calloc((size_t)gi.nlinks, sizeof *b))) {
        st = lp_fail(LAPERM_E_NOMEM, "%s: laperm_state: out of memory", path);
        goto done;
    }
    for (hsize_t i = 0; i < gi.nlinks; i++) {
        char name[LP_H5_NAME_MAX];
        ssize_t len = H5Lget_name_by_idx(g, ".", idx, H5_ITER_INC, i, name, sizeof name, r.lapl);
        if (len < 0) {
            st = lp_fail(LAPERM_E_FORMAT, "%s: laperm_state: cannot read entry %llu%s", path,
                         (unsigned long long)i, rd_detail(&r, det, sizeof det));
            goto done;
        }
        if (len == 0 || len >= LP_H5_NAME_MAX) {
            st = lp_fail(LAPERM_E_FORMAT,
                         "%s: laperm_state: entry %llu has a %zd-byte name, expected 1 to %d", path,
                         (unsigned long long)i, len, LP_H5_NAME_MAX - 1);
            goto done;
        }
        nb = (int)i + 1;
        if ((st = read_blob(&r, g, name, &b[i]))) goto done;
    }
done:
    CLOSE_P(gcpl);
    CLOSE_G(g);
    CLOSE_P(r.gapl);
    CLOSE_P(r.dapl);
    CLOSE_P(r.lapl);
    if (file >= 0 && H5Fclose(file) < 0 && !st)
        st = lp_fail(LAPERM_E_FORMAT, "%s: closing failed%s", path,
                     rd_detail(&r, det, sizeof det));
    if (st) {
        lp_h5_blobs_free(b, nb);
        return st;
    }
    *out = b;
    *n = nb;
    return LAPERM_OK;
}

/* ---- copying --------------------------------------------------------------- */

static int64_t array_count(const lp_h5_array *a)
{
    int64_t n = 1;
    for (int i = 0; i < a->rank; i++) n *= a->shape[i];
    return n;
}

laperm_status lp_h5_weights_clone(const lp_h5_weights *src, lp_h5_weights **out)
{
    if (!out) return lp_fail(LAPERM_E_ARG, "lp_h5_weights_clone: out is NULL");
    *out = NULL;
    if (!src || src->nlayers < 0 || (src->nlayers > 0 && !src->layers))
        return lp_fail(LAPERM_E_ARG, "lp_h5_weights_clone: invalid weights");
    lp_h5_weights *w = calloc(1, sizeof *w);
    if (!w) return lp_fail(LAPERM_E_NOMEM, "out of memory cloning weights");
    w->model_save_layout = src->model_save_layout;
    if (src->nlayers > 0 && !(w->layers = calloc((size_t)src->nlayers, sizeof *w->layers)))
        goto nomem;
    for (int i = 0; i < src->nlayers; i++) {
        const lp_h5_layer *S = &src->layers[i];
        lp_h5_layer *D = &w->layers[i];
        w->nlayers = i + 1;
        memcpy(D->name, S->name, sizeof D->name);
        if (S->nweights < 0 || (S->nweights > 0 && !S->weights)) {
            lp_h5_weights_free(w);
            return lp_fail(LAPERM_E_ARG, "lp_h5_weights_clone: layer %d: invalid weights", i);
        }
        if (S->nweights > 0 && !(D->weights = calloc((size_t)S->nweights, sizeof *D->weights)))
            goto nomem;
        for (int j = 0; j < S->nweights; j++) {
            const lp_h5_array *a = &S->weights[j];
            lp_h5_array *b = &D->weights[j];
            D->nweights = j + 1;
            *b = *a;
            b->data = NULL;
            if (a->rank < 0 || a->rank > LP_H5_MAX_RANK) {
                lp_h5_weights_free(w);
                return lp_fail(LAPERM_E_ARG, "lp_h5_weights_clone: layer %.*s: weight %.*s: rank %d",
                               LP_H5_NAME_MAX, S->name, LP_H5_NAME_MAX, a->name, a->rank);
            }
            int64_t n = array_count(a);
            if (!(b->data = malloc(n > 0 ? (size_t)n * sizeof(float) : sizeof(float)))) goto nomem;
            if (n > 0) memcpy(b->data, a->data, (size_t)n * sizeof(float));
        }
    }
    *out = w;
    return LAPERM_OK;
nomem:
    lp_h5_weights_free(w);
    return lp_fail(LAPERM_E_NOMEM, "out of memory cloning weights");
}

/* ---- writing --------------------------------------------------------------- */

/* A name field of a caller's struct: NUL-terminated within the field, not
 * empty. */
static int name_ok(const char *s) { return s[0] && memchr(s, '\0', LP_H5_NAME_MAX) != NULL; }

static laperm_status validate(const char *path, const lp_h5_weights *w, const lp_h5_blob *state,
                              int nstate)
{
    if (w->nlayers < 0 || w->nlayers > H5_MAX_LAYERS || (w->nlayers > 0 && !w->layers))
        return lp_fail(LAPERM_E_ARG, "%s: cannot write %d layers", path, w->nlayers);
    for (int i = 0; i < w->nlayers; i++) {
        const lp_h5_layer *L = &w->layers[i];
        if (!name_ok(L->name))
            return lp_fail(LAPERM_E_ARG, "%s: layer %d: empty or unterminated name", path, i);
        if (L->nweights < 0 || L->nweights > H5_MAX_WEIGHTS || (L->nweights > 0 && !L->weights))
            return lp_fail(LAPERM_E_ARG, "%s: layer %s: invalid weight count %d", path, L->name,
                           L->nweights);
        for (int j = 0; j < L->nweights; j++) {
            const lp_h5_array *a = &L->weights[j];
            if (!name_ok(a->name))
                return lp_fail(LAPERM_E_ARG, "%s: layer %s: weight %d: empty or unterminated name",
                               path, L->name, j);
            if (a->rank < 0 || a->rank > LP_H5_MAX_RANK)
                return lp_fail(LAPERM_E_ARG, "%s: layer %s: weight %s: rank %d, expected 0 to %d",
                               path, L->name, a->name, a->rank, LP_H5_MAX_RANK);
            int64_t n = 1;
            for (int k = 0; k < a->rank; k++) {
                if (a->shape[k] < 0 || a->shape[k] > H5_MAX_ELEMS ||
                    (a->shape[k] > 0 && n > H5_MAX_ELEMS / a->shape[k]))
                    return lp_fail(LAPERM_E_ARG, "%s: layer %s: weight %s: invalid shape", path,
                                   L->name, a->name);
                n *= a->shape[k];
            }
            if (n > 0 && !a->data)
                return lp_fail(LAPERM_E_ARG, "%s: layer %s: weight %s: no data", path, L->name,
                               a->name);
        }
    }
    if (nstate < 0 || nstate > H5_MAX_BLOBS || (nstate > 0 && !state))
        return lp_fail(LAPERM_E_ARG, "%s: cannot write %d state blobs", path, nstate);
    for (int i = 0; i < nstate; i++) {
        const lp_h5_blob *b = &state[i];
        if (!name_ok(b->name) || strchr(b->name, '/') || strcmp(b->name, ".") == 0)
            return lp_fail(LAPERM_E_ARG, "%s: state blob %d: invalid name", path, i);
        size_t es = blob_elem_size(b->type);
        if (!es)
            return lp_fail(LAPERM_E_ARG, "%s: state blob %s: invalid type %d", path, b->name,
                           (int)b->type);
        if (b->count < 0 || b->count > H5_MAX_ELEMS || (b->count > 0 && !b->data))
            return lp_fail(LAPERM_E_ARG, "%s: state blob %s: invalid count %" PRId64, path, b->name,
                           b->count);
    }
    return LAPERM_OK;
}

typedef struct wr {
    const char *path;   /* destination, for messages */
    hid_t lcpl;         /* creates intermediate groups */
} wr;

static laperm_status write_vlen_str_attr(const wr *c, hid_t obj, const char *aname, const char *value)
{
    char det[256];
    laperm_status st = LAPERM_OK;
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5I_INVALID_HID, a = H5I_INVALID_HID;
    if (t < 0 || H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_ASCII) < 0 ||
        (sp = H5Screate(H5S_SCALAR)) < 0 ||
        (a = H5Acreate2(obj, aname, t, sp, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        H5Awrite(a, t, &value) < 0)
        st = lp_fail(LAPERM_E_IO, "%s: cannot write attribute %s%s", c->path, aname,
                     h5_detail(det, sizeof det));
    CLOSE_A(a);
    CLOSE_S(sp);
    CLOSE_T(t);
    return st;
}

/* One fixed-length string array attribute of n names (h5py's 'S' dtype:
 * NULLPAD, size = longest name). */
static laperm_status write_fixed_str_attr_1(const wr *c, hid_t obj, const char *aname,
                                            const char *buf, size_t n, size_t size)
{
    char det[256];
    laperm_status st = LAPERM_OK;
    hsize_t dims[1] = {n};
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5I_INVALID_HID, a = H5I_INVALID_HID;
    if (t < 0 || H5Tset_size(t, size) < 0 || H5Tset_strpad(t, H5T_STR_NULLPAD) < 0 ||
        H5Tset_cset(t, H5T_CSET_ASCII) < 0 || (sp = H5Screate_simple(1, dims, NULL)) < 0 ||
        (a = H5Acreate2(obj, aname, t, sp, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        H5Awrite(a, t, buf) < 0)
        st = lp_fail(LAPERM_E_IO, "%s: cannot write attribute %s%s", c->path, aname,
                     h5_detail(det, sizeof det));
    CLOSE_A(a);
    CLOSE_S(sp);
    CLOSE_T(t);
    return st;
}

/* names[i] at (const char *)base + i * stride. Split like Keras'
 * save_attributes_to_hdf5_group when over 64512 bytes: name0, name1, ...
 * (numpy.array_split sizes). An empty list is an empty float64 array, as
 * Keras writes it. */
static laperm_status write_names_attr(const wr *c, hid_t obj, const char *aname, const void *base,
                                      size_t stride, size_t n)
{
    char det[256];
    if (n == 0) {
        laperm_status st = LAPERM_OK;
        hsize_t dims[1] = {0};
        hid_t sp = H5Screate_simple(1, dims, NULL), a = H5I_INVALID_HID;
        if (sp < 0 || (a = H5Acreate2(obj, aname, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT)) < 0)
            st = lp_fail(LAPERM_E_IO, "%s: cannot write attribute %s%s", c->path, aname,
                         h5_detail(det, sizeof det));
        CLOSE_A(a);
        CLOSE_S(sp);
        return st;
    }
    size_t size = 1;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen((const char *)base + i * stride);
        if (len > size) size = len;
    }
    char *buf = calloc(n, size);
    if (!buf) return lp_fail(LAPERM_E_NOMEM, "%s: out of memory writing %s", c->path, aname);
    for (size_t i = 0; i < n; i++) {
        const char *s = (const char *)base + i * stride;
        memcpy(buf + i * size, s, strlen(s));
    }
    size_t k = 1;
    while (((n + k - 1) / k) * size > H5_ATTR_LIMIT && k < n) k++;
    laperm_status st = LAPERM_OK;
    if (k == 1) {
        st = write_fixed_str_attr_1(c, obj, aname, buf, n, size);
    } else {
        size_t off = 0;
        for (size_t i = 0; i < k && !st; i++) {
            size_t m = n / k + (i < n % k ? 1 : 0);
            char cn[96];
            snprintf(cn, sizeof cn, "%s%zu", aname, i);
            st = write_fixed_str_attr_1(c, obj, cn, buf + off * size, m, size);
            off += m;
        }
    }
    free(buf);
    return st;
}

static laperm_status write_dataset(const wr *c, hid_t loc, const char *what, const char *name,
                                   hid_t ftype, hid_t mtype, int rank, const hsize_t *dims,
                                   int64_t n, const void *data)
{
    char det[256];
    laperm_status st = LAPERM_OK;
    hid_t sp = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims, NULL);
    hid_t d = H5I_INVALID_HID;
    if (sp < 0 || (d = H5Dcreate2(loc, name, ftype, sp, c->lcpl, H5P_DEFAULT, H5P_DEFAULT)) < 0)
        st = lp_fail(LAPERM_E_IO, "%s: %s: cannot create dataset%s", c->path, what,
                     h5_detail(det, sizeof det));
    else if (n > 0 && H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        st = lp_fail(LAPERM_E_IO, "%s: %s: cannot write dataset%s", c->path, what,
                     h5_detail(det, sizeof det));
    CLOSE_D(d);
    CLOSE_S(sp);
    return st;
}

static laperm_status write_contents(const wr *c, hid_t file, const lp_h5_weights *w,
                                    const lp_h5_blob *state, int nstate)
{
    char det[256], what[2 * LP_H5_NAME_MAX + 32];
    laperm_status st;
    hid_t g = H5I_INVALID_HID, gcpl = H5I_INVALID_HID;

    if ((st = write_names_attr(c, file, "layer_names", w->nlayers ? w->layers[0].name : NULL,
                               sizeof(lp_h5_layer), (size_t)w->nlayers)))
        return st;
    if ((st = write_vlen_str_attr(c, file, "backend", "tensorflow"))) return st;
    if ((st = write_vlen_str_attr(c, file, "keras_version", "2.3.1"))) return st;

    for (int i = 0; i < w->nlayers; i++) {
        const lp_h5_layer *L = &w->layers[i];
        if ((g = H5Gcreate2(file, L->name, c->lcpl, H5P_DEFAULT, H5P_DEFAULT)) < 0)
            return lp_fail(LAPERM_E_IO, "%s: layer %s: cannot create group (duplicate layer name?)%s",
                           c->path, L->name, h5_detail(det, sizeof det));
        st = write_names_attr(c, g, "weight_names", L->nweights ? L->weights[0].name : NULL,
                              sizeof(lp_h5_array), (size_t)L->nweights);
        for (int j = 0; j < L->nweights && !st; j++) {
            const lp_h5_array *a = &L->weights[j];
            hsize_t dims[LP_H5_MAX_RANK];
            for (int k = 0; k < a->rank; k++) dims[k] = (hsize_t)a->shape[k];
            snprintf(what, sizeof what, "layer %s: weight %s", L->name, a->name);
            st = write_dataset(c, g, what, a->name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, a->rank, dims,
                               array_count(a), a->data);
        }
        CLOSE_G(g);
        if (st) return st;
    }

    if (nstate > 0) {
        if ((gcpl = H5Pcreate(H5P_GROUP_CREATE)) < 0 ||
            H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0 ||
            (g = H5Gcreate2(file, "laperm_state", H5P_DEFAULT, gcpl, H5P_DEFAULT)) < 0) {
            st = lp_fail(LAPERM_E_IO, "%s: cannot create group laperm_state%s", c->path,
                         h5_detail(det, sizeof det));
            CLOSE_P(gcpl);
            return st;
        }
        CLOSE_P(gcpl);
        for (int i = 0; i < nstate && !st; i++) {
            const lp_h5_blob *b = &state[i];
            hsize_t dims[1] = {(hsize_t)b->count};
            snprintf(what, sizeof what, "laperm_state/%s", b->name);
            st = write_dataset(c, g, what, b->name, blob_file_type(b->type), blob_mem_type(b->type),
                               1, dims, b->count, b->data);
        }
        CLOSE_G(g);
        if (st) return st;
    }
    return LAPERM_OK;
}

/* The process umask without changing it (it is process-wide: calling umask()
 * twice would race with other threads creating files). */
static mode_t current_umask(void)
{
    mode_t m = 022;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return m;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        unsigned v;
        if (sscanf(line, "Umask: %o", &v) == 1) {
            m = (mode_t)(v & 0777);
            break;
        }
    }
    fclose(f);
    return m;
}

laperm_status lp_h5_write_weights(const char *path, const lp_h5_weights *w,
                                  const lp_h5_blob *state, int nstate)
{
    if (!path || !*path) return lp_fail(LAPERM_E_ARG, "lp_h5_write_weights: empty path");
    if (!w) return lp_fail(LAPERM_E_ARG, "%s: lp_h5_write_weights: no weights", path);
    laperm_status st = validate(path, w, state, nstate);
    if (st) return st;
    h5_quiet();

    /* The temporary goes into the destination's directory, so that rename(2)
     * replaces the file atomically. */
    size_t plen = strlen(path);
    const char *slash = strrchr(path, '/');
    char *dir = NULL, *tmp = NULL;
    void *image = NULL;
    int fd = -1;
    hid_t fapl = H5I_INVALID_HID, file = H5I_INVALID_HID, lcpl = H5I_INVALID_HID;
    char det[256];
    if (slash && slash[1] == '\0') {
        return lp_fail(LAPERM_E_IO, "%s: is a directory name, expected a file name", path);
    }
    if (!(dir = malloc(plen + 2)) || !(tmp = malloc(plen + 32))) {
        free(dir);
        return lp_fail(LAPERM_E_NOMEM, "%s: out of memory", path);
    }
    if (!slash) {
        strcpy(dir, ".");
        snprintf(tmp, plen + 32, ".%s.tmp-XXXXXX", path);
    } else {
        size_t dl = (size_t)(slash - path);
        if (dl == 0) dl = 1; /* "/file" */
        memcpy(dir, path, dl);
        dir[dl] = '\0';
        snprintf(tmp, plen + 32, "%.*s/.%s.tmp-XXXXXX", (int)(slash - path), path, slash + 1);
    }
    if ((fd = mkstemp(tmp)) < 0) {
        st = lp_fail(LAPERM_E_IO, "%s: cannot create a temporary file in %s: %s", path, dir,
                     strerror(errno));
        free(dir);
        free(tmp);
        return st;
    }
    /* mkstemp makes 0600: keep the mode of the file replaced, else give the
     * mode a plain creat() would. */
    struct stat old;
    mode_t mode = stat(path, &old) == 0 && S_ISREG(old.st_mode) ? (old.st_mode & 07777)
                                                                 : (0666 & ~current_umask());
    if (fchmod(fd, mode) < 0) {
        st = lp_fail(LAPERM_E_IO, "%s: cannot set the mode of %s: %s", path, tmp, strerror(errno));
        goto fail;
    }
    if ((fapl = H5Pcreate(H5P_FILE_ACCESS)) < 0 ||
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0 ||
        /* Built in memory, written by us: libhdf5 never sees a failing
         * write (EFBIG, ENOSPC), which leaves 1.10's file state broken and
         * crashes H5_term_library at exit. */
        H5Pset_fapl_core(fapl, (size_t)1 << 20, 0) < 0 ||
        (lcpl = H5Pcreate(H5P_LINK_CREATE)) < 0 || H5Pset_create_intermediate_group(lcpl, 1) < 0) {
        st = lp_fail(LAPERM_E_IO, "%s: HDF5 setup failed%s", path,
                     h5_detail(det, sizeof det));
        goto fail;
    }
    if ((file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl)) < 0) {
        st = lp_fail(LAPERM_E_IO, "%s: cannot create HDF5 file %s%s", path, tmp,
                     h5_detail(det, sizeof det));
        goto fail;
    }
    wr c = {path, lcpl};
    if ((st = write_contents(&c, file, w, state, nstate))) goto fail;
    if (H5Fflush(file, H5F_SCOPE_GLOBAL) < 0) {
        st = lp_fail(LAPERM_E_IO, "%s: cannot flush%s", path, h5_detail(det, sizeof det));
        goto fail;
    }
    ssize_t isz = H5Fget_file_image(file, NULL, 0);
    if (isz <= 0 || !(image = malloc((size_t)isz)) || H5Fget_file_image(file, image, (size_t)isz) != isz) {
        st = lp_fail(isz > 0 && !image ? LAPERM_E_NOMEM : LAPERM_E_IO, "%s: cannot build the file image%s",
                     path, h5_detail(det, sizeof det));
        goto fail;
    }
    herr_t cr = H5Fclose(file);
    file = H5I_INVALID_HID;
    if (cr < 0) {
        st = lp_fail(LAPERM_E_IO, "%s: cannot close%s", path, h5_detail(det, sizeof det));
        goto fail;
    }
    for (size_t at = 0; at < (size_t)isz;) {
        ssize_t k = write(fd, (const char *)image + at, (size_t)isz - at);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            st = lp_fail(LAPERM_E_IO, "%s: cannot write %s: %s", path, tmp, k < 0 ? strerror(errno) : "no progress");
            goto fail;
        }
        at += (size_t)k;
    }
    free(image);
    image = NULL;
    /* fsync through our own descriptor of the temporary: same inode as the
     * one HDF5 wrote (a reopen by name could race with a rename). */
    if (fsync(fd) < 0) {
        st = lp_fail(LAPERM_E_IO, "%s: cannot sync %s: %s", path, tmp, strerror(errno));
        goto fail;
    }
    int cl = close(fd);
    fd = -1;
    if (cl < 0) {
        st = lp_fail(LAPERM_E_IO, "%s: cannot close %s: %s", path, tmp, strerror(errno));
        goto fail;
    }
    if (rename(tmp, path) < 0) {
        st = lp_fail(LAPERM_E_IO, "%s: cannot replace it: %s", path, strerror(errno));
        goto fail;
    }
    /* Make the rename durable. The new file is in place by now, so a failure
     * here is not reported (there is nothing left to undo). */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    CLOSE_P(lcpl);
    CLOSE_P(fapl);
    free(dir);
    free(tmp);
    return LAPERM_OK;
fail:
    CLOSE_F(file);
    CLOSE_P(lcpl);
    CLOSE_P(fapl);
    free(image);
    if (fd >= 0) close(fd);
    unlink(tmp);
    free(dir);
    free(tmp);
    return st;
}
