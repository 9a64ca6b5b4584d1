/* optim.c - the optimizers that update a model's parameters in place from
 * a gradient: Adam (default), SGD, heavy-ball momentum, Nesterov, Adagrad,
 * RMSprop and Adadelta, each following PyTorch's update so a PyTorch
 * reference step matches (torch.optim.Adam/AdamW, SGD(momentum, nesterov),
 * Adagrad, RMSprop, Adadelta with the documented defaults bar the ones in
 * wn_optim_params).
 *
 * Weight decay is decoupled (AdamW, Loshchilov & Hutter 2019) for every
 * optimizer: p <- p (1 - lr wd) before the optimizer's own update, and only
 * on weight tensors (3-D convolution kernels), never on biases: the common
 * practice (GPT-2, llm.c), since decaying a bias towards 0 has no
 * regularising meaning. PyTorch matches with two param groups
 * (weights: weight_decay=wd, biases: weight_decay=0) on AdamW; for the
 * other optimizers PyTorch's weight_decay is an L2 term added to the
 * gradient instead, so compare those with wd = 0.
 *
 * Parameters, gradient and moments share the compute layout, so a step is
 * one pass over the slabs, in place (llm.c's params, grads, m, v). To keep
 * the last finite weights when an update would overflow, the pass runs
 * twice: first computing without storing, to check every result is finite,
 * then storing. The first pass costs a read of the slabs, far less than
 * the step's forward and backward. Everything is allocated at create. */
#include "model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct wn_optim {
    wn_optim_params p;
    size_t n;
    int64_t steps;
    float *slab;          /* the moments, side by side: s0 then s1 */
    float *s0;            /* first moment / velocity / accumulator / Adadelta's
                             accumulated update */
    float *s1;            /* second moment: Adam's, RMSprop's and Adadelta's
                             square average */
    unsigned char *decay; /* 1 where weight decay applies */
};

wn_optim_params wn_optim_default_params(void)
{
    wn_optim_params p = {.kind = WN_OPT_ADAM, .beta1 = 0.9f, .beta2 = 0.999f,
                         .eps = 1e-8f, .momentum = 0.9f, .rho = 0.9f,
                         .weight_decay = 0.0f};
    return p;
}

static const char *const names[] = {"adam",    "sgd",     "momentum", "nesterov",
                                    "adagrad", "rmsprop", "adadelta"};

const char *wn_optimizer_name(wn_optimizer k)
{
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "unknown";
}

int wn_optimizer_parse(const char *name)
{
    if (!name) return -1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(name, names[i])) return (int)i;
    return -1;
}

static int check_params(const wn_optim_params *p, wn_error *err)
{
    if ((unsigned)p->kind > WN_OPT_ADADELTA)
        return wn__err(err, WN_ERR_ARG, "unknown optimizer %d", (int)p->kind);
    if (!(p->beta1 >= 0 && p->beta1 < 1) || !(p->beta2 >= 0 && p->beta2 < 1))
        return wn__err(err, WN_ERR_ARG, "Adam betas (%g, %g) must lie in [0, 1)",
                       p->beta1, p->beta2);
    if (!(p->eps > 0) || !isfinite(p->eps))
        return wn__err(err, WN_ERR_ARG, "eps = %g must be positive", p->eps);
    if (!(p->momentum >= 0 && p->momentum < 1))
        return wn__err(err, WN_ERR_ARG, "momentum = %g must lie in [0, 1)", p->momentum);
    if (!(p->rho >= 0 && p->rho < 1))
        return wn__err(err, WN_ERR_ARG, "RMSprop/Adadelta rho = %g must lie in [0, 1)",
                       p->rho);
    if (!(p->weight_decay >= 0) || !isfinite(p->weight_decay))
        return wn__err(err, WN_ERR_ARG, "weight decay = %g must be >= 0", p->weight_decay);
    return WN_OK;
}

wn_optim *wn_optim_create(const wn_model *m, const wn_optim_params *p, wn_error *err)
{
    wn_optim_params def = wn_optim_default_params();
    if (!p) p = &def;
    if (!m) {
        wn__err(err, WN_ERR_ARG, "wn_optim_create: no model");
        return NULL;
    }
    if (check_params(p, err) != WN_OK) return NULL;
    wn_optim *o = calloc(1, sizeof *o);
    if (!o) goto nomem;
    o->p = *p;
    o->n = wn_model_param_count(m);
    int first = p->kind != WN_OPT_SGD && p->kind != WN_OPT_RMSPROP;
    int second = p->kind == WN_OPT_ADAM || p->kind == WN_OPT_RMSPROP ||
                 p->kind == WN_OPT_ADADELTA;
    if (first + second && !(o->slab = wn__calloc((size_t)(first + second) * o->n,
                                                 sizeof(float))))
        goto nomem;
    o->s0 = first ? o->slab : NULL;
    o->s1 = second ? o->slab + (size_t)first * o->n : NULL;
    o->decay = calloc(o->n ? o->n : 1, 1);
    if (!o->decay) goto nomem;
    int nt = wn_model_tensor_count(m);
    for (int i = 0; i < nt; i++) {
        int ndim;
        size_t off;
        size_t cnt = wn_model_tensor_info(m, wn_model_tensor_name(m, i), &ndim, NULL, &off);
        if (ndim >= 2) memset(o->decay + off, 1, cnt);
    }
    return o;
nomem:
    wn_optim_free(o);
    wn__err(err, WN_ERR_NOMEM, "out of memory allocating the optimizer state");
    return NULL;
}

void wn_optim_free(wn_optim *o)
{
    if (!o) return;
    wn__free(o->slab);
    free(o->decay);
    free(o);
}

int64_t wn_optim_steps(const wn_optim *o) { return o ? o->steps : 0; }

void wn_optim_set_steps(wn_optim *o, int64_t steps)
{
    if (o) o->steps = steps < 0 ? 0 : steps;
}

float *wn_optim_state(wn_optim *o, int slot)
{
    if (!o) return NULL;
    return slot == 0 ? o->s0 : slot == 1 ? o->s1 : NULL;
}

/* The new parameter x and moments of element i, then STORE them (write
 * pass) or note a non-finite one (check pass). */
#define EMIT(x, a, b)                                                              \
    do {                                                                           \
        if (write) {                                                               \
            p[i] = (x);                                                            \
            if (s0) s0[i] = (a);                                                   \
            if (s1) s1[i] = (b);                                                   \
        } else {                                                                   \
            bad |= !isfinite(x) || !isfinite(a) || !isfinite(b);                   \
        }                                                                          \
    } while (0)

/* One pass over the slabs; returns 1 if a result is not finite (only the
 * check pass looks). Each element's update is independent, so the result
 * is the same on any thread count; small models are not worth waking
 * threads for. */
static int pass(const wn_optim *o, float *restrict p, const float *restrict grad, float lr,
                int write)
{
    float *restrict s0 = o->s0, *restrict s1 = o->s1;
    const unsigned char *dm = o->decay;
    const ptrdiff_t n = (ptrdiff_t)o->n;
    const float keep = 1.0f - lr * o->p.weight_decay;
    const int wd = o->p.weight_decay > 0;
    int bad = 0;
    switch (o->p.kind) {
    case WN_OPT_ADAM: {
        const float b1 = o->p.beta1, b2 = o->p.beta2, eps = o->p.eps;
        const double t = (double)(o->steps + 1);
        const float bc1 = (float)(1.0 - pow(b1, t));
        const float bc2s = (float)sqrt(1.0 - pow(b2, t));
        const float step = lr / bc1;
#pragma omp parallel for schedule(static) reduction(| : bad) if (n > (1 << 18))
        for (ptrdiff_t i = 0; i < n; i++) {
            float g = grad[i];
            float x = wd && dm[i] ? p[i] * keep : p[i];
            float m1 = b1 * s0[i] + (1.0f - b1) * g;
            float m2 = b2 * s1[i] + (1.0f - b2) * g * g;
            float denom = sqrtf(m2) / bc2s + eps;
            EMIT(x - step * (m1 / denom), m1, m2);
        }
        break;
    }
    case WN_OPT_SGD:
#pragma omp parallel for schedule(static) reduction(| : bad) if (n > (1 << 18))
        for (ptrdiff_t i = 0; i < n; i++) {
            float x = wd && dm[i] ? p[i] * keep : p[i];
            EMIT(x - lr * grad[i], 0.0f, 0.0f);
        }
        break;
    case WN_OPT_MOMENTUM:
    case WN_OPT_NESTEROV: {
        /* PyTorch SGD(momentum=mu, dampening=0): v = mu v + g (v starts at g,
         * which zero-initialised v gives too); heavy ball steps along v,
         * Nesterov along g + mu v. */
        const float mu = o->p.momentum;
        const int nest = o->p.kind == WN_OPT_NESTEROV;
#pragma omp parallel for schedule(static) reduction(| : bad) if (n > (1 << 18))
        for (ptrdiff_t i = 0; i < n; i++) {
            float g = grad[i];
            float x = wd && dm[i] ? p[i] * keep : p[i];
            float v = mu * s0[i] + g;
            EMIT(x - lr * (nest ? g + mu * v : v), v, 0.0f);
        }
        break;
    }
    case WN_OPT_ADAGRAD: {
        /* PyTorch Adagrad (lr_decay 0, initial accumulator 0):
         * G += g^2; p -= lr g / (sqrt(G) + eps) */
        const float eps = o->p.eps;
#pragma omp parallel for schedule(static) reduction(| : bad) if (n > (1 << 18))
        for (ptrdiff_t i = 0; i < n; i++) {
            float g = grad[i];
            float x = wd && dm[i] ? p[i] * keep : p[i];
            float G = s0[i] + g * g;
            EMIT(x - lr * (g / (sqrtf(G) + eps)), G, 0.0f);
        }
        break;
    }
    case WN_OPT_RMSPROP: {
        /* PyTorch RMSprop (alpha = rho, not centred, no momentum):
         * E = rho E + (1 - rho) g^2; p -= lr g / (sqrt(E) + eps).
         * E is a second moment: slot 1 (slot 0 is NULL). */
        const float rho = o->p.rho, eps = o->p.eps;
#pragma omp parallel for schedule(static) reduction(| : bad) if (n > (1 << 18))
        for (ptrdiff_t i = 0; i < n; i++) {
            float g = grad[i];
            float x = wd && dm[i] ? p[i] * keep : p[i];
            float E = rho * s1[i] + (1.0f - rho) * g * g;
            EMIT(x - lr * (g / (sqrtf(E) + eps)), 0.0f, E);
        }
        break;
    }
    case WN_OPT_ADADELTA: {
        /* PyTorch Adadelta (Zeiler 2012): E = rho E + (1 - rho) g^2;
         * d = sqrt(U + eps) / sqrt(E + eps) g; U = rho U + (1 - rho) d^2;
         * p -= lr d. E (the square average) is slot 1, U slot 0. */
        const float rho = o->p.rho, eps = o->p.eps;
#pragma omp parallel for schedule(static) reduction(| : bad) if (n > (1 << 18))
        for (ptrdiff_t i = 0; i < n; i++) {
            float g = grad[i];
            float x = wd && dm[i] ? p[i] * keep : p[i];
            float E = rho * s1[i] + (1.0f - rho) * g * g;
            float d = sqrtf(s0[i] + eps) / sqrtf(E + eps) * g;
            float U = rho * s0[i] + (1.0f - rho) * d * d;
            EMIT(x - lr * d, U, E);
        }
        break;
    }
    }
    return bad;
}
#undef EMIT

int wn_optim_step(wn_optim *o, wn_model *m, const float *grad, float lr, wn_error *err)
{
    if (!o || !m || !grad) return wn__err(err, WN_ERR_ARG, "wn_optim_step: NULL argument");
    if (wn_model_param_count(m) != o->n)
        return wn__err(err, WN_ERR_ARG,
                       "wn_optim_step: the model has %zu parameters, the optimizer %zu",
                       wn_model_param_count(m), o->n);
    if (!isfinite(lr) || lr < 0)
        return wn__err(err, WN_ERR_ARG, "learning rate %g is not a finite number >= 0", lr);
    if (pass(o, m->params, grad, lr, 0))
        return wn__err(err, WN_ERR_NONFINITE,
                       "the update would make a parameter or a moment non-finite; nothing "
                       "was changed");
    pass(o, m->params, grad, lr, 1);
    o->steps++;
    return WN_OK;
}
