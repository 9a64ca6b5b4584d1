/* cond.h - conditioning: the features' recipe and normalisation, the
 * upsampler from frames to one row per sample, and the speaker terms.
 *
 * The network itself (net.c, the stream) sees conditioning as two inputs
 * of each layer's pre-activation a = dilated(h) + b:
 *   u    one C-row per sample (the upsampled features), times the layer's
 *        cond weight (2D, C);
 *   bias the layer's dilated bias plus its speaker weight times the
 *        speaker's embedding (constant in time), one (2D) row per layer.
 * Rows of samples before the first (the silent past) are zero in u. */
#ifndef WN_COND_H
#define WN_COND_H

#include "model.h"

/* The default FFT size of a recipe: the smallest power of two >= 3 hop. */
int wn__cond_default_fft(int hop);

/* Each layer's dilated bias plus its speaker term (W_spk e_s) for speaker
 * s (or the bare biases for s < 0): out (L, 2D). The one definition the
 * teacher-forced pass and the stream share, so their sums agree. */
void wn__cond_layer_bias(const wn_model *m, int s, float *out);

/* The upsampler over one span of samples [n0, n1) of an utterance of F
 * feature frames (raw log-mels, (F, C)): normalised, through the frames
 * conv and the transposed convs, u[n - n0] = row n + hop/2 of the output
 * for n >= 0 and zero for n < 0. Frames past F are absent (wn_model_
 * cond_frames gives enough of them for a clip). A workspace holds every
 * stage's rows for the backward. */
typedef struct wn__cond_ws wn__cond_ws;
/* For spans of up to `span` samples. */
wn__cond_ws *wn__cond_ws_create(const wn_model *m, long span);
void wn__cond_ws_free(wn__cond_ws *w);
size_t wn__cond_ws_bytes(const wn_model *m, long span);
void wn__cond_forward(const wn_model *m, wn__cond_ws *w, const float *feats, long F, long n0,
                      long n1, float *u);
/* After wn__cond_forward of the same span: du ((n1 - n0), C) back through
 * the upsampler; the weight gradients are added (+=) into g. */
void wn__cond_backward(const wn_model *m, wn__cond_ws *w, const float *du, const wn_view *g);

/* The speaker's share of a window's gradient, from dbias (L, 2D): each
 * layer's dilated-bias gradient of this window alone (the speaker term is
 * added where the bias is): dW_spk_j += dbias_j e_s^T, and the table's row
 * s += sum_j W_spk_j^T dbias_j. */
void wn__cond_speaker_backward(const wn_model *m, int s, const float *dbias, const wn_view *g);

/* Copy src's recipe, normalisation and names into dst (same config). */
void wn__cond_copy(wn_model *dst, const wn_model *src);

/* The metadata of a conditional model (recipe, norm, names): pairs into
 * kv (room for 2 * 20 strings), the strings' memory in *store (free()).
 * Returns the pair count (0 unconditional), -1 out of memory. */
int wn__cond_meta_save(const wn_model *m, const char **kv, char **store);

#endif
