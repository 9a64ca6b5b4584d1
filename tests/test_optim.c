/* test_optim.c - every optimizer against its textbook (PyTorch) update,
 * computed here independently in double on a tiny model's flat vector with
 * a changing gradient; decoupled weight decay on weights only; Adam
 * converging on a quadratic; names, state slots and argument checks. */
#include "testutil.h"

#include <math.h>
#include <string.h>

#define STEPS 5

/* a gradient that changes with the step, so moments matter */
static float grad_at(size_t i, int step)
{
    return (float)(0.5 * sin(0.37 * (double)i + 1.3 * step + 0.2) +
                   0.05 * cos(0.11 * (double)i * (step + 1)));
}

/* the reference: float inputs, double arithmetic */
static void reference(wn_optim_params p, float lr, const float *p0, const unsigned char *decay,
                      size_t n, double *out)
{
    double *s0 = calloc(n, sizeof *s0), *s1 = calloc(n, sizeof *s1);
    for (size_t i = 0; i < n; i++) out[i] = p0[i];
    for (int t = 1; t <= STEPS; t++) {
        for (size_t i = 0; i < n; i++) {
            double g = grad_at(i, t - 1);
            double x = out[i];
            if (decay[i]) x -= (double)lr * p.weight_decay * x;
            switch (p.kind) {
            case WN_OPT_ADAM: {
                s0[i] = p.beta1 * s0[i] + (1 - (double)p.beta1) * g;
                s1[i] = p.beta2 * s1[i] + (1 - (double)p.beta2) * g * g;
                double mh = s0[i] / (1 - pow(p.beta1, t));
                double vh = s1[i] / (1 - pow(p.beta2, t));
                x -= lr * mh / (sqrt(vh) + p.eps);
                break;
            }
            case WN_OPT_SGD:
                x -= lr * g;
                break;
            case WN_OPT_MOMENTUM:
                s0[i] = t == 1 ? g : p.momentum * s0[i] + g;
                x -= lr * s0[i];
                break;
            case WN_OPT_NESTEROV:
                s0[i] = t == 1 ? g : p.momentum * s0[i] + g;
                x -= lr * (g + p.momentum * s0[i]);
                break;
            case WN_OPT_ADAGRAD:
                s0[i] += g * g;
                x -= lr * g / (sqrt(s0[i]) + p.eps);
                break;
            case WN_OPT_RMSPROP:
                s1[i] = p.rho * s1[i] + (1 - (double)p.rho) * g * g;
                x -= lr * g / (sqrt(s1[i]) + p.eps);
                break;
            case WN_OPT_ADADELTA: { /* Zeiler 2012, as torch.optim.Adadelta */
                s1[i] = p.rho * s1[i] + (1 - (double)p.rho) * g * g;
                double d = sqrt(s0[i] + p.eps) / sqrt(s1[i] + p.eps) * g;
                s0[i] = p.rho * s0[i] + (1 - (double)p.rho) * d * d;
                x -= lr * d;
                break;
            }
            }
            out[i] = x;
        }
    }
    free(s0);
    free(s1);
}

static int checks;

static void check_kind(wn_optimizer kind, float wd)
{
    wn_model *m = tu_small_model(8, 3, 2, 3, 2, 4, 7);
    size_t n = wn_model_param_count(m);
    float *p0 = malloc(n * sizeof *p0), *g = malloc(n * sizeof *g);
    double *want = malloc(n * sizeof *want);
    unsigned char *decay = calloc(n, 1);
    memcpy(p0, wn_model_params(m), n * sizeof *p0);
    for (int i = 0; i < wn_model_tensor_count(m); i++) {
        int ndim;
        size_t off, cnt = wn_model_tensor_info(m, wn_model_tensor_name(m, i), &ndim, NULL, &off);
        if (ndim >= 2) memset(decay + off, 1, cnt);
    }
    wn_optim_params p = wn_optim_default_params();
    p.kind = kind;
    p.weight_decay = wd;
    /* Adadelta's steps are about sqrt(eps) g at first: PyTorch's lr 1, eps 1e-6 */
    float lr = kind == WN_OPT_ADAGRAD || kind == WN_OPT_RMSPROP ? 0.03f
               : kind == WN_OPT_ADADELTA                        ? 1.0f
                                                                : 0.01f;
    if (kind == WN_OPT_ADADELTA) p.eps = 1e-6f;
    wn_error err;
    wn_optim *o = wn_optim_create(m, &p, &err);
    REQUIRE(o);
    CHECK(wn_optim_steps(o) == 0);
    for (int t = 0; t < STEPS; t++) {
        for (size_t i = 0; i < n; i++) g[i] = grad_at(i, t);
        REQUIRE_OK(wn_optim_step(o, m, g, lr, &err), &err);
    }
    CHECK(wn_optim_steps(o) == STEPS);
    reference(p, lr, p0, decay, n, want);
    const float *got = wn_model_params(m);
    double worst = 0, moved = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs(got[i] - want[i]) / fmax(1e-2, fabs(want[i] - p0[i]));
        if (!(e <= worst)) worst = e;
        moved = fmax(moved, fabs(want[i] - p0[i]));
    }
    CHECKF(worst < 1e-4, "%s wd %g: max error %.3g of the update", wn_optimizer_name(kind),
           wd, worst);
    CHECKF(moved > 1e-3, "%s: the reference did not move", wn_optimizer_name(kind));
    /* slots: which exist */
    int want0 = kind != WN_OPT_SGD && kind != WN_OPT_RMSPROP;
    int want1 = kind == WN_OPT_ADAM || kind == WN_OPT_RMSPROP || kind == WN_OPT_ADADELTA;
    CHECK((wn_optim_state(o, 0) != NULL) == want0);
    CHECK((wn_optim_state(o, 1) != NULL) == want1);
    CHECK(wn_optim_state(o, 2) == NULL);
    fprintf(stderr, "  %-8s wd %.2f: %d steps, max error %.2g of the update\n",
            wn_optimizer_name(kind), wd, STEPS, worst);
    checks++;
    wn_optim_free(o);
    wn_model_free(m);
    free(p0);
    free(g);
    free(want);
    free(decay);
}

/* Adam on f(p) = 1/2 sum a_i (p_i - c_i)^2 */
static void adam_quadratic(void)
{
    wn_model *m = tu_small_model(8, 2, 2, 3, 2, 4, 11);
    size_t n = wn_model_param_count(m);
    float *g = malloc(n * sizeof *g);
    double *a = malloc(n * sizeof *a), *c = malloc(n * sizeof *c);
    for (size_t i = 0; i < n; i++) {
        a[i] = 0.5 + 1.5 * (0.5 + 0.5 * sin(1.7 * i));
        c[i] = 0.8 * cos(0.9 * i + 0.3);
    }
    wn_error err;
    wn_optim *o = wn_optim_create(m, NULL, &err);
    REQUIRE(o);
    double f0 = 0, f = 0;
    for (int t = 0; t < 3000; t++) {
        const float *p = wn_model_params(m);
        f = 0;
        for (size_t i = 0; i < n; i++) {
            double d = p[i] - c[i];
            f += 0.5 * a[i] * d * d;
            g[i] = (float)(a[i] * d);
        }
        if (t == 0) f0 = f;
        float lr = t < 2000 ? 0.01f : 0.001f;
        REQUIRE_OK(wn_optim_step(o, m, g, lr, &err), &err);
    }
    double worst = 0;
    const float *p = wn_model_params(m);
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(p[i] - c[i]));
    CHECKF(worst < 5e-3, "Adam on a quadratic: max |p - c| = %g", worst);
    fprintf(stderr, "  adam quadratic (%zu params): f %.3g -> %.3g, max |p - c| %.2g\n", n,
            f0, f, worst);
    wn_optim_free(o);
    wn_model_free(m);
    free(g);
    free(a);
    free(c);
}

static void misc(void)
{
    for (int k = WN_OPT_ADAM; k <= WN_OPT_ADADELTA; k++)
        CHECK(wn_optimizer_parse(wn_optimizer_name((wn_optimizer)k)) == k);
    CHECK(wn_optimizer_parse("lbfgs") == -1);
    CHECK(wn_optimizer_parse(NULL) == -1);
    wn_optim_params d = wn_optim_default_params();
    CHECK(d.kind == WN_OPT_ADAM && d.beta1 == 0.9f && d.beta2 == 0.999f && d.eps == 1e-8f);
    wn_model *m = tu_small_model(8, 2, 2, 3, 2, 4, 1);
    wn_error err;
    wn_optim_params bad = d;
    bad.beta1 = 1.0f;
    CHECK(wn_optim_create(m, &bad, &err) == NULL && err.code == WN_ERR_ARG);
    bad = d;
    bad.eps = 0;
    CHECK(wn_optim_create(m, &bad, &err) == NULL && err.code == WN_ERR_ARG);
    wn_optim *o = wn_optim_create(m, &d, &err);
    REQUIRE(o);
    size_t n = wn_model_param_count(m);
    float *g = calloc(n, sizeof *g);
    float *before = malloc(n * sizeof *before);
    memcpy(before, wn_model_params(m), n * sizeof *before);
    CHECK(wn_optim_step(o, m, g, NAN, &err) == WN_ERR_ARG);
    /* a non-finite gradient, or one whose square overflows the second
     * moment, leaves the weights and the moments untouched */
    for (size_t i = 0; i < n; i++) g[i] = 0.5f;
    REQUIRE_OK(wn_optim_step(o, m, g, 0.01f, &err), &err);
    memcpy(before, wn_model_params(m), n * sizeof *before);
    float *m1 = malloc(n * sizeof *m1), *v1 = malloc(n * sizeof *v1);
    memcpy(m1, wn_optim_state(o, 0), n * sizeof *m1);
    memcpy(v1, wn_optim_state(o, 1), n * sizeof *v1);
    const float bad_g[] = {INFINITY, NAN, 1e30f}; /* 1e30: finite, its square is not */
    for (int k = 0; k < 3; k++) {
        g[n - 1] = bad_g[k];
        CHECKF(wn_optim_step(o, m, g, 0.01f, &err) == WN_ERR_NONFINITE, "g = %g", bad_g[k]);
        CHECK(memcmp(before, wn_model_params(m), n * sizeof *before) == 0);
        CHECK(memcmp(m1, wn_optim_state(o, 0), n * sizeof *m1) == 0);
        CHECK(memcmp(v1, wn_optim_state(o, 1), n * sizeof *v1) == 0);
        CHECK(wn_optim_steps(o) == 1);
    }
    free(m1);
    free(v1);
    g[n - 1] = 0;
    wn_optim_set_steps(o, 41);
    CHECK(wn_optim_steps(o) == 41);
    /* a model of another size is refused */
    wn_model *m2 = tu_small_model(8, 3, 2, 3, 2, 4, 1);
    CHECK(wn_optim_step(o, m2, g, 0.01f, &err) == WN_ERR_ARG);
    wn_model_free(m2);
    wn_optim_free(o);
    wn_model_free(m);
    free(g);
    free(before);
}

int main(void)
{
    for (int k = WN_OPT_ADAM; k <= WN_OPT_ADADELTA; k++) {
        check_kind((wn_optimizer)k, 0.0f);
        check_kind((wn_optimizer)k, 0.5f);
    }
    adam_quadratic();
    misc();
    return tu_finish("optim", checks);
}
