/*
 * wavenet_train.h - training a wavenet model (the gradient of a batch of
 * windows, optimizers, the trainer with its data, validation and
 * checkpoints, data-parallel ranks). Part of the public API: <wavenet.h>
 * includes it, so a program includes <wavenet.h> alone; the conventions
 * (errors, ownership, units) are wavenet.h's.
 */
#ifndef WAVENET_TRAIN_H
#define WAVENET_TRAIN_H

#include "wavenet.h"

#ifdef __cplusplus
extern "C" {
#endif

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
 * margin kept; trim_ends: one end only), and held as floats; windows are
 * mu-law encoded as they are drawn (after the optional random gain). A
 * window is RF + T codes (RF = wn_model_receptive_field): the loss counts
 * its last T samples, each of which sees a full receptive field. A window
 * may begin up to RF samples before its clip, the missing past being silence
 * - exactly the past that scoring gives a clip's first samples - so every
 * sample of a clip is trained on. A clip is used when what is left after
 * trimming holds at least max(T, RF + 1) samples; a shorter one, or one that
 * is silence throughout, is skipped (reported: wn_trainer_clip), so that no
 * window is mostly silence.
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

/* Which of a training clip's silent ends are trimmed. A generation starts
 * from an all-silent past; a model trained on whole clips has seen such a
 * past go on in silence to a file's end, and may begin a generation in a
 * silence it never leaves. WN_TRIM_END keeps the openings (silence that
 * turns into speech) and cuts the ends; WN_TRIM_START the other way. */
typedef enum wn_trim_ends {
    WN_TRIM_BOTH = 0, WN_TRIM_START, WN_TRIM_END,
} wn_trim_ends;
/* "both", "start" or "end" (-1 for another string), and back */
WN_API int wn_trim_ends_parse(const char *s);
WN_API const char *wn_trim_ends_name(wn_trim_ends e);

typedef enum wn_decay {
    WN_DECAY_NONE = 0, /* the peak lr after warmup, to the end */
    WN_DECAY_COSINE,   /* half cosine from lr down to lr*decay_final at `steps` */
    WN_DECAY_LINEAR,   /* straight line from lr down to lr*decay_final at `steps` */
    WN_DECAY_STEP,     /* lr * decay_gamma^floor((t - warmup) / decay_every) */
} wn_decay;

/* A sample at or above this magnitude counts as clipped (at full scale;
 * decoded lossy files overshoot 1 a little where their source clipped). */
#define WN_CLIP_LEVEL 0.99f

/* A training clip whose peak passes this many times full scale is a float
 * file decoded hot (klettres-data's Setswana, mixed to mono, at up to 43),
 * not a clipped recording: a codec's overshoot where its source clipped is
 * a few dB (at most 1.56 in klettres-data). wn_train_params.rescale_above. */
#define WN_RESCALE_ABOVE 2.0f

/* At most this many speeds in wn_train_params.speeds. */
#define WN_MAX_SPEEDS 4

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
    wn_trim_ends trim_ends; /* which silent ends trim_db cuts: both (the
                              default), or only the start or the end */
    float gain_jitter_db;  /* random gain per window, uniform in +-this many
                              dB (applied before mu-law): 0 = off. A gain
                              above 1 is capped at what takes the window's
                              loudest sample to full scale, so it never
                              clips (unless gain_may_clip) */
    int gain_may_clip;     /* 1: the gain is not capped and may clip a window
                              (how runs from before the cap drew; a
                              checkpoint without the setting resumes so): 0 */
    float max_clipped;     /* a training clip with more than this fraction
                              of its samples (after trimming) at full scale,
                              |x| >= WN_CLIP_LEVEL, is skipped: 0.01; 1 =
                              keep every clip (validation clips are always
                              scored whole) */
    float rescale_above;   /* a training clip whose peak is above this is
                              scaled to peak 1 (before the trimming and the
                              clipping check), its samples being all there:
                              WN_RESCALE_ABOVE; 0 = never (such a clip then
                              counts as clipped by its samples past full
                              scale, as runs from before the setting read it;
                              a checkpoint without it resumes so) */
    float speeds[WN_MAX_SPEEDS]; /* speed perturbation: each usable training
                              clip is also trained on resampled to each of
                              these speeds, a copy per speed beside the
                              original (1.1: 10% faster, its pitch and
                              formants 10% higher; 0.9: slower and lower):
                              more voices from the same speakers. Each in
                              [0.5, 2], not 1, all different; the list
                              ends at the first 0. None by default */
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
    int clipped;           /* skipped as clipped (more than max_clipped) */
    double clipped_frac;   /* its samples at full scale (after trimming), of
                              those kept */
    int file_rate;         /* the file's own rate */
    int resampled;         /* 1 if resampled to the model's rate */
    const char *speaker;   /* its speaker (a model with speakers), else NULL */
    int speaker_row;       /* the speaker's row of the model's table, or -1 */
    int64_t frames;        /* feature frames computed of it (mel models) */
    float gain;            /* 1, or the scale that took a clip decoded above
                              rescale_above to peak 1 (training clips) */
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
/* Total samples of the usable clips: training (0), validation (1), or the
 * speed-perturbed copies of the training clips (2; wn_train_params.speeds). */
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

#ifdef __cplusplus
}
#endif
#endif /* WAVENET_TRAIN_H */
