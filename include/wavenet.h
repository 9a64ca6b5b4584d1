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
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases). */
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
 * the speaker still does. */
typedef struct wn_cond {
    const float *features; /* (frames, cond) floats, row-major; NULL = none */
    size_t frames;
    int speaker;           /* row of the speaker table; -1 = none */
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
 * the model's band count and at least wn_model_cond_frames(m, n) frames,
 * all finite; a speaker in range, required when the model has speakers and
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
 * its later steps still run (and sample codes that belong to nothing), but
 * on no features, and its features' end no longer refuses a step of the
 * others. For utterances of different lengths as streams of one generator:
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

/* ---------------------------------------------------------------- training */

/* Mean cross-entropy (nats) of `batch` windows of `len` codes each
 * (codes[b*len + i]): inputs are codes[0..len-1), and the loss counts the
 * len - RF predicted samples that see a full receptive field (RF). grad
 * (wn_model_param_count floats, the layout of wn_model_params) is
 * overwritten with d(loss)/d(params). threads 0 = OpenMP default: windows
 * run a thread each, and windows that do not fill the threads are shared
 * by all of them, by chunks of time; the windows' gradients are added in
 * window order, so the result is the same bits for any count. */
WN_API int wn_loss_grad(const wn_model *m, const int *codes, int batch, int len,
                        int threads, float *grad, double *loss, wn_error *err);

/* The same with buffers kept across calls (a training loop's choice):
 * create once for a batch size and window length, run every step. */
typedef struct wn_grad_ctx wn_grad_ctx;
WN_API wn_grad_ctx *wn_grad_ctx_create(const wn_model *m, int batch, int len,
                                       int threads, wn_error *err);
WN_API int wn_grad_ctx_run(wn_grad_ctx *c, const int *codes, float *grad,
                           double *loss, wn_error *err);
WN_API void wn_grad_ctx_free(wn_grad_ctx *c);
/* One window's conditioning for a conditional model: the features of the
 * clip it was cut from (raw log-mels, as wn_model_features gives them)
 * and where in the clip it starts. */
typedef struct wn_window_cond {
    const float *features; /* (frames, cond), or NULL for a model without */
    size_t frames;         /* at least wn_model_cond_frames(m, offset + len) */
    int64_t offset;        /* the clip sample of the window's first code;
                              negative for a window that starts before its
                              clip (down to 1 - len): the codes there are
                              the silent past, where the features give
                              nothing and the speaker still does */
    int speaker;           /* -1 for a model without speakers */
} wn_window_cond;
/* wn_grad_ctx_run for a conditional model: wc[b] conditions window b (wc
 * may be NULL only for an unconditional model). The upsampler's and the
 * speaker table's gradients are part of grad. */
WN_API int wn_grad_ctx_run_cond(wn_grad_ctx *c, const int *codes, const wn_window_cond *wc,
                                float *grad, double *loss, wn_error *err);
/* Bytes a wn_grad_ctx of this size allocates (0 if the sizes are invalid):
 * grows with batch x window, not with the data. */
WN_API size_t wn_grad_memory(const wn_model *m, int batch, int len, int threads);

typedef enum wn_optimizer {
    WN_OPT_ADAM = 0, WN_OPT_SGD, WN_OPT_MOMENTUM, WN_OPT_NESTEROV,
    WN_OPT_ADAGRAD, WN_OPT_RMSPROP, WN_OPT_ADADELTA,
} wn_optimizer;

typedef struct wn_optim_params {
    wn_optimizer kind;
    float beta1, beta2, eps;   /* Adam: 0.9, 0.999, 1e-8 (eps also Adagrad's,
                                  RMSprop's and Adadelta's; PyTorch's
                                  Adadelta default is 1e-6) */
    float momentum;            /* momentum/Nesterov: 0.9 */
    float rho;                 /* RMSprop and Adadelta decay: 0.9 */
    float weight_decay;        /* decoupled (AdamW-style), 0 = off */
} wn_optim_params;
WN_API wn_optim_params wn_optim_default_params(void);
WN_API const char *wn_optimizer_name(wn_optimizer k);
/* -1 if unknown; names: adam sgd momentum nesterov adagrad rmsprop adadelta */
WN_API int wn_optimizer_parse(const char *name);

typedef struct wn_optim wn_optim;
WN_API wn_optim *wn_optim_create(const wn_model *m, const wn_optim_params *p,
                                 wn_error *err);
WN_API void wn_optim_free(wn_optim *o);
/* One update of m's parameters, in place, with gradient grad (the layout
 * of wn_model_params) at learning rate lr. An update that would make a
 * parameter or a moment non-finite changes nothing and returns
 * WN_ERR_NONFINITE. Not thread-safe against users of m. */
WN_API int wn_optim_step(wn_optim *o, wn_model *m, const float *grad, float lr,
                         wn_error *err);
WN_API int64_t wn_optim_steps(const wn_optim *o);
/* Moment buffers (the layout of wn_model_params, param_count floats each;
 * NULL if unused by the optimizer): slot 0 = first moment / velocity /
 * accumulator, 1 = second. */
WN_API float *wn_optim_state(wn_optim *o, int slot);
WN_API void wn_optim_set_steps(wn_optim *o, int64_t steps);

/* ---------------------------------------------------------------- ranks
 * Data-parallel training over MPI (src/dist.c): started with mpirun or
 * srun, every rank runs the same training and the trainer splits each
 * step's global batch among them (wn_trainer_create). wn_dist_init starts
 * MPI in a process that mpirun or srun started, and does nothing in any
 * other (or in a build without MPI: wn_dist_available() is 0): call it
 * first thing in main, before threads. The ranks' gradients are summed by a
 * fixed tree, so N ranks give the weights of one process with the same
 * global batch, bit for bit, when batch / N is a power of two. */
WN_API int wn_dist_init(int *argc, char ***argv, wn_error *err);
WN_API void wn_dist_finalize(void);
/* End every rank's process with this status (MPI_Abort under MPI). */
WN_API void wn_dist_abort(int code);
WN_API int wn_dist_rank(void);
WN_API int wn_dist_size(void);
WN_API int wn_dist_available(void);
/* v[i] = the largest of every rank's v[i] (n values, every rank calls):
 * how a training loop's ranks agree to stop, and take rank 0's decisions
 * (the others pass -1). */
WN_API int wn_dist_max(int64_t *v, int n, wn_error *err);

/* ---------------------------------------------------------------- trainer
 * The training driver (src/train.c): random windows of the training clips,
 * loss and gradient (a wn_grad_ctx), global-norm clipping, learning-rate
 * warmup and decay, the optimizer, validation with early stopping, and
 * checkpoints from which a run resumes bit for bit.
 *
 *     wn_train_params tp = wn_train_default_params();
 *     tp.steps = 2000;
 *     tp.best_path = "out.safetensors";
 *     wn_trainer *t = wn_trainer_create(m, &tp, train, ntrain, valid, nvalid, &err);
 *     wn_train_stats st = {0};
 *     while (wn_trainer_steps_done(t) < tp.steps && !st.stop)
 *         if (wn_trainer_step(t, &st, &err)) break;
 *     wn_trainer_save(t, "out.ckpt", &err);
 *     wn_trainer_free(t);
 *
 * Data: each training clip is read with wn_audio_read at the model's rate,
 * trimmed of silence at both ends (|x| below peak - trim_db, with 20 ms of
 * margin kept), and held as floats; windows are mu-law encoded as they are
 * drawn (after the optional random gain). A window is RF + T codes
 * (RF = wn_model_receptive_field): the loss counts its last T samples, each
 * of which sees a full receptive field. A window may begin up to RF samples
 * before its clip, the missing past being silence - exactly the past that
 * scoring gives a clip's first samples - so every sample of a clip is
 * trained on. A clip is used when what is left after trimming holds at
 * least max(T, RF + 1) samples; a shorter one, or one that is silence
 * throughout, is skipped (reported: wn_trainer_clip), so that no window is
 * mostly silence.
 * Validation clips are read with wn_audio_read_codes, untrimmed, and scored
 * whole with wn_score_codes, as `wavenet score` does: bits/sample = total
 * nats / total samples / ln 2.
 *
 * Conditional models. A mel model's features are computed once per clip
 * as it is read (wn_model_features of exactly the samples kept: after
 * trimming for a training clip, the whole clip for a validation one) and
 * wait beside its samples; a window gets the frames its samples need.
 * With gain jitter, a window's features are its clip's shifted by ln g^2
 * in every band (what a gain g does to a log-mel above the recipe's power
 * floor; clipping at full scale is not followed). A model whose
 * normalisation is not set (wn_model_feature_norm returns 0) gets each
 * band's mean and standard deviation over all training frames (in double,
 * clip by clip: the same on any thread or rank count; a standard deviation
 * under 0.1 counts as 0.1) before the first step; wn_trainer_resume then
 * restores the checkpoint's. A speaker model needs every clip's speaker
 * (train_speakers, valid_speakers, speaker_from_folder; a list line
 * "path<TAB>speaker", wn_list_read_speakers): a model whose names are the
 * defaults ("0", "1", ...) names its rows 0.. after the training speakers,
 * sorted (more speakers than rows is an error, and a validation speaker
 * must be one of them); a model with names of its own must know each
 * speaker. Validation scores each clip with its own features and speaker
 * (wn_score_params.cond). The checkpoint's data identity holds each file's
 * speaker, and a resume checks the speaker names and the feature recipe.
 *
 * Determinism: the data RNG (seed), step counter, optimizer moments, best
 * validation and patience counter are all in the checkpoint; with the same
 * parameters, files and thread count a resumed run reaches the same weights,
 * bit for bit, as one that never stopped. */

typedef enum wn_decay {
    WN_DECAY_NONE = 0, /* the peak lr after warmup, to the end */
    WN_DECAY_COSINE,   /* half cosine from lr down to lr*decay_final at `steps` */
    WN_DECAY_LINEAR,   /* straight line from lr down to lr*decay_final at `steps` */
    WN_DECAY_STEP,     /* lr * decay_gamma^floor((t - warmup) / decay_every) */
} wn_decay;

typedef struct wn_train_params {
    int batch;             /* windows per step: 8 */
    int window;            /* T, predicted samples per window: 2048 */
    int64_t steps;         /* total steps: the run's end and the schedule's
                              horizon (0 = open-ended: after warmup the lr
                              holds its peak until wn_trainer_set_steps) */
    float lr;              /* peak learning rate: 1e-3 */
    int64_t warmup;        /* steps of linear warmup, lr*(t+1)/warmup: 100 */
    wn_decay decay;        /* after warmup: WN_DECAY_COSINE */
    float decay_final;     /* cosine/linear end point, fraction of lr: 0.1 */
    int64_t decay_every;   /* step decay period in steps: 1000 */
    float decay_gamma;     /* step decay factor: 0.5 */
    float clip;            /* global L2 norm limit of the gradient: 1; 0 = off */
    wn_optim_params optim; /* wn_optim_default_params() (Adam) */
    uint64_t seed;         /* data RNG: window positions and gains: 1 */
    int threads;           /* OpenMP threads for loss and scoring; 0 = default */
    float trim_db;         /* silence threshold below each clip's peak: 40 dB;
                              0 = no trimming */
    float gain_jitter_db;  /* random gain per window, uniform in +-this many
                              dB (applied before mu-law): 0 = off */
    int64_t valid_every;   /* validate every this many steps: 500; 0 = only
                              when wn_trainer_validate is called */
    int patience;          /* stop after this many validations without a new
                              best: 0 = never */
    const char *best_path; /* each new best model is saved here (atomic;
                              wn_model_save); NULL = not saved. Not owned. */
    wn_progress_fn progress; /* reading data, validation; non-zero = stop */
    void *progress_user;
    /* Speakers (a model with a speaker table; ignored by one without): */
    const char *const *train_speakers; /* NULL, or one entry per `train`
                              path of wn_trainer_create: the speaker of
                              that path's clips (a NULL entry: none given) */
    const char *const *valid_speakers; /* the same for the `valid` paths */
    int speaker_from_folder; /* 1: a clip found in a sub-folder of a folder
                              path, at any depth, takes the name of that
                              sub-folder (the first level below the path)
                              as its speaker, unless its path has one.
                              The speaker arrays are not owned and are read
                              by wn_trainer_create only. */
    const char *const *meta; /* the caller's own key/value pairs written into
                              each checkpoint (meta[0] = key, meta[1] =
                              value, ..., then a NULL key), read back with
                              wn_checkpoint_meta: a program's output paths,
                              say. Keys start with "user." (WN_ERR_ARG
                              otherwise). NULL = none. Not owned: it
                              must outlive the trainer. */
} wn_train_params;
WN_API wn_train_params wn_train_default_params(void);

/* The --decay syntax: "none", "cosine[:FINAL]", "linear[:FINAL]" (FINAL a
 * fraction of the peak lr, default 0.1) or "step:EVERY[:GAMMA]" (multiply by
 * GAMMA, default 0.5, every EVERY steps). Sets decay, decay_final,
 * decay_every, decay_gamma of p; WN_ERR_ARG with a message otherwise. */
WN_API int wn_decay_parse(const char *s, wn_train_params *p, wn_error *err);
/* The canonical spelling of p's decay ("cosine:0.1"). */
WN_API void wn_decay_format(const wn_train_params *p, char *buf, size_t size);
/* The learning rate of update number `step` (0-based) under p. */
WN_API float wn_train_lr(const wn_train_params *p, int64_t step);

/* Append the paths of a list file (one per line; '#' starts a comment;
 * blank lines skipped; a relative path is relative to the list's folder)
 * to *paths / *n (a malloc'ed array of malloc'ed strings, grown here). A
 * line may name a speaker after a tab, "path<TAB>speaker": wn_list_read
 * keeps the path and drops the speaker. */
WN_API int wn_list_read(const char *list, char ***paths, int *n, wn_error *err);
/* The same, keeping the speakers: *speakers grows beside *paths with a
 * malloc'ed name (blanks trimmed) or NULL for a line without a tab. On
 * entry *speakers holds *n entries (NULL when *n is 0). Free both with
 * wn_list_free. */
WN_API int wn_list_read_speakers(const char *list, char ***paths, char ***speakers, int *n,
                                 wn_error *err);
WN_API void wn_list_free(char **paths, int n);
/* Append what a path names to *paths / *n, as the trainer reads its
 * --train and --valid paths: a folder gives the audio files in it and in
 * its sub-folders (by extension, sorted by path, hidden entries and links
 * to folders skipped; possibly none),
 * anything else is appended as given, for the audio reader to judge. */
WN_API int wn_path_expand(const char *path, char ***paths, int *n, wn_error *err);

/* What reading one clip gave. Lengths in samples at the model's rate. */
typedef struct wn_clip_report {
    const char *path;      /* as given (owned by the trainer) */
    int64_t samples;       /* read (before trimming) */
    int64_t head, tail;    /* trimmed at the start and at the end */
    int unusable;          /* not trained on: what is left after trimming is
                              shorter than a window (or than the receptive
                              field), or the clip is all silence */
    int silent;            /* all silence (no sample above one 16-bit step) */
    int file_rate;         /* the file's own rate */
    int resampled;         /* 1 if resampled to the model's rate */
    const char *speaker;   /* its speaker (a model with speakers), else NULL */
    int speaker_row;       /* the speaker's row of the model's table, or -1 */
    int64_t frames;        /* feature frames computed of it (mel models) */
} wn_clip_report;

typedef struct wn_train_stats {
    int64_t step;          /* updates done, this one included */
    double loss_bits;      /* this step's training loss, bits/sample */
    double grad_norm;      /* global L2 norm of the gradient before clipping */
    float lr;              /* the learning rate of this update */
    int64_t samples;       /* predicted samples in this step (batch * T) */
    double step_seconds;   /* wall time of the update (windows to weights) */
    double valid_seconds;  /* wall time of the validation, 0 if none ran */
    int validated;         /* 1 if a validation ran in this call */
    double valid_bits;     /* its bits/sample (NaN if none ran) */
    int improved;          /* it set a new best (best_path written) */
    int stop;              /* patience exhausted: the run should end */
    int64_t valid_step;    /* the step whose weights it scored: `step`, or
                              the step before it for a validation that an
                              interrupt cut short and this call ran first */
    double sum_seconds;    /* of step_seconds, the part spent summing the
                              gradient across ranks (0 on one rank) */
} wn_train_stats;

typedef struct wn_trainer wn_trainer;

/* Read the data and set up everything a step needs (gradients, moments,
 * windows): later steps allocate nothing. m is updated in place and must
 * outlive the trainer (not owned). train/valid: files or folders (every
 * audio file in them, wn_path_expand). Errors: no training file, a
 * file that cannot be read, no clip long enough to hold a window. */
WN_API wn_trainer *wn_trainer_create(wn_model *m, const wn_train_params *p,
                                     const char *const *train, int ntrain,
                                     const char *const *valid, int nvalid,
                                     wn_error *err);
WN_API void wn_trainer_free(wn_trainer *t);

/* One update: draw the windows, loss and gradient, clip, lr, optimizer;
 * then validate if valid_every says so. A non-finite loss or gradient, or
 * an update that would make a weight non-finite, returns WN_ERR_NONFINITE
 * naming the step; the model keeps the weights of the step before (the
 * trainer itself is then spent: free it, resume from a checkpoint).
 * WN_ERR_INTERRUPTED when the progress callback stopped a validation (the
 * update itself is done; the next call, or a resumed run, validates first).
 * Allocates nothing (a validation does, in wn_score_codes). */
WN_API int wn_trainer_step(wn_trainer *t, wn_train_stats *st, wn_error *err);
/* Score the validation clips now: *bits (NaN without validation clips),
 * best/patience bookkeeping, best_path saved on a new best. */
WN_API int wn_trainer_validate(wn_trainer *t, wn_train_stats *st, wn_error *err);

WN_API int64_t wn_trainer_steps_done(const wn_trainer *t);
/* Set the horizon (params.steps) later, e.g. once a time budget has been
 * converted to steps; it is saved in checkpoints. */
WN_API void wn_trainer_set_steps(wn_trainer *t, int64_t steps);
WN_API wn_train_params wn_trainer_params(const wn_trainer *t);
/* Seconds spent in steps and validations, over all resumed segments. */
WN_API double wn_trainer_seconds(const wn_trainer *t);
/* Best validation bits/sample so far (INFINITY if none) and its step. */
WN_API double wn_trainer_best(const wn_trainer *t, int64_t *step);
/* Step of the latest validation (-1 if none yet). */
WN_API int64_t wn_trainer_last_validation(const wn_trainer *t);
/* Estimated bytes of training memory: gradients, moments, the activations
 * of one batch and one window and validation clip read back (grows with
 * batch x window, not with the data: the clips wait in an unlinked
 * temporary file in $TMPDIR, 4 bytes a sample). */
WN_API size_t wn_trainer_memory(const wn_trainer *t);
/* What wn_trainer_create did for a conditional model. */
typedef struct wn_train_cond {
    int bands, hop;        /* the model's features (0 and 0 without) */
    int64_t frames[2];     /* feature frames of the training (0) and
                              validation (1) clips */
    int norm_set;          /* 1: it set the model's feature normalisation
                              (wn_model_set_feature_norm) from the training
                              frames, the model having none; 0: the model's
                              own stands */
    int speakers;          /* distinct speakers of the training clips (0 for
                              a model without speakers) */
    int named;             /* 1: it named the model's speaker rows after
                              them, the model's names being the defaults */
} wn_train_cond;
WN_API wn_train_cond wn_trainer_cond(const wn_trainer *t);
/* Clips read: which = 0 training, 1 validation. */
WN_API int wn_trainer_clip_count(const wn_trainer *t, int which);
WN_API const wn_clip_report *wn_trainer_clip(const wn_trainer *t, int which, int i);
/* Total samples of the usable clips. */
WN_API int64_t wn_trainer_data_samples(const wn_trainer *t, int which);

/* Save the current weights as a model file (atomic) with informational
 * metadata: steps, train_seconds and, after a validation, valid_bits (the
 * latest validation's bits/sample). best_path is written this way. */
WN_API int wn_trainer_save_model(const wn_trainer *t, const char *path, wn_error *err);

/* A checkpoint: a weights file (wn_model_load reads it) with the optimizer
 * moments as extra tensors opt.m.<name> (slot 0) and opt.v.<name> (slot 1)
 * and the training state and parameters in its metadata, with the data's
 * files by their resolved paths and, for each, its samples and the crc32
 * of what was kept of it (train_data, valid_data); written atomically. */
WN_API int wn_trainer_save(const wn_trainer *t, const char *path, wn_error *err);
/* Restore a checkpoint's weights (into the trainer's model), moments and
 * state. The model configuration and optimizer must match, and so must the
 * data (WN_ERR_ARG naming the first file whose audio differs from what the
 * run trained on; checkpoints older than the data record are not checked).
 * A best validation figure that is NaN or -inf is refused (WN_ERR_FORMAT). */
WN_API int wn_trainer_resume(wn_trainer *t, const char *path, wn_error *err);
/* A metadata value of a checkpoint (one of wn_train_params.meta's keys, or
 * any other) into buf: WN_OK, or WN_ERR_ARG if the key is absent (buf "")
 * and WN_ERR_RANGE if the value does not fit. */
WN_API int wn_checkpoint_meta(const char *path, const char *key, char *buf, size_t size,
                              wn_error *err);
/* The speaker of each of a checkpoint's files (which = 0 training, 1
 * validation), in the order of wn_checkpoint_read's lists: a malloc'ed
 * name or NULL (none; every entry NULL for a model without speakers).
 * Free with wn_list_free. */
WN_API int wn_checkpoint_speakers(const char *path, int which, char ***speakers, int *n,
                                  wn_error *err);
/* The parameters a checkpoint was trained with (progress, best_path, meta:
 * zero), its step, and its file lists (optional; wn_list_free them). */
WN_API int wn_checkpoint_read(const char *path, wn_train_params *p, int64_t *step,
                              char ***train, int *ntrain, char ***valid, int *nvalid,
                              wn_error *err);

/* ---------------------------------------------------------------- baselines
 * Reference models for bits/sample (wavenet baseline): see src/baseline.c.
 * Each is fitted on training clips and scored on validation clips as the
 * base-2 NLL of the mu-law codes averaged over every validation sample
 * (whole clips; the past before a clip's first sample is silence, as in
 * wn_score_codes). Results, in this order:
 *   "uniform"         1/Q for every code (log2 Q bits)
 *   "histogram"       P(c), add-one smoothed code counts
 *   "bigram"          P(c | previous code), add-one smoothed
 *   "lpcN-fixed"      order-N least-squares linear predictor on the decoded
 *                     signal, residual = logistic of a fixed scale s
 *                     integrated over each mu-law bin (s fitted)
 *   "lpcN-adaptive"   the same with s = max(k * mean|e| over the previous
 *                     `window` residuals, s_min) (k and s_min fitted), its
 *                     coefficients refitted by least squares weighted with
 *                     1 / (mean|e|)^2 (lpc_reweight times)
 * The LPC models mix in a uniform floor (wn_baseline_logistic_probs), so
 * every code has probability >= prob_floor and the distribution sums to 1. */

#define WN_BASELINE_COUNT 5

typedef struct wn_baseline_params {
    int bins;           /* Q, mu-law classes, 2..65536 (256) */
    int order;          /* LPC order, 1..64 (16) */
    int window;         /* residuals averaged for the adaptive scale, 1..4096 (32) */
    double prob_floor;  /* LPC floor eps, 0 < eps*Q < 0.5 (1e-6) */
    double lpc_k;       /* adaptive scale factor k; 0 = fit on training (0) */
    int lpc_reweight;   /* adaptive model: weighted least-squares refits, 0..100;
                         * 0 = ordinary least squares (6) */
} wn_baseline_params;
WN_API wn_baseline_params wn_baseline_default_params(void);

/* One baseline's figures. Plain values, no pointers: nothing to free. */
typedef struct wn_baseline_result {
    char name[32];             /* "uniform", "histogram", ... (see above) */
    char fit[128];             /* fitted parameters in words ("" if none) */
    double bits_per_sample;    /* validation: nll_nats / ln 2 / samples */
    double nll_nats;           /* validation: -sum ln p(x_t | x_<t), nats */
    int64_t samples;           /* validation samples scored */
    double train_bits_per_sample; /* the same on the training clips */
} wn_baseline_result;

/* Fit on the training clips and score the validation clips, all given as
 * mu-law codes in [0, bins): train[i] holds train_len[i] codes. out must
 * have room for WN_BASELINE_COUNT results; *nout receives the number
 * written. p NULL = defaults. Deterministic; the inputs are not modified
 * and not kept. WN_ERR_ARG for no clips, no samples, codes out of range or
 * bad params. */
WN_API int wn_baseline_run_codes(const int *const *train, const size_t *train_len,
                                 int ntrain, const int *const *valid,
                                 const size_t *valid_len, int nvalid,
                                 const wn_baseline_params *p,
                                 wn_baseline_result *out, int *nout, wn_error *err);

/* The same from audio files, read with wn_audio_read_codes (mono,
 * resampled to `rate` Hz, encoded with p->bins). */
WN_API int wn_baseline_run(const char *const *train, int ntrain,
                           const char *const *valid, int nvalid, int rate,
                           const wn_baseline_params *p, wn_baseline_result *out,
                           int *nout, wn_error *err);

/* The LPC baselines' distribution over the Q codes for one prediction:
 * probs[c] = (1 - Q eps) [sig((hi_c - pred)/s) - sig((lo_c - pred)/s)] + eps,
 * sig the logistic function, [lo_c, hi_c) the interval of x that
 * wn_mulaw_encode maps to code c (the end bins extend to -inf and +inf),
 * pred and s = scale > 0 in the signal domain (x in [-1, 1]),
 * eps = prob_floor >= 0 with Q eps < 1. probs has `bins` doubles. */
WN_API int wn_baseline_logistic_probs(double pred, double scale, int bins,
                                      double prob_floor, double *probs,
                                      wn_error *err);

/* ---------------------------------------------------------------- spectrum
 * FFTW spectrograms and PNG images: see src/spectrum.c. */

/* Short-time Fourier transform, centred frames: frame f is the `fft`
 * samples around sample f*hop (x[f*hop - fft/2 + t], t = 0..fft-1, zero
 * outside the signal), times a periodic Hann window. There are
 * n/hop + 1 frames of fft/2 + 1 bins; bin k is at k*rate/fft Hz.
 * Magnitudes are |DFT| * 2/sum(window): a sine of amplitude A centred on a
 * bin reads A there (so a full-scale sine is 0 dBFS). */
WN_API size_t wn_stft_frames(size_t n, int hop);
/* mag: (frames, fft/2 + 1) floats, row-major, caller-owned.
 * fft: even, 8..65536; hop >= 1. Multi-threaded with OpenMP over frames. */
WN_API int wn_stft_magnitude(const float *x, size_t n, int fft, int hop,
                             float *mag, wn_error *err);

typedef struct wn_spectrogram_params {
    int fft;          /* frame length in samples; 0 = auto: 256 at 8 kHz,
                         scaled with the rate to a power of two */
    int hop;          /* frame step in samples; 0 = auto: fft / 4 */
    float range_db;   /* colours span [max - range_db, max] dB; default 80 */
    int width;        /* whole image in pixels, 0 = auto (plot area one pixel
                         per frame, clamped to 400..1600, plus margins) */
    int height;       /* whole image in pixels, 0 = auto (plot area one row
                         per bin, clamped to 256..1024, plus margins) */
    const char *title;/* printed above the plot (ASCII), NULL = none */
    int mels;         /* 0: a row per FFT bin, frequency linear; N: N mel
                         bands (Slaney's scale, triangles of peak 1, so a
                         tone at a band's centre reads its dBFS) */
    double fmin, fmax;/* the mel bands' range in Hz (0 and 0 = rate / 2) */
} wn_spectrogram_params;
WN_API wn_spectrogram_params wn_spectrogram_default_params(void);

/* The auto fft size for a sample rate (256 at 8000 Hz). */
WN_API int wn_spectrogram_auto_fft(int rate);

/* The mel scale: Slaney's (linear to 1 kHz, logarithmic above: the
 * default of librosa and of most speech work) or HTK's (2595 log10(1 +
 * f/700), torchaudio's default). */
typedef enum wn_mel_scale { WN_MEL_SLANEY = 0, WN_MEL_HTK = 1 } wn_mel_scale;
typedef struct wn_mel_params {
    int fft, hop;       /* STFT frame and step in samples; 0 = auto, as the
                           spectrogram's (256 at 8 kHz, fft / 4) */
    int mels;           /* bands (80) */
    double fmin, fmax;  /* Hz; fmax 0 = rate / 2 */
    wn_mel_scale scale; /* WN_MEL_SLANEY */
    int area_norm;      /* 1 (default): each triangle scaled by 2 / (its width
                           in Hz), librosa's norm='slaney'; 0: peak 1 */
    float floor;        /* wn_logmel takes ln(max(power, floor)); 1e-10 */
} wn_mel_params;
WN_API wn_mel_params wn_mel_default_params(void);
/* WN_OK if p (NULL: the defaults) suits audio at `rate` Hz, else WN_ERR_ARG
 * naming the value that does not (a range above half the rate, say): what
 * wn_mel_filters and wn_logmel check first. */
WN_API int wn_mel_check(int rate, const wn_mel_params *p, wn_error *err);
/* The triangular mel filters on the fft/2 + 1 bins of an fft-point STFT
 * at `rate` Hz (bin k at k * rate / fft Hz): mels + 2 points evenly spaced
 * in mel from fmin to fmax, band m rising from point m to m + 1 and falling
 * to m + 2, as librosa and torchaudio build them. fb: (mels, fft/2 + 1)
 * floats, row-major, caller-owned. */
WN_API int wn_mel_filters(int rate, const wn_mel_params *p, float *fb, wn_error *err);
/* Log-mel features of x (n samples at `rate` Hz): for each frame of
 * wn_stft_magnitude (centred, Hann, wn_stft_frames(n, hop) of them), ln of
 * the mel filters applied to its power spectrum (the magnitudes squared,
 * so a full-scale sine has power 1). out: (frames, mels) floats. p may be
 * NULL (defaults). Multi-threaded with OpenMP over frames. */
WN_API int wn_logmel(const float *x, size_t n, int rate, const wn_mel_params *p, float *out,
                     wn_error *err);

/* Log-magnitude spectrogram of x (n samples at `rate` Hz) as a PNG: time in
 * seconds on x, frequency in Hz on y, a dBFS colour bar; axes labelled with
 * libgd's built-in font. When there are more frames (or bins) than pixels
 * each pixel shows the maximum of those it covers. PNG, or JPEG, GIF,
 * lossless WebP or BMP when the name ends in .jpg/.jpeg, .gif, .webp or
 * .bmp. Written to a temporary name and renamed into place. p may be NULL
 * (defaults). */
WN_API int wn_spectrogram_png(const float *x, size_t n, int rate, const char *png_path,
                              const wn_spectrogram_params *p, wn_error *err);

/* ---------------------------------------------------------------- model features
 * A conditional model's feature recipe (wn_config.cond bands, hop samples). */

/* The recipe (mels = cond, hop = the model's hop): WN_OK, or WN_ERR_ARG for
 * a model without mel conditioning. */
WN_API int wn_model_mel_params(const wn_model *m, wn_mel_params *p);
/* Set the recipe's free fields (fft, fmin, fmax, scale, area_norm, floor);
 * p->mels and p->hop must be the model's (0 = the model's). Checked with
 * wn_mel_check at the model's rate. */
WN_API int wn_model_set_mel_params(wn_model *m, const wn_mel_params *p, wn_error *err);
/* The model's features of n samples x at its rate: *frames =
 * wn_model_cond_frames(m, n) rows of cond log-mel bands (the signal is
 * zero past its end), malloc'ed into *feats (free with free()). */
WN_API int wn_model_features(const wn_model *m, const float *x, size_t n, float **feats,
                             size_t *frames, wn_error *err);

#ifdef __cplusplus
}
#endif
#endif /* WAVENET_H */
