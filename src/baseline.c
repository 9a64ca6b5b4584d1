/* baseline.c - reference models that put the network's bits/sample in
 * context (wavenet baseline): uniform, code histogram, bigram of codes, and
 * an order-N linear predictor on the decoded signal with a logistic residual
 * integrated over each mu-law bin, at a fixed or an adaptive scale.
 *
 * Every model is fitted on the training codes and scored on the validation
 * codes, clip by clip, with the past before a clip's first sample taken as
 * silence (the code wn_mulaw_silence, decoded), exactly as wn_score_codes
 * scores the network. Sums are in double and in a fixed order, so results do
 * not depend on the number of OpenMP threads.
 *
 * Choices for the LPC models (measured on the codec2 training/validation
 * lists of models/train.txt and models/valid.txt):
 * - Coefficients: least squares over every training sample (the covariance
 *   method, history before a clip = silence), solved by LAPACK's Cholesky
 *   (dposv from OpenBLAS) with a 1e-10 relative ridge. The fixed-scale
 *   model uses ordinary least squares (its maximum likelihood under a
 *   constant scale). The adaptive model refits with weights 1/m_t^2, m_t the
 *   previous fit's mean |e| over the window (iteratively reweighted least
 *   squares): its likelihood judges each stretch by its error relative to
 *   the local level, while plain least squares lets the loud stretches pick
 *   the coefficients. On the codec2 clips this is worth 0.9 bits/sample on
 *   validation (6.42 with OLS, 5.55 after 3 refits, 5.50 after 6, 5.49
 *   after 10; training 6.38 -> 6.23).
 * - Bins: [lo_c, hi_c) are the exact intervals wn_mulaw_encode maps to each
 *   code, found by bisection on the encoder itself (no second copy of the
 *   mu-law formula); the end bins reach -inf and +inf, so the logistic's
 *   whole mass is shared among the codes and no renormalisation is needed.
 * - Floor: the logistic is mixed with a uniform, (1 - Q eps) p + eps, which
 *   keeps every code >= eps and the sum exactly 1; eps = 1e-6 costs
 *   Q eps / ln 2 = 0.0004 bits/sample at Q = 256.
 * - Scale: fixed s, or s_t = max(k mean|e| over the previous `window`
 *   residuals, s_min). For a logistic of scale s, E|e| = 2 ln 2 s, so the
 *   closed form is k = 1/(2 ln 2) = 0.721 (sqrt(3)/pi = 0.551 is the
 *   relation for the standard deviation, not the mean absolute value). We
 *   fit k, s_min and the fixed s by minimising the training NLL (a grid then
 *   golden section in log space, on every stride-th training sample);
 *   lpc_k > 0 in the params imposes k. On the codec2 clips the fitted k is
 *   0.751 (validation 5.501 bits/sample) against 5.506 at k = 0.721, and
 *   s_min goes to the bottom of its range: the floor hardly matters on
 *   speech, it is there so that digital silence cannot give s = 0.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#define WN_OMP(x) _Pragma(x)
#else
#define WN_OMP(x)
#endif

/* LAPACK's Cholesky solve, exported by OpenBLAS (lapacke.h is not part of
 * our dependencies). The trailing size_t is gfortran's hidden length of the
 * character argument. */
extern void dposv_(const char *uplo, const int *n, const int *nrhs, double *a,
                   const int *lda, double *b, const int *ldb, int *info,
                   size_t uplo_len);

#define MAX_ORDER 64
#define MAX_WINDOW 4096
/* samples per partial sum: the unit of the deterministic parallel reduction */
#define CHUNK 8192
#define PAR_MIN_CHUNKS 16
/* parameter fits look at about this many training samples (every stride-th) */
#define FIT_SAMPLES 600000

wn_baseline_params wn_baseline_default_params(void)
{
    wn_baseline_params p;
    p.bins = 256;
    p.order = 16;
    p.window = 32;
    p.prob_floor = 1e-6;
    p.lpc_k = 0;
    p.lpc_reweight = 6;
    p.max_clipped = 0.01;
    p.rescale_above = WN_RESCALE_ABOVE;
    return p;
}

static int check_params(const wn_baseline_params *p, wn_error *err)
{
    if (p->bins < 2 || p->bins > 65536)
        return wn__err(err, WN_ERR_ARG, "baseline: bins must be 2..65536, got %d", p->bins);
    if (p->order < 1 || p->order > MAX_ORDER)
        return wn__err(err, WN_ERR_ARG, "baseline: LPC order must be 1..%d, got %d",
                       MAX_ORDER, p->order);
    if (p->window < 1 || p->window > MAX_WINDOW)
        return wn__err(err, WN_ERR_ARG, "baseline: window must be 1..%d, got %d",
                       MAX_WINDOW, p->window);
    if (!(p->prob_floor > 0) || !(p->prob_floor * p->bins < 0.5))
        return wn__err(err, WN_ERR_ARG,
                       "baseline: prob_floor must be > 0 and < 0.5/bins, got %g",
                       p->prob_floor);
    if (p->lpc_reweight < 0 || p->lpc_reweight > 100)
        return wn__err(err, WN_ERR_ARG, "baseline: lpc_reweight must be 0..100, got %d",
                       p->lpc_reweight);
    if (!(p->max_clipped >= 0 && p->max_clipped <= 1))
        return wn__err(err, WN_ERR_ARG, "baseline: max_clipped must lie in 0..1, got %g",
                       p->max_clipped);
    if (!(p->rescale_above == 0 || (p->rescale_above >= 1 && p->rescale_above <= 1e6)))
        return wn__err(err, WN_ERR_ARG, "baseline: rescale_above must be 0 (never) or lie in "
                       "1..1e6, got %g", p->rescale_above);
    if (!(p->lpc_k >= 0) || !isfinite(p->lpc_k))
        return wn__err(err, WN_ERR_ARG, "baseline: lpc_k must be >= 0, got %g", p->lpc_k);
    return WN_OK;
}

/* ------------------------------------------------------------ mu-law bins */

/* edges[c] = the smallest float x with wn_mulaw_encode(x) >= c, for
 * c = 1..Q-1; edges[0] = -inf, edges[Q] = +inf. Code c is [edges[c],
 * edges[c+1]). Bisection between the decoded values of c-1 and c, on the
 * library's own encoder. */
static void mulaw_edges(int Q, double *edges /* (Q + 1) */)
{
    edges[0] = -INFINITY;
    edges[Q] = INFINITY;
    for (int c = 1; c < Q; c++) {
        float lo = wn_mulaw_decode(c - 1, Q), hi = wn_mulaw_decode(c, Q);
        if (!(wn_mulaw_encode(lo, Q) < c)) lo = -1.0f;
        if (!(wn_mulaw_encode(hi, Q) >= c)) hi = 1.0f;
        for (;;) {
            float mid = (float)(0.5 * ((double)lo + (double)hi));
            if (mid <= lo || mid >= hi) break;
            if (wn_mulaw_encode(mid, Q) >= c)
                hi = mid;
            else
                lo = mid;
        }
        edges[c] = hi;
        if (edges[c] < edges[c - 1]) edges[c] = edges[c - 1]; /* keep it monotone */
    }
}

static inline double sigmoid(double x)
{
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

/* Logistic mass of [lo, hi) around pred at scale s:
 * sig(b) - sig(a) = sig(b) sig(-a) (1 - e^(a-b)), which keeps full relative
 * precision in both tails and for narrow bins (no difference of two numbers
 * near 1). Infinite edges give the tail masses. */
static inline double bin_mass(double lo, double hi, double pred, double s)
{
    double a = (lo - pred) / s, b = (hi - pred) / s;
    return sigmoid(b) * sigmoid(-a) * -expm1(a - b);
}

int wn_baseline_logistic_probs(double pred, double scale, int bins, double prob_floor,
                               double *probs, wn_error *err)
{
    if (bins < 2 || bins > 65536 || !probs)
        return wn__err(err, WN_ERR_ARG, "baseline: bins must be 2..65536, got %d", bins);
    if (!isfinite(pred) || !(scale > 0) || !isfinite(scale))
        return wn__err(err, WN_ERR_ARG, "baseline: need a finite prediction and scale > 0");
    if (!(prob_floor >= 0) || !(prob_floor * bins < 1))
        return wn__err(err, WN_ERR_ARG, "baseline: prob_floor must be in [0, 1/bins)");
    double *edges = malloc(((size_t)bins + 1) * sizeof *edges);
    if (!edges) return wn__err(err, WN_ERR_NOMEM, "baseline: out of memory");
    mulaw_edges(bins, edges);
    double w = 1.0 - bins * prob_floor;
    for (int c = 0; c < bins; c++)
        probs[c] = w * bin_mass(edges[c], edges[c + 1], pred, scale) + prob_floor;
    free(edges);
    return WN_OK;
}

/* ------------------------------------------------------------ clip sets */

typedef struct clipset {
    const int *const *codes;
    const size_t *len;
    int n;
    size_t total;  /* samples */
    size_t maxlen;
} clipset;

static int make_clipset(clipset *cs, const int *const *codes, const size_t *len, int n,
                        int Q, const char *what, wn_error *err)
{
    memset(cs, 0, sizeof *cs);
    if (n <= 0 || !codes || !len)
        return wn__err(err, WN_ERR_ARG, "baseline: no %s clips", what);
    for (int i = 0; i < n; i++) {
        if (len[i] && !codes[i])
            return wn__err(err, WN_ERR_ARG, "baseline: %s clip %d has no data", what, i + 1);
        for (size_t t = 0; t < len[i]; t++)
            if (codes[i][t] < 0 || codes[i][t] >= Q)
                return wn__err(err, WN_ERR_ARG,
                               "baseline: %s clip %d: code %d at sample %zu is outside [0, %d)",
                               what, i + 1, codes[i][t], t, Q);
        cs->total += len[i];
        if (len[i] > cs->maxlen) cs->maxlen = len[i];
    }
    if (cs->total == 0)
        return wn__err(err, WN_ERR_ARG, "baseline: the %s clips hold no samples", what);
    cs->codes = codes;
    cs->len = len;
    cs->n = n;
    return WN_OK;
}

static void set_result(wn_baseline_result *r, const char *name, double nll,
                       size_t samples, double train_nll, size_t train_samples)
{
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    r->nll_nats = nll;
    r->samples = (int64_t)samples;
    r->bits_per_sample = nll / M_LN2 / (double)samples;
    r->train_bits_per_sample = train_nll / M_LN2 / (double)train_samples;
}

/* ------------------------------------------------------------ histogram */

static double histogram_nll(const clipset *cs, const size_t *count, size_t total, int Q)
{
    double nll = 0, denom = (double)total + Q;
    for (int i = 0; i < cs->n; i++)
        for (size_t t = 0; t < cs->len[i]; t++)
            nll -= log(((double)count[cs->codes[i][t]] + 1.0) / denom);
    return nll;
}

static int run_histogram(const clipset *tr, const clipset *va, int Q, wn_baseline_result *r,
                         wn_error *err)
{
    size_t *count = calloc((size_t)Q, sizeof *count);
    if (!count) return wn__err(err, WN_ERR_NOMEM, "baseline: out of memory");
    for (int i = 0; i < tr->n; i++)
        for (size_t t = 0; t < tr->len[i]; t++) count[tr->codes[i][t]]++;
    set_result(r, "histogram", histogram_nll(va, count, tr->total, Q), va->total,
               histogram_nll(tr, count, tr->total, Q), tr->total);
    snprintf(r->fit, sizeof r->fit, "add-one over %zu training codes", tr->total);
    free(count);
    return WN_OK;
}

/* ------------------------------------------------------------ bigram */

/* Pair counts as a sorted array of keys prev*Q + code (Q^2 <= 2^32, so a
 * key fits 32 bits): memory O(training samples) for any Q. LSD radix sort
 * in two 16-bit passes; cnt has 65537 entries. */
static void radix_sort_u32(uint32_t *a, uint32_t *tmp, size_t *cnt, size_t n)
{
    for (int shift = 0; shift < 32; shift += 16) {
        memset(cnt, 0, 65537 * sizeof *cnt);
        for (size_t i = 0; i < n; i++) cnt[((a[i] >> shift) & 0xffff) + 1]++;
        for (int b = 0; b < 65536; b++) cnt[b + 1] += cnt[b];
        for (size_t i = 0; i < n; i++) tmp[cnt[(a[i] >> shift) & 0xffff]++] = a[i];
        memcpy(a, tmp, n * sizeof *a);
    }
}

/* number of keys equal to key in the sorted array */
static size_t count_key(const uint32_t *keys, size_t n, uint32_t key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (keys[mid] < key) lo = mid + 1; else hi = mid;
    }
    size_t first = lo;
    hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (keys[mid] <= key) lo = mid + 1; else hi = mid;
    }
    return lo - first;
}

static int run_bigram(const clipset *tr, const clipset *va, int Q, int silence,
                      wn_baseline_result *r, wn_error *err)
{
    size_t n = tr->total;
    uint32_t *keys = malloc(n * sizeof *keys), *tmp = malloc(n * sizeof *tmp);
    size_t *row = calloc((size_t)Q, sizeof *row), *cnt = malloc(65537 * sizeof *cnt);
    if (!keys || !tmp || !row || !cnt) {
        free(keys); free(tmp); free(row); free(cnt);
        return wn__err(err, WN_ERR_NOMEM, "baseline: out of memory for %zu bigrams", n);
    }
    size_t k = 0;
    for (int i = 0; i < tr->n; i++) {
        int prev = silence;
        for (size_t t = 0; t < tr->len[i]; t++) {
            int c = tr->codes[i][t];
            keys[k++] = (uint32_t)prev * (uint32_t)Q + (uint32_t)c;
            row[prev]++;
            prev = c;
        }
    }
    radix_sort_u32(keys, tmp, cnt, n);
    free(tmp);
    free(cnt);

    /* training NLL straight from the runs of equal keys */
    double train_nll = 0;
    size_t distinct = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && keys[j] == keys[i]) j++;
        size_t prev = keys[i] / (uint32_t)Q;
        train_nll -= (double)(j - i) * log(((double)(j - i) + 1.0) / ((double)row[prev] + Q));
        distinct++;
        i = j;
    }
    double nll = 0;
    for (int i = 0; i < va->n; i++) {
        int prev = silence;
        for (size_t t = 0; t < va->len[i]; t++) {
            int c = va->codes[i][t];
            size_t m = count_key(keys, n, (uint32_t)prev * (uint32_t)Q + (uint32_t)c);
            nll -= log(((double)m + 1.0) / ((double)row[prev] + Q));
            prev = c;
        }
    }
    set_result(r, "bigram", nll, va->total, train_nll, tr->total);
    snprintf(r->fit, sizeof r->fit, "add-one, %zu distinct training pairs", distinct);
    free(keys);
    free(row);
    return WN_OK;
}

/* ------------------------------------------------------------ LPC */

typedef struct lpc_ctx {
    int Q, order, window;
    double eps;
    const double *dec;  /* (Q) decoded value of each code */
    const double *edges;
    double silence;     /* decoded silence: the past before each clip */
    double *part;       /* scratch: one partial sum per CHUNK of the longest trace */
} lpc_ctx;

/* A clip's decoded signal behind `order + window` samples of silence, so
 * that predictions and residual windows never need special cases at the
 * start: xd[0..pad) = silence, xd[pad + t] = dec[code[t]]. */
static size_t pad_clip(const lpc_ctx *L, const int *codes, size_t len, double *xd)
{
    size_t pad = (size_t)L->order + (size_t)L->window;
    for (size_t t = 0; t < pad; t++) xd[t] = L->silence;
    for (size_t t = 0; t < len; t++) xd[pad + t] = L->dec[codes[t]];
    return pad;
}

static inline double predict(const double *a, int order, const double *xd, size_t t)
{
    double s = 0;
    for (int j = 0; j < order; j++) s += a[j] * xd[t - 1 - (size_t)j];
    return s;
}

/* Least squares: minimise sum_t w_t (x_t - sum_j a_j x_{t-1-j})^2 over
 * every training sample (history before the clip = silence), w_t = 1 or,
 * given the previous fit's mean |residual| m_t, w_t = 1 / max(m_t, wfloor)^2. */
static int lpc_fit(const lpc_ctx *L, const clipset *tr, const double *mabs, double wfloor,
                   double *a, wn_error *err)
{
    int p = L->order;
    double *xd = malloc((tr->maxlen + (size_t)p + (size_t)L->window) * sizeof *xd);
    double R[MAX_ORDER * MAX_ORDER] = {0}, r[MAX_ORDER] = {0};
    if (!xd) return wn__err(err, WN_ERR_NOMEM, "baseline: out of memory");
    size_t k = 0;
    for (int i = 0; i < tr->n; i++) {
        size_t pad = pad_clip(L, tr->codes[i], tr->len[i], xd);
        for (size_t t = pad; t < pad + tr->len[i]; t++, k++) {
            const double *h = xd + t - p; /* h[p-1-j] = x_{t-1-j} */
            double w = 1;
            if (mabs) {
                double m = fmax(mabs[k], wfloor);
                w = 1 / (m * m);
            }
            for (int j = 0; j < p; j++) {
                double hj = w * h[p - 1 - j];
                r[j] += hj * xd[t];
                for (int m = j; m < p; m++) R[j * p + m] += hj * h[p - 1 - m];
            }
        }
    }
    free(xd);
    double tr_R = 0;
    for (int j = 0; j < p; j++) {
        for (int m = 0; m < j; m++) R[j * p + m] = R[m * p + j];
        tr_R += R[j * p + j];
    }
    double ridge = 1e-10 * tr_R / p + 1e-300;
    for (int j = 0; j < p; j++) R[j * p + j] += ridge;
    double rhs[MAX_ORDER];
    memcpy(rhs, r, sizeof rhs);
    int n = p, one = 1, info = 0;
    dposv_("U", &n, &one, R, &n, rhs, &n, &info, 1);
    if (info != 0)
        return wn__err(err, WN_ERR_AUDIO,
                       "baseline: the LPC normal equations are singular (info %d)", info);
    memcpy(a, rhs, (size_t)p * sizeof *a);
    return WN_OK;
}

/* Per-sample prediction, mean |residual| over the previous window, and the
 * observed code, for every sample of a clip set (fixed coefficients). */
typedef struct trace {
    double *pred, *mabs;
    int *code;
    size_t n;
} trace;

static void trace_free(trace *t)
{
    free(t->pred);
    free(t->mabs);
    free(t->code);
    memset(t, 0, sizeof *t);
}

static int trace_build(const lpc_ctx *L, const clipset *cs, const double *a, trace *tr,
                       wn_error *err)
{
    size_t pad = (size_t)L->order + (size_t)L->window;
    memset(tr, 0, sizeof *tr);
    tr->pred = malloc(cs->total * sizeof *tr->pred);
    tr->mabs = malloc(cs->total * sizeof *tr->mabs);
    tr->code = malloc(cs->total * sizeof *tr->code);
    double *xd = malloc((cs->maxlen + pad) * sizeof *xd);
    double *eabs = malloc((cs->maxlen + pad) * sizeof *eabs);
    if (!tr->pred || !tr->mabs || !tr->code || !xd || !eabs) {
        trace_free(tr);
        free(xd);
        free(eabs);
        return wn__err(err, WN_ERR_NOMEM, "baseline: out of memory for %zu samples", cs->total);
    }
    size_t k = 0;
    for (int i = 0; i < cs->n; i++) {
        pad_clip(L, cs->codes[i], cs->len[i], xd);
        size_t end = pad + cs->len[i];
        for (size_t t = 0; t < (size_t)L->order; t++) eabs[t] = 0;
        for (size_t t = L->order; t < end; t++) {
            double pr = predict(a, L->order, xd, t);
            eabs[t] = fabs(xd[t] - pr);
            if (t >= pad) {
                /* summed afresh each time: exact and order-independent */
                double s = 0;
                for (size_t j = t - (size_t)L->window; j < t; j++) s += eabs[j];
                tr->pred[k] = pr;
                tr->mabs[k] = s / L->window;
                tr->code[k] = cs->codes[i][t - pad];
                k++;
            }
        }
    }
    tr->n = k;
    free(xd);
    free(eabs);
    return WN_OK;
}

/* Prediction gain in dB: sum x^2 / sum (x - pred)^2. */
static double trace_gain(const lpc_ctx *L, const trace *tr)
{
    double sxx = 0, see = 0;
    for (size_t t = 0; t < tr->n; t++) {
        double x = L->dec[tr->code[t]], e = x - tr->pred[t];
        sxx += x * x;
        see += e * e;
    }
    return see > 0 && sxx > 0 ? 10 * log10(sxx / see) : 0;
}

/* -sum ln P(code) over every stride-th sample of a trace. Adaptive scale
 * s = max(k mabs, smin) when k > 0, else the fixed scale smin. Partial sums
 * per CHUNK samples (into L->part) are added in order: the same result for
 * any number of threads. */
static double lpc_nll(const lpc_ctx *L, const trace *tr, size_t stride, double k, double smin)
{
    size_t nchunks = (tr->n + CHUNK - 1) / CHUNK;
    double *part = L->part;
    const double w = 1.0 - L->Q * L->eps, eps = L->eps;
    /* small traces stay on one thread: waking a team costs more than it
     * saves, much more on a loaded machine */
    WN_OMP("omp parallel for schedule(static) if (nchunks >= PAR_MIN_CHUNKS)")
    for (size_t c = 0; c < nchunks; c++) {
        size_t t0 = c * CHUNK, t1 = t0 + CHUNK < tr->n ? t0 + CHUNK : tr->n;
        /* the first index >= t0 on the stride grid */
        size_t t = (t0 + stride - 1) / stride * stride;
        double s = 0;
        for (; t < t1; t += stride) {
            double sc = k > 0 ? fmax(k * tr->mabs[t], smin) : smin;
            int code = tr->code[t];
            double p = bin_mass(L->edges[code], L->edges[code + 1], tr->pred[t], sc);
            s -= log(w * p + eps);
        }
        part[c] = s;
    }
    double nll = 0;
    for (size_t c = 0; c < nchunks; c++) nll += part[c];
    return nll;
}

/* Minimise f over u in [lo, hi]: a grid of n points, then golden section
 * between the best point's neighbours down to width tol. */
typedef double (*fn1)(void *ctx, double u);

static double minimise(fn1 f, void *ctx, double lo, double hi, int n, double tol, double *fbest)
{
    double best_u = lo, best_f = INFINITY;
    int best_i = 0;
    for (int i = 0; i < n; i++) {
        double u = lo + (hi - lo) * i / (n - 1), v = f(ctx, u);
        if (v < best_f) { best_f = v; best_u = u; best_i = i; }
    }
    double step = (hi - lo) / (n - 1);
    double a = best_i > 0 ? best_u - step : best_u;
    double b = best_i < n - 1 ? best_u + step : best_u;
    const double g = 0.5 * (sqrt(5.0) - 1.0);
    double x1 = b - g * (b - a), x2 = a + g * (b - a);
    double f1 = f(ctx, x1), f2 = f(ctx, x2);
    while (b - a > tol) {
        if (f1 < f2) {
            b = x2; x2 = x1; f2 = f1;
            x1 = b - g * (b - a); f1 = f(ctx, x1);
        } else {
            a = x1; x1 = x2; f1 = f2;
            x2 = a + g * (b - a); f2 = f(ctx, x2);
        }
    }
    if (f1 < best_f) { best_f = f1; best_u = x1; }
    if (f2 < best_f) { best_f = f2; best_u = x2; }
    if (fbest) *fbest = best_f;
    return best_u;
}

typedef struct fit_ctx {
    const lpc_ctx *L;
    const trace *tr;
    size_t stride;
    double k, smin; /* the parameter not being searched */
} fit_ctx;

static double f_fixed(void *c, double u)
{
    fit_ctx *x = c;
    return lpc_nll(x->L, x->tr, x->stride, 0, exp(u));
}

static double f_k(void *c, double u)
{
    fit_ctx *x = c;
    return lpc_nll(x->L, x->tr, x->stride, exp(u), x->smin);
}

static double f_smin(void *c, double u)
{
    fit_ctx *x = c;
    return lpc_nll(x->L, x->tr, x->stride, x->k, exp(u));
}

static int run_lpc(const clipset *trc, const clipset *vac, const wn_baseline_params *p,
                   wn_baseline_result *r_fixed, wn_baseline_result *r_adapt, wn_error *err)
{
    int Q = p->bins;
    double *dec = malloc((size_t)Q * sizeof *dec);
    double *edges = malloc(((size_t)Q + 1) * sizeof *edges);
    size_t most = trc->total > vac->total ? trc->total : vac->total;
    double *part = malloc((most / CHUNK + 1) * sizeof *part);
    if (!dec || !edges || !part) {
        free(dec);
        free(edges);
        free(part);
        return wn__err(err, WN_ERR_NOMEM, "baseline: out of memory");
    }
    for (int c = 0; c < Q; c++) dec[c] = wn_mulaw_decode(c, Q);
    mulaw_edges(Q, edges);
    lpc_ctx L = {Q, p->order, p->window, p->prob_floor, dec, edges,
                 wn_mulaw_decode(wn_mulaw_silence(Q), Q), part};

    double a[MAX_ORDER];
    trace ttr = {0}, vtr = {0};
    /* fixed scale: ordinary least squares */
    int rc = lpc_fit(&L, trc, NULL, 0, a, err);
    if (rc == WN_OK) rc = trace_build(&L, trc, a, &ttr, err);
    if (rc == WN_OK) rc = trace_build(&L, vac, a, &vtr, err);
    if (rc != WN_OK) goto done;

    size_t stride = ttr.n > FIT_SAMPLES ? ttr.n / FIT_SAMPLES : 1;
    fit_ctx fc = {&L, &ttr, stride, 0, 0};
    /* scales in the signal domain (x in [-1, 1]), searched in log space */
    const double ln_lo = log(1e-7), ln_hi = log(1.0);

    double s_fixed = exp(minimise(f_fixed, &fc, ln_lo, ln_hi, 15, 0.01, NULL));
    char name[32];
    snprintf(name, sizeof name, "lpc%d-fixed", p->order);
    set_result(r_fixed, name, lpc_nll(&L, &vtr, 1, 0, s_fixed), vac->total,
               lpc_nll(&L, &ttr, 1, 0, s_fixed), trc->total);
    snprintf(r_fixed->fit, sizeof r_fixed->fit, "s=%.4g, OLS, prediction gain %.1f dB (train)",
             s_fixed, trace_gain(&L, &ttr));

    /* adaptive scale: refit the coefficients by least squares weighted with
     * 1 / (the previous fit's mean |e|)^2, so that every stretch counts by
     * its level-normalised error, as the likelihood does; floored at the
     * width of the silence bin (errors below one quantisation step mean
     * nothing) */
    int sil = wn_mulaw_silence(Q);
    double wfloor = edges[sil + 1] - edges[sil];
    if (!isfinite(wfloor) || !(wfloor > 0)) wfloor = 1e-4;
    for (int it = 0; it < p->lpc_reweight; it++) {
        rc = lpc_fit(&L, trc, ttr.mabs, wfloor, a, err);
        trace_free(&ttr);
        if (rc == WN_OK) rc = trace_build(&L, trc, a, &ttr, err);
        if (rc != WN_OK) goto done;
    }
    if (p->lpc_reweight > 0) {
        trace_free(&vtr);
        rc = trace_build(&L, vac, a, &vtr, err);
        if (rc != WN_OK) goto done;
    }

    /* then coordinate descent on (ln k, ln s_min), two rounds */
    double k = p->lpc_k > 0 ? p->lpc_k : 1.0 / (2.0 * M_LN2);
    double smin = 1e-5;
    for (int round = 0; round < 2; round++) {
        if (p->lpc_k <= 0) {
            fc.smin = smin;
            k = exp(minimise(f_k, &fc, log(0.05), log(10.0), 12, 0.01, NULL));
        }
        fc.k = k;
        smin = exp(minimise(f_smin, &fc, ln_lo, log(0.1), 13, 0.02, NULL));
    }
    snprintf(name, sizeof name, "lpc%d-adaptive", p->order);
    set_result(r_adapt, name, lpc_nll(&L, &vtr, 1, k, smin), vac->total,
               lpc_nll(&L, &ttr, 1, k, smin), trc->total);
    char how[32] = "OLS";
    if (p->lpc_reweight > 0) snprintf(how, sizeof how, "WLS x%d", p->lpc_reweight);
    snprintf(r_adapt->fit, sizeof r_adapt->fit,
             "k=%.4f%s, s_min=%.3g, window %d, %s, prediction gain %.1f dB (train)", k,
             p->lpc_k > 0 ? " (given)" : "", smin, p->window, how, trace_gain(&L, &ttr));
    if (!isfinite(r_fixed->nll_nats) || !isfinite(r_adapt->nll_nats))
        rc = wn__err(err, WN_ERR_NONFINITE, "baseline: the LPC likelihood is not finite");

done:
    trace_free(&ttr);
    trace_free(&vtr);
    free(dec);
    free(edges);
    free(part);
    return rc;
}

/* ------------------------------------------------------------ drivers */

int wn_baseline_run_codes(const int *const *train, const size_t *train_len, int ntrain,
                          const int *const *valid, const size_t *valid_len, int nvalid,
                          const wn_baseline_params *params, wn_baseline_result *out,
                          int *nout, wn_error *err)
{
    wn_baseline_params p = params ? *params : wn_baseline_default_params();
    if (nout) *nout = 0;
    if (!out || !nout) return wn__err(err, WN_ERR_ARG, "baseline: no place for the results");
    int rc = check_params(&p, err);
    if (rc != WN_OK) return rc;
    clipset tr, va;
    rc = make_clipset(&tr, train, train_len, ntrain, p.bins, "training", err);
    if (rc == WN_OK) rc = make_clipset(&va, valid, valid_len, nvalid, p.bins, "validation", err);
    if (rc != WN_OK) return rc;

    int Q = p.bins;
    wn_baseline_result res[WN_BASELINE_COUNT];
    /* uniform: exactly log2 Q bits, without rounding through nats */
    memset(&res[0], 0, sizeof res[0]);
    snprintf(res[0].name, sizeof res[0].name, "uniform");
    res[0].bits_per_sample = res[0].train_bits_per_sample = log2((double)Q);
    res[0].nll_nats = (double)va.total * log((double)Q);
    res[0].samples = (int64_t)va.total;
    snprintf(res[0].fit, sizeof res[0].fit, "1/%d", Q);

    rc = run_histogram(&tr, &va, Q, &res[1], err);
    if (rc == WN_OK) rc = run_bigram(&tr, &va, Q, wn_mulaw_silence(Q), &res[2], err);
    if (rc == WN_OK) rc = run_lpc(&tr, &va, &p, &res[3], &res[4], err);
    if (rc != WN_OK) return rc;
    memcpy(out, res, sizeof res);
    *nout = WN_BASELINE_COUNT;
    return WN_OK;
}

static void free_codes(int **codes, int n)
{
    if (!codes) return;
    for (int i = 0; i < n; i++) free(codes[i]);
    free(codes);
}

/* The files' codes. The training files as the trainer reads them: a file
 * decoded above `rescale` scaled to peak 1 (*rescaled, if given, counts them), with
 * max_clipped < 1 a file clipped beyond it left out (*kept counts the
 * rest); the validation files (rescale 0, max_clipped 1) as read. */
static int read_set(const char *const *paths, int n, int rate, int bins, double max_clipped,
                    double rescale, const char *what, int ***codes, size_t **len, int *kept,
                    int *rescaled, wn_error *err)
{
    *codes = NULL;
    *len = NULL;
    *kept = 0;
    if (rescaled) *rescaled = 0;
    if (n <= 0 || !paths) return wn__err(err, WN_ERR_ARG, "baseline: no %s files", what);
    int **c = calloc((size_t)n, sizeof *c);
    size_t *l = calloc((size_t)n, sizeof *l);
    if (!c || !l) {
        free(c);
        free(l);
        return wn__err(err, WN_ERR_NOMEM, "baseline: out of memory");
    }
    const float trim_db = wn_train_default_params().trim_db;
    int k = 0;
    for (int i = 0; i < n; i++) {
        wn_audio_info info;
        float *x = NULL;
        size_t len_i = 0;
        float gain = 1;
        int rc = wn__audio_read_hot(paths[i], rate, (float)rescale, &x, &len_i, &gain, &info,
                                    err);
        if (rc != WN_OK) {
            free_codes(c, k);
            free(l);
            return rc;
        }
        if (rescaled) *rescaled += gain != 1;
        int silent;
        if (max_clipped < 1 &&
            wn__clipped_fraction(x, (int64_t)len_i, trim_db, rate, &silent) > max_clipped) {
            free(x);
            continue;
        }
        c[k] = wn__encode_in_place(x, len_i, bins);
        l[k++] = len_i;
    }
    if (k == 0) {
        free(c);
        free(l);
        return wn__err(err, WN_ERR_ARG, "baseline: every %s file is clipped (more than %g%% of "
                       "its samples at full scale)", what, 100 * max_clipped);
    }
    *codes = c;
    *len = l;
    *kept = k;
    return WN_OK;
}

int wn_baseline_run(const char *const *train, int ntrain, const char *const *valid,
                    int nvalid, int rate, const wn_baseline_params *params,
                    wn_baseline_result *out, int *nout, wn_error *err)
{
    wn_baseline_params p = params ? *params : wn_baseline_default_params();
    if (nout) *nout = 0;
    int rc = check_params(&p, err);
    if (rc != WN_OK) return rc;
    if (rate < 1000 || rate > 384000)
        return wn__err(err, WN_ERR_ARG, "baseline: rate must be 1000..384000 Hz, got %d", rate);
    int **tc = NULL, **vc = NULL, kt = 0, kv = 0, rt = 0;
    size_t *tl = NULL, *vl = NULL;
    rc = read_set(train, ntrain, rate, p.bins, p.max_clipped, p.rescale_above, "training", &tc,
                  &tl, &kt, &rt, err);
    if (rc == WN_OK)
        rc = read_set(valid, nvalid, rate, p.bins, 1, 0, "validation", &vc, &vl, &kv, NULL, err);
    if (rc == WN_OK)
        rc = wn_baseline_run_codes((const int *const *)tc, tl, kt, (const int *const *)vc, vl,
                                   kv, &p, out, nout, err);
    for (int i = 0; rc == WN_OK && nout && i < *nout; i++) {
        out[i].train_clipped = ntrain - kt;
        out[i].train_rescaled = rt;
    }
    free_codes(tc, kt);
    free_codes(vc, kv);
    free(tl);
    free(vl);
    return rc;
}
