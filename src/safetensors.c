/* safetensors.c - the weights file: a safetensors container (8-byte LE
 * header length, JSON header, raw little-endian data) read and written with
 * jansson and zlib's crc32; and the model loader/saver on top of it.
 *
 * Everything read from a file is distrusted: sizes are checked against the
 * real file size before any allocation, so a hostile header costs nothing. */
#include "cond.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define ST_MAX_HEADER (16u << 20) /* ours stay under 3 MB (18k tensors at 1024 layers) */
#define ST_MAX_TENSORS 200000

typedef struct st_entry {
    const char *name;
    const char *dtype;
    int ndim;
    int64_t shape[8];
    size_t begin, end;
} st_entry;

struct wn__st_file {
    unsigned char *buf;   /* the whole file */
    size_t size;
    const unsigned char *data;
    size_t data_size;
    json_t *header;
    st_entry *e;          /* in the header's order */
    st_entry *byname;     /* the same, sorted by name (wn__st_find) */
    int n;
};

static size_t dtype_size(const char *d)
{
    static const struct { const char *n; size_t s; } t[] = {
        {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4},
        {"I16", 2}, {"I8", 1}, {"U64", 8}, {"U32", 4}, {"U16", 2}, {"U8", 1},
        {"BOOL", 1}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(d, t[i].n)) return t[i].s;
    return 0;
}

void wn__st_close(wn__st_file *f)
{
    if (!f) return;
    if (f->header) json_decref(f->header);
    free(f->e);
    free(f->byname);
    free(f->buf);
    free(f);
}

static int cmp_begin(const void *a, const void *b)
{
    const st_entry *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const st_entry *)a)->name, ((const st_entry *)b)->name);
}

static int read_whole(const char *path, unsigned char **buf, size_t *size,
                      wn_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return wn__err(err, WN_ERR_IO, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return wn__err(err, WN_ERR_IO, "%s: not a regular file", path);
    if (st.st_size < 8)
        return wn__err(err, WN_ERR_FORMAT, "%s: not a weights file (%lld bytes, too short)",
                       path, (long long)st.st_size);
    if ((uint64_t)st.st_size > (uint64_t)SIZE_MAX / 2)
        return wn__err(err, WN_ERR_NOMEM, "%s: file too large", path);
    FILE *fp = fopen(path, "rb");
    if (!fp) return wn__err(err, WN_ERR_IO, "%s: %s", path, strerror(errno));
    size_t n = (size_t)st.st_size;
    unsigned char *b = malloc(n + 1);
    if (!b) {
        fclose(fp);
        return wn__err(err, WN_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, n);
    }
    size_t got = fread(b, 1, n, fp);
    fclose(fp);
    if (got != n) {
        free(b);
        return wn__err(err, WN_ERR_IO, "%s: short read (%zu of %zu bytes)", path, got, n);
    }
    *buf = b;
    *size = n;
    return WN_OK;
}

wn__st_file *wn__st_open(const char *path, wn_error *err)
{
    wn__st_file *f = calloc(1, sizeof *f);
    if (!f) {
        wn__err(err, WN_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (read_whole(path, &f->buf, &f->size, err) != WN_OK) goto fail;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | f->buf[i];
    if (hlen > ST_MAX_HEADER && f->size >= 10 && hlen <= f->size - 8 && f->buf[8] == '{') {
        wn__err(err, WN_ERR_FORMAT, "%s: a header of %llu bytes, more than the %d MiB we read", path,
                (unsigned long long)hlen, (int)(ST_MAX_HEADER >> 20));
        goto fail;
    }
    if (hlen > ST_MAX_HEADER || hlen < 2 || f->size < 10 || f->buf[8] != '{') {
        wn__err(err, WN_ERR_FORMAT, "%s: not a weights file (no safetensors header)", path);
        goto fail;
    }
    if (hlen > f->size - 8) {
        wn__err(err, WN_ERR_FORMAT,
                "%s: truncated: the header needs %llu bytes, the file has %zu in all", path,
                (unsigned long long)hlen, f->size);
        goto fail;
    }
    /* a safetensors header nests 3 deep (header, tensor, shape); a parser
     * given 16 MiB of brackets spends seconds and a gigabyte on them */
    int depth = 0, most = 0, in_str = 0;
    for (const unsigned char *p = f->buf + 8, *e = p + hlen; p < e && most <= 4; p++) {
        if (in_str) {
            if (*p == '\\') p++;
            else if (*p == '"') in_str = 0;
        } else if (*p == '"') {
            in_str = 1;
        } else if (*p == '{' || *p == '[') {
            if (++depth > most) most = depth;
        } else if (*p == '}' || *p == ']') {
            depth--;
        }
    }
    if (most > 4) {
        wn__err(err, WN_ERR_FORMAT, "%s: header nested more than 4 deep (a weights file's is 3)",
                path);
        goto fail;
    }
    json_error_t je;
    f->header = json_loadb((const char *)f->buf + 8, (size_t)hlen,
                           JSON_REJECT_DUPLICATES, &je);
    if (!f->header || !json_is_object(f->header)) {
        wn__err(err, WN_ERR_FORMAT, "%s: header is not a JSON object (%s)", path,
                f->header ? "other JSON value" : je.text[0] ? je.text : "out of memory");
        goto fail;
    }
    f->data = f->buf + 8 + hlen;
    f->data_size = f->size - 8 - (size_t)hlen;
    size_t count = json_object_size(f->header);
    if (count > ST_MAX_TENSORS) {
        wn__err(err, WN_ERR_FORMAT, "%s: %zu tensors is more than a model holds", path, count);
        goto fail;
    }
    f->e = calloc(count ? count : 1, sizeof *f->e);
    if (!f->e) {
        wn__err(err, WN_ERR_NOMEM, "out of memory");
        goto fail;
    }
    const char *key;
    json_t *val;
    json_object_foreach(f->header, key, val) {
        if (!strcmp(key, "__metadata__")) {
            if (!json_is_object(val)) {
                wn__err(err, WN_ERR_FORMAT, "%s: __metadata__ is not an object", path);
                goto fail;
            }
            const char *mk;
            json_t *mv;
            json_object_foreach(val, mk, mv) if (!json_is_string(mv)) {
                wn__err(err, WN_ERR_FORMAT, "%s: metadata '%s' is not a string", path, mk);
                goto fail;
            }
            continue;
        }
        st_entry *e = &f->e[f->n];
        e->name = key;
        json_t *dt = json_object_get(val, "dtype");
        json_t *sh = json_object_get(val, "shape");
        json_t *off = json_object_get(val, "data_offsets");
        if (!json_is_object(val) || !json_is_string(dt) || !json_is_array(sh) ||
            !json_is_array(off) || json_array_size(off) != 2) {
            wn__err(err, WN_ERR_FORMAT,
                    "%s: tensor '%s' lacks dtype, shape or data_offsets", path, key);
            goto fail;
        }
        e->dtype = json_string_value(dt);
        size_t esz = dtype_size(e->dtype);
        if (!esz) {
            wn__err(err, WN_ERR_FORMAT, "%s: tensor '%s' has unknown dtype '%s'", path,
                    key, e->dtype);
            goto fail;
        }
        if (json_array_size(sh) > 8) {
            wn__err(err, WN_ERR_FORMAT, "%s: tensor '%s' has %zu dimensions", path, key,
                    json_array_size(sh));
            goto fail;
        }
        e->ndim = (int)json_array_size(sh);
        /* element count, refusing anything that overflows or exceeds the data */
        uint64_t elems = 1;
        for (int d = 0; d < e->ndim; d++) {
            json_t *x = json_array_get(sh, (size_t)d);
            json_int_t v = json_is_integer(x) ? json_integer_value(x) : -1;
            if (v < 0) {
                wn__err(err, WN_ERR_FORMAT, "%s: tensor '%s' has a bad shape", path, key);
                goto fail;
            }
            e->shape[d] = v;
            if (v && elems > f->data_size / (uint64_t)v) elems = UINT64_MAX;
            else elems *= (uint64_t)v;
        }
        json_t *b0 = json_array_get(off, 0), *b1 = json_array_get(off, 1);
        json_int_t ob = json_is_integer(b0) ? json_integer_value(b0) : -1;
        json_int_t oe = json_is_integer(b1) ? json_integer_value(b1) : -1;
        if (ob < 0 || oe < ob || (uint64_t)oe > f->data_size) {
            wn__err(err, WN_ERR_FORMAT,
                    "%s: truncated or corrupt: tensor '%s' data_offsets [%lld, %lld] lie outside the %zu-byte data section",
                    path, key, (long long)ob, (long long)oe, f->data_size);
            goto fail;
        }
        if (elems == UINT64_MAX || elems * esz != (uint64_t)(oe - ob)) {
            wn__err(err, WN_ERR_FORMAT,
                    "%s: tensor '%s' holds %lld bytes, its shape and dtype need %s",
                    path, key, (long long)(oe - ob),
                    elems == UINT64_MAX ? "more than the file has" : "a different size");
            goto fail;
        }
        e->begin = (size_t)ob;
        e->end = (size_t)oe;
        f->n++;
    }
    /* no two tensors may share bytes */
    st_entry *sorted = malloc(sizeof *sorted * (size_t)(f->n ? f->n : 1));
    if (!sorted) {
        wn__err(err, WN_ERR_NOMEM, "out of memory");
        goto fail;
    }
    memcpy(sorted, f->e, sizeof *sorted * (size_t)f->n);
    qsort(sorted, (size_t)f->n, sizeof *sorted, cmp_begin);
    for (int i = 1; i < f->n; i++)
        if (sorted[i].begin < sorted[i - 1].end) {
            wn__err(err, WN_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap", path,
                    sorted[i - 1].name, sorted[i].name);
            free(sorted);
            goto fail;
        }
    /* lookups by name in O(log n): a header may list a million tensors */
    qsort(sorted, (size_t)f->n, sizeof *sorted, cmp_name);
    f->byname = sorted;
    const char *crc = wn__st_meta(f, "crc32");
    if (crc) {
        char *end;
        errno = 0;
        unsigned long want = strtoul(crc, &end, 10);
        if (errno || end == crc || *end) {
            wn__err(err, WN_ERR_FORMAT, "%s: crc32 '%s' is not a number", path, crc);
            goto fail;
        }
        uLong got = crc32(0L, Z_NULL, 0);
        size_t done = 0;
        while (done < f->data_size) { /* zlib takes uInt lengths */
            size_t chunk = f->data_size - done > (1u << 30) ? (1u << 30) : f->data_size - done;
            got = crc32(got, f->data + done, (uInt)chunk);
            done += chunk;
        }
        if (got != want) {
            wn__err(err, WN_ERR_CHECKSUM,
                    "%s: data is corrupt (crc32 %lu, the header says %lu)", path,
                    (unsigned long)got, want);
            goto fail;
        }
    }
    return f;
fail:
    wn__st_close(f);
    return NULL;
}

const char *wn__st_meta(const wn__st_file *f, const char *key)
{
    json_t *m = json_object_get(f->header, "__metadata__");
    return m ? json_string_value(json_object_get(m, key)) : NULL;
}

int wn__st_count(const wn__st_file *f) { return f->n; }
const char *wn__st_name(const wn__st_file *f, int i)
{
    return i >= 0 && i < f->n ? f->e[i].name : NULL;
}

int wn__st_find(const wn__st_file *f, const char *name, const char **dtype, int *ndim,
                int64_t shape[8], const void **data, size_t *bytes)
{
    st_entry key;
    key.name = name;
    const st_entry *e = bsearch(&key, f->byname, (size_t)f->n, sizeof key, cmp_name);
    if (!e) return 0;
    if (dtype) *dtype = e->dtype;
    if (ndim) *ndim = e->ndim;
    if (shape) memcpy(shape, e->shape, sizeof e->shape);
    if (data) *data = f->data + e->begin;
    if (bytes) *bytes = e->end - e->begin;
    return 1;
}

int wn__st_write(const char *path, const wn__st_tensor *t, int n, const char *const *meta,
                 int nmeta, wn_error *err)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    size_t off = 0;
    json_t *h = json_object();
    json_t *md = json_object();
    if (!h || !md) goto nomem;
    for (int i = 0; i < nmeta; i++)
        if (json_object_set_new(md, meta[2 * i], json_string(meta[2 * i + 1]))) goto nomem;
    for (int i = 0; i < n; i++) {
        uLong c = crc;
        size_t done = 0;
        const unsigned char *p = t[i].data;
        while (done < t[i].bytes) {
            size_t chunk = t[i].bytes - done > (1u << 30) ? (1u << 30) : t[i].bytes - done;
            c = crc32(c, p + done, (uInt)chunk);
            done += chunk;
        }
        crc = c;
    }
    char crcs[24];
    snprintf(crcs, sizeof crcs, "%lu", (unsigned long)crc);
    if (json_object_set_new(md, "crc32", json_string(crcs))) goto nomem;
    if (json_object_set_new(h, "__metadata__", md)) { md = NULL; goto nomem; }
    md = NULL;
    for (int i = 0; i < n; i++) {
        json_t *shape = json_array();
        for (int d = 0; d < t[i].ndim; d++)
            json_array_append_new(shape, json_integer(t[i].shape[d]));
        json_t *e = json_pack("{s:s, s:o, s:[I, I]}", "dtype", t[i].dtype, "shape", shape,
                              "data_offsets", (json_int_t)off,
                              (json_int_t)(off + t[i].bytes));
        if (!e || json_object_set_new(h, t[i].name, e)) goto nomem;
        off += t[i].bytes;
    }
    char *text = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(h);
    h = NULL;
    if (!text) goto nomem;
    size_t len = strlen(text), padded = (len + 7) & ~(size_t)7;
    char tmp[4096];
    FILE *fp = wn__tmpopen(path, tmp, sizeof tmp, err);
    if (!fp) {
        free(text);
        return err ? err->code : WN_ERR_IO;
    }
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    int ok = fwrite(le, 1, 8, fp) == 8 && fwrite(text, 1, len, fp) == len;
    for (size_t i = len; ok && i < padded; i++) ok = fputc(' ', fp) != EOF;
    free(text);
    for (int i = 0; ok && i < n; i++)
        ok = fwrite(t[i].data, 1, t[i].bytes, fp) == t[i].bytes;
    if (!ok) {
        int e = errno;
        wn__abort_file(fp, tmp);
        return wn__err(err, WN_ERR_IO, "%s: write failed: %s", path, strerror(e));
    }
    return wn__commit_file(fp, tmp, path, err);
nomem:
    if (md) json_decref(md);
    if (h) json_decref(h);
    return wn__err(err, WN_ERR_NOMEM, "out of memory writing %s", path);
}

/* ------------------------------------------------------------ the model */

static int meta_int(const wn__st_file *f, const char *path, const char *key, int *out,
                    wn_error *err)
{
    const char *s = wn__st_meta(f, key);
    if (!s) return wn__err(err, WN_ERR_FORMAT, "%s: metadata lacks '%s'", path, key);
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < -2147483647L || v > 2147483647L)
        return wn__err(err, WN_ERR_FORMAT, "%s: metadata '%s' = '%s' is not a whole number",
                       path, key, s);
    *out = (int)v;
    return WN_OK;
}

/* The configuration of a file written by another program (safetensors'
 * own writers: metadata {"format": "pt"} or none) from its tensors' shapes
 * under our PyTorch state-dict names. The shapes tell bins, layers and
 * channels; the sample rate and the dilation cycle (stack) they cannot, so
 * those come from the metadata or the message says exactly what to add. */
static int infer_config(const wn__st_file *f, const char *path, const char *fmt, wn_config *c,
                        wn_error *err)
{
    int nd;
    int64_t cs[8], ds[8], ks[8];
    if (!wn__st_find(f, "causal.weight", NULL, &nd, cs, NULL, NULL) || nd != 3 ||
        !wn__st_find(f, "layers.0.dilated.weight", NULL, &nd, ds, NULL, NULL) || nd != 3 ||
        !wn__st_find(f, "layers.0.skip.weight", NULL, &nd, ks, NULL, NULL) || nd != 3)
        return wn__err(err, WN_ERR_FORMAT, "%s: not a wavenet model (metadata format = %s%s%s)",
                       path, fmt ? "'" : "", fmt ? fmt : "missing", fmt ? "'" : "");
    int layers = 0;
    for (int i = 0; i < wn__st_count(f); i++) {
        int l;
        if (sscanf(wn__st_name(f, i), "layers.%d.dilated.weight", &l) == 1 && l + 1 > layers)
            layers = l + 1;
    }
    if (cs[1] > 65536 || cs[0] > 4096 || ds[0] > 8192 || ks[0] > 4096)
        return wn__err(err, WN_ERR_FORMAT, "%s: tensor shapes beyond any configuration", path);
    *c = (wn_config){.bins = (int)cs[1], .layers = layers, .residual = (int)cs[0],
                     .dilation = (int)ds[0] / 2, .skip = (int)ks[0]};
    const char *sr = wn__st_meta(f, "sample_rate"), *st = wn__st_meta(f, "stack");
    if (!sr || !st)
        return wn__err(err, WN_ERR_FORMAT,
                       "%s: metadata format %s%s%s, not 'wavenet'; its tensors are a WaveNet of "
                       "%d layers, %d bins, R=%d D=%d S=%d, but the rate and dilations are not "
                       "in them: write the file with metadata {\"format\": \"wavenet\", "
                       "\"version\": \"1\", \"sample_rate\": \"8000\", \"stack\": \"10\"} "
                       "(your rate, and the number of layers per dilation cycle 1, 2, .., "
                       "2^(stack-1))", path, fmt ? "'" : "", fmt ? fmt : "missing",
                       fmt ? "'" : "", c->layers, c->bins, c->residual, c->dilation, c->skip);
    return meta_int(f, path, "sample_rate", &c->sample_rate, err) ||
                   meta_int(f, path, "stack", &c->stack, err)
               ? WN_ERR_FORMAT
               : WN_OK;
}

wn_model *wn_model_load(const char *path, wn_error *err)
{
    wn__st_file *f = wn__st_open(path, err);
    if (!f) return NULL;
    wn_model *m = NULL;
    const char *fmt = wn__st_meta(f, "format");
    wn_config c = {0};
    if (!fmt || !strcmp(fmt, "pt") || !strcmp(fmt, "np")) {
        if (infer_config(f, path, fmt, &c, err)) goto out;
    } else if (strcmp(fmt, "wavenet")) {
        wn__err(err, WN_ERR_FORMAT, "%s: not a wavenet model (metadata format = '%s')", path,
                fmt);
        goto out;
    } else {
        int version;
        if (meta_int(f, path, "version", &version, err)) goto out;
        if (version < 1 || version > WN_FORMAT_VERSION) {
            wn__err(err, WN_ERR_FORMAT, "%s: format version %d (this build reads 1..%d)", path,
                    version, WN_FORMAT_VERSION);
            goto out;
        }
        if (meta_int(f, path, "sample_rate", &c.sample_rate, err) ||
            meta_int(f, path, "bins", &c.bins, err) ||
            meta_int(f, path, "layers", &c.layers, err) ||
            meta_int(f, path, "stack", &c.stack, err) ||
            meta_int(f, path, "residual", &c.residual, err) ||
            meta_int(f, path, "dilation", &c.dilation, err) ||
            meta_int(f, path, "skip", &c.skip, err))
            goto out;
    }
#define OPT(key) (wn__st_meta(f, #key) && meta_int(f, path, #key, &c.key, err))
    if (OPT(cond) || OPT(hop) || OPT(upsample_pre) || OPT(cond_channels) || OPT(speakers) ||
        OPT(speaker_dim))
        goto out;
#undef OPT
    wn_error cerr;
    if (wn_config_check(&c, &cerr) != WN_OK) {
        wn__err(err, WN_ERR_FORMAT, "%s: %s", path, cerr.message);
        goto out;
    }
    /* the tensor table first, checked against the file before any weight
     * is allocated: memory stays bounded by what the file holds */
    m = wn__model_alloc(&c, 0, err);
    if (!m) goto out;
    for (int i = 0; i < m->n_tensors; i++) {
        const wn_tensor_desc *t = &m->tensors[i];
        const char *dtype;
        int ndim;
        int64_t shape[8];
        if (!wn__st_find(f, t->name, &dtype, &ndim, shape, NULL, NULL)) {
            wn__err(err, WN_ERR_FORMAT, "%s: tensor '%s' is missing", path, t->name);
            goto fail;
        }
        if (strcmp(dtype, "F32")) {
            wn__err(err, WN_ERR_FORMAT, "%s: tensor '%s' is %s, expected F32", path,
                    t->name, dtype);
            goto fail;
        }
        int same = ndim == t->ndim;
        for (int d = 0; same && d < ndim; d++) same = shape[d] == t->shape[d];
        if (!same) {
            char got[96] = "", want[64] = "";
            size_t gl = 0, wl = 0;
            for (int d = 0; d < ndim && gl < sizeof got - 24; d++)
                gl += (size_t)snprintf(got + gl, sizeof got - gl, "%s%lld", d ? "," : "",
                                       (long long)shape[d]);
            for (int d = 0; d < t->ndim; d++)
                wl += (size_t)snprintf(want + wl, sizeof want - wl, "%s%d", d ? "," : "",
                                       t->shape[d]);
            wn__err(err, WN_ERR_FORMAT, "%s: tensor '%s' has shape (%s), the configuration needs (%s)",
                    path, t->name, got, want);
            goto fail;
        }
    }
    if (wn__model_alloc_slabs(m, err) != WN_OK) goto fail;
    if (wn__st_load_slab(f, path, m, "", m->params, err) != WN_OK) goto fail;
    if (wn__cond_meta_load(m, f, path, err) != WN_OK) goto fail;
    /* every tensor must be one we know (a training checkpoint adds opt.*) */
    for (int i = 0; i < wn__st_count(f); i++) {
        const char *name = wn__st_name(f, i);
        if (strncmp(name, "opt.", 4) && !wn__find_tensor(m, name)) {
            wn__err(err, WN_ERR_FORMAT, "%s: unexpected tensor '%s' for this configuration",
                    path, name);
            goto fail;
        }
    }
    goto out;
fail:
    wn_model_free(m);
    m = NULL;
out:
    wn__st_close(f);
    return m;
}

int wn__st_load_slab(const wn__st_file *f, const char *path, const wn_model *m,
                     const char *prefix, float *slab, wn_error *err)
{
    size_t most = 0;
    for (int i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].count > most) most = m->tensors[i].count;
    float *tmp = wn__alloc(most ? most : 1, sizeof(float));
    if (!tmp) return wn__err(err, WN_ERR_NOMEM, "%s: out of memory", path);
    int rc = WN_OK;
    for (int i = 0; i < m->n_tensors && rc == WN_OK; i++) {
        const wn_tensor_desc *t = &m->tensors[i];
        char name[80];
        snprintf(name, sizeof name, "%s%s", prefix, t->name);
        const char *dtype;
        const void *data;
        size_t bytes;
        if (!wn__st_find(f, name, &dtype, NULL, NULL, &data, &bytes)) {
            rc = wn__err(err, WN_ERR_FORMAT, "%s: tensor '%s' is missing", path, name);
            break;
        }
        if (strcmp(dtype, "F32") || bytes != t->count * sizeof(float)) {
            rc = wn__err(err, WN_ERR_FORMAT, "%s: tensor '%s' is not %zu F32 values", path,
                         name, t->count);
            break;
        }
        memcpy(tmp, data, bytes); /* little-endian host assumed (x86-64, arm64) */
        for (size_t j = 0; j < t->count; j++)
            if (!isfinite(tmp[j])) {
                rc = wn__err(err, WN_ERR_NONFINITE, "%s: tensor '%s' element %zu is %s", path,
                             name, j, isnan(tmp[j]) ? "NaN" : "infinite");
                break;
            }
        if (rc == WN_OK) wn__tensor_convert(t, tmp, slab + t->offset, 0);
    }
    wn__free(tmp);
    return rc;
}

int wn__model_tensors(const wn_model *m, const float *slab, float *tmp, wn__st_tensor *t)
{
    for (int i = 0; i < m->n_tensors; i++) {
        const wn_tensor_desc *d = &m->tensors[i];
        wn__tensor_convert(d, slab + d->offset, tmp + d->offset, 1);
        t[i] = (wn__st_tensor){d->name, "F32", d->ndim, {d->shape[0], d->shape[1], d->shape[2], 0},
                               tmp + d->offset, d->count * sizeof(float)};
    }
    return m->n_tensors;
}

int wn__model_meta(const wn_model *m, const char **kv, char *store[2])
{
    const wn_config *c = &m->cfg;
    const int cond = c->cond || c->speakers;
    /* an unconditional model stays version 1: the same bytes as before,
     * and readers older than conditioning read it */
    int vals[] = {cond ? WN_FORMAT_VERSION : 1, c->sample_rate, c->bins, c->layers, c->stack,
                  c->residual, c->dilation, c->skip};
    static const char *keys[] = {"version", "sample_rate", "bins", "layers", "stack",
                                 "residual", "dilation", "skip"};
    store[0] = malloc(8 * 24);
    store[1] = NULL;
    if (!store[0]) return -1;
    kv[0] = "format";
    kv[1] = "wavenet";
    for (int i = 0; i < 8; i++) {
        char *b = store[0] + 24 * i;
        snprintf(b, 24, "%d", vals[i]);
        kv[2 + 2 * i] = keys[i];
        kv[3 + 2 * i] = b;
    }
    int n = wn__cond_meta_save(m, kv + 18, &store[1]);
    if (n < 0) {
        free(store[0]);
        store[0] = NULL;
        return -1;
    }
    return 9 + n;
}

int wn_model_save(const wn_model *m, const char *path, wn_error *err)
{
    wn__st_tensor *t = calloc((size_t)m->n_tensors, sizeof *t);
    float *tmp = wn__alloc(m->n_params, sizeof(float));
    if (!t || !tmp) {
        free(t);
        wn__free(tmp);
        return wn__err(err, WN_ERR_NOMEM, "out of memory");
    }
    wn__model_tensors(m, m->params, tmp, t);
    char *store[2];
    const char *kv[WN_MODEL_META];
    int nmeta = wn__model_meta(m, kv, store);
    int rc = nmeta < 0 ? wn__err(err, WN_ERR_NOMEM, "out of memory")
                       : wn__st_write(path, t, m->n_tensors, kv, nmeta, err);
    if (nmeta >= 0) free(store[0]), free(store[1]);
    free(t);
    wn__free(tmp);
    return rc;
}
