/* upsample.h - the vocoder's upsampler: log-mel frames (one row per hop
 * samples) to one conditioning row per sample, as learned transposed 1-D
 * convolutions (PyTorch ConvTranspose1d) whose strides multiply to the
 * hop, optionally after a small non-causal conv over the frames (PyTorch
 * Conv1d, kernel 3, padding 1). Whole-sequence layers over row-major
 * (time, channels) buffers; nothing here allocates.
 *
 * Weights. The _ref functions take PyTorch's layout; the others take the
 * compute layout, taps first: file (A, B, K) -> (K, A, B), each tap the
 * file's (A, B) matrix with unit stride (what a BLAS needs; the same rule
 * as model.c's kernel-2 convs). wn__taps_pack/unpack convert at the
 * safetensors boundary.
 *   ConvTranspose1d(Cin, Cout, K): file (Cin, Cout, K) -> (K, Cin, Cout)
 *   Conv1d(Cin, C, 3):            file (C, Cin, 3)    -> (3, C, Cin)
 *
 * Gradients: every backward overwrites what it writes (din, dw, db), like
 * the weight gradients of layers.h (the caller sums its chunks); din may
 * be NULL where the input needs none (the mel frames).
 *
 * Alignment. A stage with K - 2 pad == stride (s) sends input row t to
 * output rows [t s - pad, t s - pad + K), centred on the block
 * [t s, (t+1) s): a block of s rows plus a halo of pad rows on each side.
 * A chain of such stages is one as well: frame f reaches exactly rows
 *     [f hop - E, (f+1) hop - 1 + E],  E = sum_i pad_i * (s_{i+1} ... s_n),
 * centred on f hop + (hop - 1)/2 (test_upsample checks it with an impulse).
 * The STFT's frame f is centred on sample f hop (wn_stft_magnitude), so
 * sample n reads row n + hop/2 (integer division, wn__upsample_row): the
 * row whose block holds the frame nearest to n. Frame f's influence is then
 * centred on sample f hop (odd hop) or f hop - 1/2 (even hop: the nearest a
 * whole-row shift gets). Reading row n instead (frame f on samples
 * [f hop, (f+1) hop)) would condition sample n mostly on frame
 * floor(n/hop), centred 0..hop-1 samples before n: a lag of hop/2 on
 * average, that learned kernels would have to undo by skewing.
 * F = wn_stft_frames(N, hop) = N/hop + 1 frames give F hop rows; sample
 * n < N needs row n + hop/2, which exists for every n when N % hop <= hop/2,
 * else the last samples' nearest frame is past the end: the caller pads
 * the frames by one (wn__upsample_frames_needed says how many). */
#ifndef WN_UPSAMPLE_H
#define WN_UPSAMPLE_H

#include "internal.h"

/* file (A, B, K) [a][b][k] <-> compute (K, A, B) [k][a][b]; no overlap. */
void wn__taps_pack(float *dst, const float *src, int A, int B, int K);
void wn__taps_unpack(float *dst, const float *src, int A, int B, int K);

/* ---- transposed convolution (PyTorch ConvTranspose1d, no dilation,
 * groups or output_padding) */

/* Tout = (Tin - 1) stride - 2 pad + K, or -1 if Tin, K or stride < 1,
 * pad < 0 or Tout < 1 (PyTorch refuses those too). */
long wn__convT_out_len(long Tin, int K, int stride, int pad);

/* out[o] = b + sum over (t, k) with t stride - pad + k = o of in[t] W[:, :, k]
 * (a (Cin) row times a (Cin, Cout) matrix), o in [0, Tout); b may be NULL.
 * in (Tin, Cin), out (Tout, Cout), Tout from wn__convT_out_len (valid
 * arguments are the caller's job). _ref: w PyTorch (Cin, Cout, K), scalar
 * loops in double; the other: wt (K, Cin, Cout), one GEMM per tap whose
 * output rows are every stride-th (a strided scatter), OpenMP over the
 * stride phases (disjoint rows; each row sums its taps in increasing k). */
void wn__convT_forward_ref(float *out, const float *in, const float *w, const float *b,
                           int Tin, int Cin, int Cout, int K, int stride, int pad);
void wn__convT_forward(float *out, const float *in, const float *wt, const float *b, int Tin,
                       int Cin, int Cout, int K, int stride, int pad);
/* From dout (Tout, Cout): din (Tin, Cin) = dL/din (if din), dw = dL/dW in
 * the weight's layout, db (Cout) = sum of dout rows (if db); all three
 * overwritten. */
void wn__convT_backward_ref(float *din, float *dw, float *db, const float *dout,
                            const float *in, const float *w, int Tin, int Cin, int Cout, int K,
                            int stride, int pad);
void wn__convT_backward(float *din, float *dwt, float *db, const float *dout, const float *in,
                        const float *wt, int Tin, int Cin, int Cout, int K, int stride,
                        int pad);

/* ---- the frames conv: PyTorch Conv1d(Cin, C, 3, padding=1), non-causal,
 * same length: out[t] = b + sum_k W[:, :, k] in[t + k - 1], rows outside
 * [0, T) zero. in (T, Cin), out (T, C); b may be NULL. _ref: w (C, Cin, 3);
 * the other wt (3, C, Cin). */
void wn__conv_frames_forward_ref(float *out, const float *in, const float *w, const float *b,
                                 int T, int Cin, int C);
void wn__conv_frames_forward(float *out, const float *in, const float *wt, const float *b,
                             int T, int Cin, int C);
/* din (T, Cin) (if din), dw in the weight's layout, db (C) (if db); all
 * overwritten. */
void wn__conv_frames_backward_ref(float *din, float *dw, float *db, const float *dout,
                                  const float *in, const float *w, int T, int Cin, int C);
void wn__conv_frames_backward(float *din, float *dwt, float *db, const float *dout,
                              const float *in, const float *wt, int T, int Cin, int C);

/* ---- the chain */

#define WN_UPSAMPLE_MAX_STAGES 4
/* kernel 2 x 32 = 64 taps: wider single stages cost C^2 K parameters and
 * are where transposed convs show checkerboard patterns */
#define WN_UPSAMPLE_MAX_STRIDE 32

typedef struct wn__upsample_chain {
    int stages;
    int stride[WN_UPSAMPLE_MAX_STAGES];
    int kernel[WN_UPSAMPLE_MAX_STAGES];
    int pad[WN_UPSAMPLE_MAX_STAGES];
    int hop;   /* product of the strides: samples per frame */
    int halo;  /* E above: rows a frame reaches beyond its block, each side */
} wn__upsample_chain;

/* The default chain for a hop: the fewest stages (at most
 * WN_UPSAMPLE_MAX_STAGES) whose strides are even and <= 32 and multiply to
 * hop; among those the most even split (smallest largest stride), in
 * increasing order (stage i costs in proportion to s_1 ... s_i, so small
 * strides first are cheapest); kernel 2s, pad s/2, so each stage gives
 * exactly Tin s rows. 256 -> 16 x 16, 64 -> 8 x 8, 200 -> 10 x 20,
 * 160 -> 10 x 16, 32 -> 32, 2048 -> 8 x 16 x 16. A hop with no such
 * factorisation (odd, or with a prime factor over 16, e.g. 441 or 50 =
 * 2 x 25) is refused with WN_ERR_CONFIG and a message saying so.
 * Fills c (hop and halo too). */
int wn__upsample_plan(wn__upsample_chain *c, int hop, wn_error *err);
/* A chain from elsewhere (a model file): every stage must have stride in
 * [1, WN_UPSAMPLE_MAX_STRIDE], pad >= 0 and K - 2 pad == stride (so Tout =
 * Tin stride exactly and the alignment above holds); 1..MAX stages. Fills
 * hop and halo. WN_OK or WN_ERR_CONFIG naming the stage. */
int wn__upsample_chain_check(wn__upsample_chain *c, wn_error *err);

/* The row of the chain's output (over frames 0, 1, ...) that sample n reads:
 * n + hop/2. */
static inline long wn__upsample_row(const wn__upsample_chain *c, long n)
{
    return n + c->hop / 2;
}
/* The frames [*f0, *f1) of the chain's input that the rows samples
 * [n0, n1) read depend on (clipped below at 0; not above: *f1 may exceed
 * the frame count, and those frames are then absent, or padded by the
 * caller). Running the chain over frames [f0, f1) alone gives the same
 * rows as over all frames, at local row wn__upsample_row(n) - f0 hop: frames
 * outside the range reach none of them (test_upsample checks it, also
 * with a pointwise function between stages). `pre` (0 or 1): frames conv
 * first; it needs one frame more each side, and of its output only rows
 * [f0, f1) are right, so: run it over [f0 - pre, f1 + pre) clipped to the
 * frames there are, feed rows [f0, f1) of it to the chain. */
void wn__upsample_frames_needed(const wn__upsample_chain *c, long n0, long n1, long *f0,
                                long *f1);

#endif
