/*
 * wavenet.h - a WaveNet-style autoregressive audio model: load, generate,
 * score and train.
 *
 * Usage (one second of generated speech into out.wav; tests/test_usage.sh
 * builds and runs it):
 *
 *     wn_error err;
 *     wn_model *m = wn_model_load("models/wavenet-speech.safetensors", &err);
 *     if (!m) { fprintf(stderr, "%s\n", err.message); return 1; }
 *     wn_config c = wn_model_config(m);
 *     wn_sample_params sp = wn_sample_default_params();
 *     sp.seed = 42;
 *     wn_gen *g = wn_gen_create(m, 1, &sp, &err);        // one stream
 *     wn_wav *w = g ? wn_wav_open("out.wav", c.sample_rate, c.bins, &err) : NULL;
 *     int rc = w ? wn_gen_prime(g, NULL, 0, &err) : err.code; // from silence
 *     for (int t = 0; rc == WN_OK && t < c.sample_rate; t++) {
 *         int code;
 *         wn_gen_step(g, &code, NULL);
 *         rc = wn_wav_write_codes(w, &code, 1, &err);
 *     }
 *     if (rc == WN_OK) rc = wn_wav_close(w, &err);       // renames into place
 *     else wn_wav_abort(w);
 *     if (rc != WN_OK) fprintf(stderr, "%s\n", err.message);
 *     wn_gen_free(g);
 *     wn_model_free(m);
 *     return rc == WN_OK ? 0 : 1;
 *
 * Ownership: every create/load has its free. A wn_model is read-only once
 * loaded (wn_model_set_tensor aside) and may be shared by threads; all
 * mutable state (ring buffers, RNG, scratch, gradients, optimizer moments)
 * lives in the caller's wn_gen / wn_optim objects.
 *
 * Units: lengths are in samples, log-likelihoods in nats (natural log),
 * bits per sample = nats / ln 2 / samples.
 *
 * The library never prints and never exits: functions return WN_OK (0) or a
 * negative wn_status code, and fill an optional wn_error with a one-line
 * message naming what is wrong.
 */
#ifndef WAVENET_H
#define WAVENET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define WN_API __attribute__((visibility("default")))
#else
#define WN_API
#endif

/* The newest weights-file version this build reads: 1 unconditional, 2
 * conditional (docs/FORMAT.md). An unconditional model is still written as
 * version 1, byte for byte as before. */
#define WN_FORMAT_VERSION 2

/* ---------------------------------------------------------------- errors */

typedef enum wn_status {
    WN_OK = 0,
    WN_ERR_NOMEM = -1,     /* allocation failed or a size is too large */
    WN_ERR_IO = -2,        /* open/read/write/rename failed */
    WN_ERR_FORMAT = -3,    /* a file is not what it claims (model, WAV, ...) */
    WN_ERR_CONFIG = -4,    /* an invalid model configuration */
    WN_ERR_ARG = -5,       /* an invalid argument from the caller */
    WN_ERR_AUDIO = -6,     /* audio that cannot be used (empty, NaN, ...) */
    WN_ERR_NONFINITE = -7, /* NaN or Inf in weights or in a loss */
    WN_ERR_INTERRUPTED = -8, /* stopped by the caller (progress callback) */
    WN_ERR_CHECKSUM = -9,  /* crc32 of the data does not match */
    WN_ERR_RANGE = -10,    /* a value outside what a format can hold */
} wn_status;
#define WN_STATUS_LAST WN_ERR_RANGE

typedef struct wn_error {
    int code;           /* a wn_status */
    char message[320];  /* one line, no trailing newline */
} wn_error;

/* A short generic description of a status code ("out of memory"). */
WN_API const char *wn_strerror(int code);

/* ---------------------------------------------------------------- mu-law */

/* F(x) = sign(x) ln(1 + mu|x|) / ln(1 + mu), mu = bins - 1,
 * code = floor((F(x) + 1) / 2 * mu + 0.5); x is clipped to [-1, 1]. */
WN_API int wn_mulaw_encode(float x, int bins);
/* The inverse at y = 2 code / mu - 1. */
WN_API float wn_mulaw_decode(int code, int bins);
/* The code of 0.0: the past before the first sample is this silence. */
WN_API int wn_mulaw_silence(int bins);

/* ---------------------------------------------------------------- model */

typedef struct wn_config {
    int sample_rate; /* Hz */
    int bins;        /* Q: mu-law classes, 2..65536 */
    int layers;      /* L: number of dilated layers */
    int stack;       /* K: dilations 1,2,..,2^(K-1), repeated */
    int residual;    /* R: residual channels */
    int dilation;    /* D: gate channels (the dilated conv outputs 2D) */
    int skip;        /* S: skip channels */
    /* Conditioning (docs/FORMAT.md; all 0 = an unconditional model). */
    int cond;        /* C: log-mel bands of local conditioning, 0 = none */
    int hop;         /* with cond: samples per feature frame; the upsampler's
                        strides (wn_model_upsample_strides) multiply to it */
    int upsample_pre;/* with cond: 1 = a kernel-3 conv over the frames first */
    int cond_channels;/* with cond: the upsampler's and the layers' conditioning
                        channels (0 = cond); other than cond needs upsample_pre,
                        whose conv maps the bands to them (fewer channels: less
                        work per sample) */
    int speakers;    /* N: rows of the speaker table, 0 = none */
    int speaker_dim; /* G: a speaker embedding's width (with speakers) */
} wn_config;

/* 8000 Hz, 256 bins, 20 layers in stacks of 10, R=32, D=32, S=128. */
WN_API wn_config wn_config_default(void);
/* The largest receptive field a configuration may have (samples); also
 * the receptive field times the widest channel count (max(R, 2D, S)) is
 * at most 2^26. */
#define WN_MAX_RECEPTIVE_FIELD (1 << 21)
/* WN_OK or WN_ERR_CONFIG with a message naming the bad field or limit. */
WN_API int wn_config_check(const wn_config *c, wn_error *err);

typedef struct wn_model wn_model;

/* A model with seeded random weights (PyTorch's Conv1d default init:
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases), except a
 * vocoder's transposed convolutions, which start as linear interpolation
 * between frames, each channel to itself, with zero bias. */
WN_API wn_model *wn_model_init(const wn_config *c, uint64_t seed, wn_error *err);
/* Load a safetensors weights file (docs/FORMAT.md); validates everything.
 * Optimizer tensors of a training checkpoint ("opt.*") are ignored. */
WN_API wn_model *wn_model_load(const char *path, wn_error *err);
/* Write to a temporary name in the same folder, flush, rename. */
WN_API int wn_model_save(const wn_model *m, const char *path, wn_error *err);
WN_API void wn_model_free(wn_model *m);

WN_API wn_config wn_model_config(const wn_model *m);
/* Number of past samples a prediction depends on: 2 + sum of dilations. */
WN_API int wn_model_receptive_field(const wn_model *m);
WN_API size_t wn_model_param_count(const wn_model *m);
/* The dilation of layer i. */
WN_API int wn_model_layer_dilation(const wn_model *m, int i);

/* Tensors, by PyTorch state-dict name, with PyTorch's shapes (out, in,
 * kernel). Returns the number of tensors; name/shape of tensor i. */
WN_API int wn_model_tensor_count(const wn_model *m);
WN_API const char *wn_model_tensor_name(const wn_model *m, int i);
/* Fills shape[0..ndim) and returns element count, or 0 if no such name.
 * offset (optional) receives where the tensor's elements start in the flat
 * parameter vector (wn_model_params); they are contiguous there. */
WN_API size_t wn_model_tensor_info(const wn_model *m, const char *name,
                                   int *ndim, int shape[3], size_t *offset);
/* Read-only view of all parameters as one flat vector in the model's
 * compute layout: each tensor at its offset, but a kernel-2 convolution
 * stored per tap (tap-major), not in PyTorch's (out, in, kernel) order.
 * Gradients (wn_loss_grad) and optimizer moments (wn_optim_state) are
 * vectors of this same layout. Use wn_model_tensor_get for PyTorch's. */
WN_API const float *wn_model_params(const wn_model *m);
/* Copy tensor `name` of `slab` (a vector in the layout of wn_model_params:
 * a gradient, a moment; NULL = the model's own parameters) into out in
 * PyTorch's layout (out, in, kernel). Returns the element count (out must
 * hold that many), 0 if no such tensor. */
WN_API size_t wn_model_tensor_get(const wn_model *m, const char *name,
                                  const float *slab, float *out);
/* The other way: tensor `name` from `in` (PyTorch's layout) into `slab` (a
 * vector in the layout of wn_model_params, e.g. a gradient being built).
 * Returns the element count, 0 if no such tensor. */
WN_API size_t wn_model_tensor_put(const wn_model *m, const char *name, float *slab,
                                  const float *in);
/* Set tensor `name` from n floats in PyTorch's layout, or, when name is
 * NULL, the whole flat vector from n floats in the layout of
 * wn_model_params. Non-finite values are refused (nothing changes). Not
 * thread-safe against users of m. */
WN_API int wn_model_set_tensor(wn_model *m, const char *name, const float *data,
                               size_t n, wn_error *err);

/* ---------------------------------------------------------------- conditioning
 * A conditional model (wn_config.cond or .speakers) predicts p(x_t | x_<t,
 * features, speaker). Features are log-mel frames as wn_model_features
 * computes them (the model's recipe, wn_model_mel_params), one per hop
 * samples, frame f centred on sample f * hop; the model normalises them
 * with its own per-band mean and std (wn_model_feature_norm). Sample t is
 * conditioned through the upsampled row t + hop/2 (docs/FORMAT.md); before
 * the first sample (the silent past) the features contribute nothing and
 * the speaker still does. Initialise it by field name ({.features = f,
 * .frames = n, .speaker = -1}): later versions may add fields at its end. */
typedef struct wn_cond {
    const float *features; /* (frames, cond) floats, row-major; NULL = none */
    size_t frames;
    int speaker;           /* row of the speaker table; -1 = none */
    int bands;             /* the features' columns, if known: wn_cond_check refuses
                              features whose count is not the model's; 0 = unknown */
} wn_cond;
/* The frames that condition n samples: n / hop + 1 would leave the last
 * samples of a clip whose length is not a multiple of the hop without
 * their nearest frame, so (n + hop/2) / hop + 1 (0 for an unconditional
 * model). */
WN_API size_t wn_model_cond_frames(const wn_model *m, size_t n);
/* The samples `frames` frames condition: (frames - 1) * hop (what vocoding
 * them gives). */
WN_API size_t wn_model_cond_samples(const wn_model *m, size_t frames);
/* Speaker names (a model without speakers has none): count, i-th name,
 * and the row of a name (or a decimal row number), -1 if none. */
WN_API int wn_model_speaker_count(const wn_model *m);
WN_API const char *wn_model_speaker_name(const wn_model *m, int i);
WN_API int wn_model_speaker_find(const wn_model *m, const char *name);
/* Name the speakers (n == wn_config.speakers; each 1..63 characters of
 * letters, digits, '_', '-', '.'; all different). */
WN_API int wn_model_set_speaker_names(wn_model *m, const char *const *names, int n,
                                      wn_error *err);
/* The per-band normalisation (x - mean) / std applied to features (cond
 * floats each; std > 0). A new model has mean 0, std 1 and no norm set
 * (wn_model_feature_norm returns 0); `wavenet train` sets it from the
 * training clips before the first step of a fresh run. */
WN_API int wn_model_set_feature_norm(wn_model *m, const float *mean, const float *std,
                                     wn_error *err);
/* 1 if set (mean and std copied when given), 0 if not, -1 unconditional. */
WN_API int wn_model_feature_norm(const wn_model *m, float *mean, float *std);
/* The upsampler's strides (up to 4) into strides; returns their count. */
WN_API int wn_model_upsample_strides(const wn_model *m, int strides[4]);
/* Check a wn_cond against the model for n samples: features present with
 * the model's band count (c->bands, when given) and at least
 * wn_model_cond_frames(m, n) frames, all finite; a speaker in range, required when the model has speakers and
 * refused when it has none. WN_OK or WN_ERR_ARG / WN_ERR_NONFINITE naming
 * what is wrong. More frames are not ignored: the upsampler reaches a
 * frame or two past a frame's own block (its halo, and the frames conv's
 * one frame more), so a frame past those the n samples need can move the
 * last samples' logits, as it would in PyTorch: give a clip's own frames. */
WN_API int wn_cond_check(const wn_model *m, const wn_cond *c, size_t n, wn_error *err);
/* wn_model_logits with conditioning (c may be NULL for an unconditional
 * model). */
WN_API int wn_model_logits_cond(const wn_model *m, const int *codes, size_t n,
                                const wn_cond *c, float *logits, wn_error *err);

/* Precision of the per-sample products of generation (dilated, residual,
 * skip and head convolutions). WN_PRECISION_F16 stores their weights as
 * IEEE half floats, arithmetic in float32: half the bytes that generation
 * streams through the cache for every sample. WN_PRECISION_I8 stores them
 * as int8 with a float scale per output and quantises each product's
 * input vector to 7 bits, [-63, 63] (a scale per vector), on the fly: the
 * sums are exact integers, a quarter of the bytes and twice the multiply
 * rate. The residual and skip sums, the gate and the softmax stay float32
 * in both. */
typedef enum {
    WN_PRECISION_F32 = 0,
    WN_PRECISION_F16 = 1,
    WN_PRECISION_I8 = 2
} wn_precision;
/* Round those weights to precision p in place (biases and the input
 * embedding keep float32). A generator at
 * WN_PRECISION_F16 computes exactly what WN_PRECISION_F32 computes for the
 * rounded model, so scoring the rounded model measures its cost in bits.
 * Rounding twice changes nothing. WN_PRECISION_I8 is refused: its inputs
 * are quantised too, which no rounding of the weights expresses (score it
 * through a generator: wn_gen_feed). Not thread-safe against users of m. */
WN_API int wn_model_round(wn_model *m, wn_precision p, wn_error *err);

/* Teacher-forced logits: logits[t*Q + q] = log-unnormalised p(x_t = q |
 * x_<t), the past before x_0 being silence. n codes in, n*Q floats out. */
WN_API int wn_model_logits(const wn_model *m, const int *codes, size_t n,
                           float *logits, wn_error *err);

/* ---------------------------------------------------------------- progress */

/* Called now and then by long jobs; return non-zero to stop the job
 * (it then returns WN_ERR_INTERRUPTED). done/total in job units. */
typedef int (*wn_progress_fn)(void *user, double done, double total);

/* ---------------------------------------------------------------- scoring */

typedef struct wn_score_params {
    int threads;        /* 0 = OpenMP default */
    size_t chunk;       /* samples scored per chunk (memory bound), 0 = auto */
    wn_progress_fn progress; /* done: samples scored so far, of total, and
                                total at the end; from the calling thread only */
    void *progress_user;
    wn_precision precision; /* WN_PRECISION_F32 (default): the model itself,
                               teacher-forced. F16 or I8: through the
                               per-sample generation steps at that precision
                               (wn_gen_set_precision), exactly the numbers
                               generation at it samples from (int8 has no
                               teacher-forced twin) */
    const wn_cond *cond;    /* a conditional model's features and speaker
                               for the codes (wn_cond_check), else NULL */
} wn_score_params;
WN_API wn_score_params wn_score_default_params(void);

/* Exact -sum_t log p(x_t | x_<t) in nats over n codes; logp (optional, n
 * floats) receives each sample's log-probability. Chunks overlap by the
 * receptive field so the result equals one pass over the whole signal.
 * Through generation steps (precision F16, I8) the codes are cut into
 * chunks by their count alone, each run as a stream of a generator (up to
 * 4 a generator, a generator a thread) that starts from silence at least
 * one receptive field before its chunk (a conditional model's stream with
 * its clock there: wn_gen_set_clock): every number of a step depends on
 * the last receptive field of codes (and features) only, so each sample's
 * log-probability is bit for bit that of one stream fed from the start.
 * The total is summed in chunk order: the same bits for any thread
 * count. */
WN_API int wn_score_codes(const wn_model *m, const int *codes, size_t n,
                          const wn_score_params *p, double *nll_nats,
                          float *logp, wn_error *err);

/* ---------------------------------------------------------------- sampling */

typedef struct wn_sample_params {
    float temperature;  /* 1 = the model's distribution; 0 = argmax */
    int top_k;          /* 0 = off */
    float top_p;        /* 1 = off */
    uint64_t seed;
} wn_sample_params;
WN_API wn_sample_params wn_sample_default_params(void);

/* Cached (Fast WaveNet) generation of B streams: each layer keeps a ring
 * buffer of its past inputs, so one sample costs one column per layer. */
typedef struct wn_gen wn_gen;
WN_API wn_gen *wn_gen_create(const wn_model *m, int streams,
                             const wn_sample_params *p, wn_error *err);
WN_API void wn_gen_free(wn_gen *g);
/* Run the streams on this many threads (default 1); the output does not
 * depend on it. */
WN_API void wn_gen_set_threads(wn_gen *g, int threads);
/* Keep the weights at precision p (default WN_PRECISION_F32, which gives
 * exactly the teacher-forced numbers). WN_PRECISION_F16 is faster and gives
 * exactly the numbers of the model after wn_model_round(m, p), priming
 * included. WN_PRECISION_I8 is faster still; its numbers are its own, and
 * wn_gen_prime then runs the prime (and the silence before it, one
 * receptive field) through the int8 steps, not the teacher-forced pass.
 * A change restarts every stream from silence (the queues hold numbers of
 * the old precision): call it before wn_gen_prime. */
WN_API int wn_gen_set_precision(wn_gen *g, wn_precision p, wn_error *err);
WN_API wn_precision wn_gen_precision(const wn_gen *g);
/* Start every stream after the given codes (NULL/0 = silence). The prime
 * goes through the teacher-forced pass in one go to fill the buffers.
 * The codes are samples 0..n-1 of each stream's utterance: every stream's
 * sample clock (wn_gen_clock) is then at n, the next step making sample n
 * (after silence, sample 0). A conditional model's streams are primed each
 * with its own conditioning (wn_gen_set_cond first; the features must
 * cover the n samples). */
WN_API int wn_gen_prime(wn_gen *g, const int *codes, size_t n, wn_error *err);
/* A conditional model's features and speaker for stream `stream` (0..B-1,
 * or -1: every stream), as wn_cond_check judges them (WN_ERR_ARG /
 * WN_ERR_NONFINITE naming what is wrong; an unconditional model refuses
 * any). The features are copied. Call it before wn_gen_prime: a
 * conditional model's generator refuses to prime until every stream has
 * its conditioning, and to step until it was primed since the last
 * change (a change of precision primes it again from silence). Sample t
 * of a stream is conditioned by its upsampled row t and its speaker;
 * features of F frames cover the samples wn_cond_check accepts for them
 * (at least wn_model_cond_samples(m, F)), and a step past them is refused
 * (WN_ERR_ARG) unless the stream was stopped. */
WN_API int wn_gen_set_cond(wn_gen *g, int stream, const wn_cond *c, wn_error *err);
/* As wn_gen_set_cond, without the copy: the generator reads c->features
 * where they are, so they must stay valid and unchanged until the
 * generator is freed or the stream is given other conditioning. For long
 * features (an hour is 144 MB at 80 bands and hop 64) this keeps one copy
 * in memory instead of two. */
WN_API int wn_gen_use_cond(wn_gen *g, int stream, const wn_cond *c, wn_error *err);
/* The sample of its utterance stream `stream`'s next step makes (or its
 * next feed predicts); -1 for no such stream. */
WN_API int64_t wn_gen_clock(const wn_gen *g, int stream);
/* Move that clock to `sample` (stream -1: every stream), the queues kept
 * as they are. After a prime from silence, this enters an utterance in the
 * middle, its unknown past taken as silence: after one receptive field of
 * steps every number is the same as if the stream had run from the start
 * (what wn_score_codes does to start each chunk's stream a receptive field
 * early). Only a conditional model's features care about the clock. */
WN_API int wn_gen_set_clock(wn_gen *g, int stream, int64_t sample, wn_error *err);
/* Stream `stream`'s utterance is complete: the streams step together, so
 * its later steps still run (and sample codes that belong to nothing, past
 * its features' end conditioned on no frames), but its features' end no
 * longer refuses a step of the others. For utterances of different lengths as streams of one generator:
 * stop each as it ends. Undone by wn_gen_prime and wn_gen_set_cond. */
WN_API int wn_gen_stop_stream(wn_gen *g, int stream, wn_error *err);
/* wn_gen_step, wn_gen_run and wn_gen_feed return a status only: the
 * one-line reason for the latest refusal of one of them ("" if none). */
WN_API const char *wn_gen_last_error(const wn_gen *g);
/* One sample for every stream: codes[b], and logp[b] = log p(code) under
 * the model's temperature-1 distribution (either may be NULL). WN_OK,
 * WN_ERR_ARG (nothing done: a conditional model's generator not ready, or
 * a step past a stream's features; wn_gen_last_error says which) or
 * WN_ERR_NONFINITE (the logits overflowed). */
WN_API int wn_gen_step(wn_gen *g, int *codes, double *logp);
/* n samples for every stream (the same as n calls of wn_gen_step, but the
 * threads do not synchronise per sample: with more streams than threads
 * they take runs of streams 64 samples at a time, so a thread on a busy
 * core does less of the work): codes[i*B + b], logp[i*B + b] (either may
 * be NULL). */
WN_API int wn_gen_run(wn_gen *g, size_t n, int *codes, double *logp);
/* Lower level (teacher forcing one step): feed one input code per stream
 * (the latest sample) and get the logits (B x Q) for the next sample,
 * without sampling. Follow it with more feeds or a new prime. */
WN_API int wn_gen_feed(wn_gen *g, const int *inputs, float *logits);
/* Sample from logits (Q floats) with params p and a 64-bit RNG state;
 * returns the code (>= 0) or a negative wn_status. */
WN_API int wn_sample_logits(const float *logits, int bins,
                            const wn_sample_params *p, uint64_t *rng,
                            double *logp);

/* ---------------------------------------------------------------- audio */

typedef struct wn_audio_info {
    int file_rate;      /* the file's own sample rate */
    int file_channels;
    int64_t file_frames;
    int resampled;      /* 1 if resampled to the requested rate */
    int mixed;          /* 1 if mixed down to mono */
} wn_audio_info;

/* Read any file libsndfile reads (a headerless .raw, by its extension in
 * any case, is 16-bit LE mono at `rate`), mix to mono, resample to `rate`
 * with libsamplerate. rate 0 keeps the file's own rate (8000 Hz for .raw);
 * info->file_rate tells which. Samples are floats clipped to [-1, 1]. *out
 * is malloc'ed (free with free()); info may be NULL. Only regular files are
 * opened (never blocks on a FIFO), and path "-": standard input, read to
 * its end into an unlinked temporary file in $TMPDIR (at most 8 GiB), then
 * read as a file (messages call it "stdin"). Empty audio, NaN/Inf samples (the message
 * names the sample index), files that are not audio, truncated files whose
 * header claims more frames than they hold, or too long (> 2^31 frames) are
 * errors with a one-line message naming the file. */
WN_API int wn_audio_read(const char *path, int rate, float **out, size_t *n,
                         wn_audio_info *info, wn_error *err);
/* Read and mu-law encode (int codes, malloc'ed). */
WN_API int wn_audio_read_codes(const char *path, int rate, int bins,
                               int **codes, size_t *n, wn_audio_info *info,
                               wn_error *err);

/* The header sandbox of wn_audio_read (and of everything that reads audio
 * through it: wn_audio_read_codes, training and validation clips, the
 * baselines). libsndfile's header parsers are not all safe on hostile
 * files: 1.2.x spins forever on a WAV whose LIST sub-chunk size wraps its
 * seek backwards (its issue #1118), and its other formats have such
 * corners. Off (the default), a file is read directly and the library
 * never forks: a hostile header can hang the calling thread for good or
 * crash the process. On, each file's header is first parsed by a forked
 * child under a deadline (2 s plus 1 s per 16 MiB of file), and a hang or
 * a crash there is WN_ERR_FORMAT; each read then forks once, which first
 * flushes all of the process's stdio output (fflush(NULL): the child must
 * not write it a second time) and runs the process's pthread_atfork
 * handlers. Turn it on when the files come from anyone else (the
 * `wavenet` command does). Process-wide and atomic: it may be set from
 * any thread at any time; a read uses the setting it finds at its start.
 * .raw files have no header and are never probed. In a multi-threaded
 * host the child calls libsndfile (and malloc) after fork(), which glibc
 * supports but POSIX does not promise. */
WN_API void wn_audio_set_sandbox(int on);
/* 1 if the sandbox is on, else 0. */
WN_API int wn_audio_sandbox(void);

/* A streamed audio writer. The container is the one `path`'s extension
 * names among libsndfile's (.flac, .aiff, .au, .caf, .w64, ...; .raw is
 * headerless 16-bit little-endian, as wn_audio_read reads .raw), WAV for
 * any other name or none; lossy formats (.ogg, .mp3, ...) and containers
 * that cannot hold the samples exactly are refused (WN_ERR_ARG): every
 * format written reads back as the same codes. Data go to a temporary
 * name beside `path`, with a valid header at every flush (WAV, AIFF, AU,
 * CAF, W64; FLAC writes its totals at close); wn_wav_close renames it into place, and
 * wn_wav_abort removes it (a file already at `path` is untouched until a
 * successful close). path "-" writes to stdout: the WAV is assembled in
 * memory and written whole at close (a pipe cannot seek back to fix the
 * header), so flush does nothing there. A failed write (disk full, ...) is
 * WN_ERR_IO and leaves the writer only good for close/abort, which then
 * remove the temporary. WAV is limited to 4 GiB (WN_ERR_RANGE). */
typedef struct wn_wav wn_wav;
WN_API wn_wav *wn_wav_open(const char *path, int rate, int bins, wn_error *err);
/* Append mu-law codes (decoded; written as 16-bit PCM when every code
 * survives the round trip, else as float). */
WN_API int wn_wav_write_codes(wn_wav *w, const int *codes, size_t n, wn_error *err);
/* Rewrite the header for the frames so far and fsync: the temporary is a
 * playable WAV from here on, even if the process is killed. Costs a disk
 * sync: call it every second or so, not per sample. */
WN_API int wn_wav_flush(wn_wav *w, wn_error *err);
WN_API int wn_wav_close(wn_wav *w, wn_error *err);
WN_API void wn_wav_abort(wn_wav *w);

/* ---------------------------------------------------------------- BLAS threads */

/* OpenBLAS has one thread count for the whole process. The library's large
 * products (scoring, training, priming a generator) run inside its own
 * OpenMP threads, each thread its own product: an OpenBLAS that also spread
 * every product over threads of its own would oversubscribe the cores. So,
 * by default, the library's first product sets OpenBLAS's count to 1
 * (openblas_set_num_threads(1)), once, for the whole process: the host's
 * own BLAS calls then run on one thread too. wn_set_blas_threads takes
 * that over: n >= 1 sets OpenBLAS's count to n now; n == 0 leaves it to
 * the caller (OPENBLAS_NUM_THREADS, or one per core, unless the caller sets
 * it). Either way the library never sets it again, and a count it set
 * earlier stays until the caller changes it. Call it at start-up, before
 * products run in other threads (OpenBLAS's own setter is not safe against
 * them). WN_OK, or WN_ERR_ARG for n < 0 (nothing changes). The `wavenet`
 * command keeps the default. */
WN_API int wn_set_blas_threads(int n);

/* ---------------------------------------------------------------- files
 * The atomic output every writer of the library uses, for the caller's own
 * files (a CSV, a report): wn_file_open creates an exclusive temporary
 * beside path (".NAME.tmp.PID.RANDOM", never through a planted link; stale
 * ones of dead processes removed) and returns it as a stdio stream, its
 * name in tmp (size >= 4200); wn_file_commit flushes, fsyncs and renames it
 * over path (a failure removes it, path untouched); wn_file_abort removes
 * it. path "-" is refused: write to stdout yourself. */
WN_API FILE *wn_file_open(const char *path, char *tmp, size_t size, wn_error *err);
WN_API int wn_file_commit(FILE *f, const char *tmp, const char *path, wn_error *err);
WN_API void wn_file_abort(FILE *f, const char *tmp);

/* ---------------------------------------------------------------- features files
 * NumPy .npy files of features (src/npy.c): 2-D float32, (rows, cols) =
 * (frames, bands), C order, as TTS front ends exchange log-mels. */

/* The most elements (rows * cols) either function takes: 2^31, 8 GiB of
 * float32. A header claiming more is refused before anything is allocated. */
#define WN_NPY_MAX_ELEMENTS ((size_t)1 << 31)

/* Write data (rows * cols floats, row-major) as NumPy format 1.0, dtype
 * '<f4', the header padded with spaces and '\n' so the data start at a
 * multiple of 64 bytes: the bytes numpy.save writes (numpy >= 1.24).
 * Atomic (wn_file_open/wn_file_commit); path "-" writes to stdout. rows and
 * cols must be >= 1 and every value finite (WN_ERR_ARG, WN_ERR_RANGE,
 * WN_ERR_NONFINITE naming the row and column): what wn_npy_read refuses is
 * never written. */
WN_API int wn_npy_write(const char *path, const float *data, size_t rows, size_t cols,
                        wn_error *err);
/* Read a .npy file of format 1.0, 2.0 or 3.0 (header at most 64 KiB) that
 * holds a 2-D C-order array of little-endian float32 ('<f4') or float64
 * ('<f8', numpy's default dtype, rounded to float32). *data (malloc'ed,
 * free with free()) receives rows * cols floats, row-major. Refused with a
 * one-line message: any other dtype, byte order or Fortran order, not 2-D
 * (naming the shape), 0 rows ("no frames") or 0 columns, more than
 * WN_NPY_MAX_ELEMENTS (WN_ERR_RANGE), data shorter or longer than the shape
 * says, a NaN or infinity (WN_ERR_NONFINITE) or a float64 beyond float32's
 * range (WN_ERR_RANGE), naming its row and column; the rest are
 * WN_ERR_FORMAT, or WN_ERR_IO for a file that cannot be read. Only regular
 * files are opened, and path "-" reads standard input (messages call it
 * "stdin"). On failure *data is NULL and *rows = *cols = 0. */
WN_API int wn_npy_read(const char *path, float **data, size_t *rows, size_t *cols,
                       wn_error *err);

#ifdef __cplusplus
}
#endif

/* The rest of the API, by concern (each includes this header first). */
#include "wavenet_signal.h"
#include "wavenet_train.h"

#endif /* WAVENET_H */
