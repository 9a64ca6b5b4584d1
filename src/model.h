/* model.h - the model's internals, shared by the library's modules. */
#ifndef WN_MODEL_H
#define WN_MODEL_H

#include "internal.h"
#include "upsample.h"

/* How a tensor's compute layout differs from the file's: PLAIN not at all;
 * TAPS (A, B, K) -> (K, A, B), each tap a unit-stride (A, B) matrix (the
 * kernel-2 dilated convs, the upsampler's convs); CAUSAL (R, Q, 2) ->
 * (2, Q, R), an embedding table per tap. */
enum { WN_T_PLAIN = 0, WN_T_TAPS = 1, WN_T_CAUSAL = 2 };

typedef struct wn_tensor_desc {
    char name[48];
    int ndim;
    int shape[3];   /* PyTorch layout, as in the file */
    size_t offset;  /* in floats, into the flat vector */
    size_t count;
    int kind;       /* how the compute layout differs: WN_T_* */
} wn_tensor_desc;

/* Pointers to one layer's tensors in some slab laid out like the model's
 * (the packed compute layout). */
typedef struct wn_layer_view {
    float *w_dil;   /* (2, 2D, R): tap 0 multiplies h[t-d], tap 1 h[t] */
    float *b_dil;   /* (2D): filter rows, then gate rows */
    float *w_res;   /* (R, D) */
    float *b_res;   /* (R) */
    float *w_skip;  /* (S, D) */
    float *b_skip;  /* (S) */
    float *w_cond;  /* (2D, C) or NULL: the upsampled features' share */
    float *w_spk;   /* (2D, G) or NULL: the speaker embedding's share */
} wn_layer_view;

typedef struct wn_view {
    float *causal_w; /* (2, Q, R): rows of an embedding table per tap */
    float *causal_b; /* (R) */
    wn_layer_view *layer; /* L entries, owned by the view */
    float *head0_w;  /* (S, S) */
    float *head0_b;  /* (S) */
    float *head1_w;  /* (Q, S) */
    float *head1_b;  /* (Q) */
    /* conditioning (NULL when absent) */
    float *spk_table;  /* (N, G) */
    float *up_pre_w;   /* (3, C, C) taps first */
    float *up_pre_b;   /* (C) */
    float *up_w[WN_UPSAMPLE_MAX_STAGES]; /* (K_i, C, C) taps first */
    float *up_b[WN_UPSAMPLE_MAX_STAGES]; /* (C) */
} wn_view;

struct wn_model {
    wn_config cfg;
    int *dil;             /* dilation of each layer */
    int rf;               /* receptive field */
    size_t n_params;
    int n_tensors;
    wn_tensor_desc *tensors;
    float *params;        /* the one slab, in the compute layout */
    wn_view pk;           /* views into params */
    int layer_t0, layer_nt; /* tensor index of layers.0.*, tensors per layer */
    /* conditioning (cond.c): the upsampler's stages, the feature recipe and
     * normalisation, the speakers' names */
    wn__upsample_chain up;
    wn_mel_params mel;
    float *feat_mean, *feat_std; /* (C) each */
    int norm_set;
    char (*spk_names)[64];       /* (N) */
};

/* The width of the upsampled features (u) and of the upsampler. */
static inline int wn__cond_width(const wn_config *c)
{
    return c->cond_channels ? c->cond_channels : c->cond;
}

/* Parameter count a configuration implies (in double: no overflow). */
double wn__config_params(const wn_config *c);
/* Allocate a model's skeleton (tensor table, and the slabs if `slabs`) for
 * a checked config; wn__model_alloc_slabs adds the slabs later (a loader
 * first checks the file holds every tensor). */
wn_model *wn__model_alloc(const wn_config *c, int slabs, wn_error *err);
int wn__model_alloc_slabs(wn_model *m, wn_error *err);
/* A copy of m after wn_model_round(copy, p), or NULL (err set). */
wn_model *wn__model_rounded(const wn_model *m, wn_precision p, wn_error *err);
/* Views of a slab in compute layout; wn__view_free frees the layer array. */
int wn__view_init(const wn_model *m, float *slab, wn_view *v);
void wn__view_free(wn_view *v);
/* One tensor between the file (PyTorch) layout and the compute layout:
 * to_file 0 reads src in file layout and writes dst in compute layout,
 * 1 the other way. src and dst do not overlap. */
void wn__tensor_convert(const wn_tensor_desc *t, const float *src, float *dst, int to_file);
const wn_tensor_desc *wn__find_tensor(const wn_model *m, const char *name);

/* The safetensors boundary: describe the model's tensors of a compute-
 * layout slab (params, a moment) for wn__st_write, converted to the file
 * layout in tmp (n_params floats, caller-owned, alive until the write);
 * t has room for m->n_tensors. Returns the count. */
int wn__model_tensors(const wn_model *m, const float *slab, float *tmp, wn__st_tensor *t);
/* The other way: read the tensors "<prefix><name>" of an open file (F32,
 * finite, the model's sizes) into a compute-layout slab. */
int wn__st_load_slab(const wn__st_file *f, const char *path, const wn_model *m,
                     const char *prefix, float *slab, wn_error *err);
/* The model's metadata key/value pairs (format, version, config, and a
 * conditional model's recipe, normalisation and speaker names) into kv
 * (room for WN_MODEL_META strings), the strings' memory in store[0] and
 * store[1] (free both with free()). Returns the pair count, -1 out of
 * memory. */
#define WN_MODEL_META 64
int wn__model_meta(const wn_model *m, const char **kv, char *store[2]);
/* Read a conditional model's metadata (recipe, norm, names) of an open
 * file into m (cond.c). */
int wn__cond_meta_load(wn_model *m, const wn__st_file *f, const char *path, wn_error *err);

#endif
