/* init_from.c - `wavenet init --from MODEL`: a new model starts from
 * another's weights, and predicts exactly what that model predicts until
 * training moves it.
 *
 * - Every tensor of the same name and shape is copied.
 * - The layers' conditioning weights that MODEL lacks (cond, speaker)
 *   start at zero: a vocoder or a speaker model from an unconditional one.
 * - A larger network of the same skip width and stack (more layers, more
 *   residual or gate channels) gets MODEL's weights in the leading block of
 *   each tensor, and zeros wherever a new channel or layer would reach the
 *   old ones: the new residual channels' inputs (causal rows, res rows), the
 *   new gate channels' outputs (res and skip columns), a new layer's res
 *   and skip. Every other new weight stays random, so gradients reach the
 *   zeros from the first step (a path all at zero would stay there).
 *
 * A dilated, cond or speaker tensor's 2D rows are the filter rows, then the
 * gate rows: grown, old filter row j goes to j and old gate row D0 + j to
 * D + j. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ends_with(const char *s, const char *tail)
{
    size_t a = strlen(s), b = strlen(tail);
    return a > b && !strcmp(s + a - b, tail);
}

/* the layer index of "layers.{i}.…", else -1 */
static int layer_of(const char *name)
{
    if (strncmp(name, "layers.", 7)) return -1;
    char *end;
    long i = strtol(name + 7, &end, 10);
    return end != name + 7 && *end == '.' ? (int)i : -1;
}

/* MODEL's tensor `name` (shape sb, rank nd) into m's (shape sa, values in
 * buf, random from init): zeros where a new channel reaches an old one,
 * then the old values in the leading block. */
static void grow_tensor(const char *name, float *buf, const int *sa, const float *old,
                        const int *sb, int nd, int d0, int d)
{
    int a[3] = {1, 1, 1}, b[3] = {1, 1, 1};
    for (int k = 0; k < nd; k++) a[k] = sa[k], b[k] = sb[k];
    const int in_rows = !strcmp(name, "causal.weight") || !strcmp(name, "causal.bias") ||
                        ends_with(name, ".res.weight") || ends_with(name, ".res.bias");
    const int out_cols = ends_with(name, ".res.weight") || ends_with(name, ".skip.weight");
    const int split = ends_with(name, ".dilated.weight") || ends_with(name, ".dilated.bias") ||
                      ends_with(name, ".cond.weight") || ends_with(name, ".speaker.weight");
    for (int r = 0; r < a[0]; r++)
        for (int c = 0; c < a[1]; c++)
            for (int k = 0; k < a[2]; k++)
                if ((in_rows && r >= b[0]) || (out_cols && c >= b[1]))
                    buf[((size_t)r * a[1] + c) * a[2] + k] = 0;
    for (int r = 0; r < b[0]; r++) {
        const int to = split && r >= d0 ? r - d0 + d : r;
        for (int c = 0; c < b[1]; c++)
            for (int k = 0; k < b[2]; k++)
                buf[((size_t)to * a[1] + c) * a[2] + k] = old[((size_t)r * b[1] + c) * b[2] + k];
    }
}

int cli_init_from(wn_model *m, const char *path, int *copied, int *grown, char *why,
                  size_t why_size, wn_error *err)
{
    *copied = *grown = 0;
    if (why_size) why[0] = 0;
    wn_model *src = wn_model_load(path, err);
    if (!src) return err->code;
    wn_config a = wn_model_config(m), b = wn_model_config(src);
    int rc = WN_OK;
    if (a.sample_rate != b.sample_rate || a.bins != b.bins) {
        snprintf(err->message, sizeof err->message,
                 "--from %s: %d Hz, %d bins; the new model has %d Hz, %d bins", path,
                 b.sample_rate, b.bins, a.sample_rate, a.bins);
        rc = err->code = WN_ERR_ARG;
    }
    /* growing: only where each old layer keeps its dilation and the head
     * its input */
    const int grow = a.skip == b.skip && a.stack == b.stack && a.layers >= b.layers &&
                     a.residual >= b.residual && a.dilation >= b.dilation &&
                     (a.layers > b.layers || a.residual > b.residual || a.dilation > b.dilation);
    const int same_net = a.skip == b.skip && a.stack == b.stack && a.layers == b.layers &&
                         a.residual == b.residual && a.dilation == b.dilation;
    /* neither a copy nor a growth: say which difference stops it, since the
     * model then does not start from what MODEL predicts */
    if (rc == WN_OK && !grow && !same_net && why_size) {
        if (a.skip != b.skip)
            snprintf(why, why_size, "%d skip channels against its %d", a.skip, b.skip);
        else if (a.stack != b.stack)
            snprintf(why, why_size, "dilations up to %d against its %d", 1 << (a.stack - 1),
                     1 << (b.stack - 1));
        else
            snprintf(why, why_size, "%s", a.layers < b.layers ? "fewer layers"
                                          : a.residual < b.residual ? "fewer residual channels"
                                                                    : "fewer gate channels");
    }
    float *buf = NULL, *old = NULL;
    for (int i = 0; rc == WN_OK && i < wn_model_tensor_count(m); i++) {
        const char *name = wn_model_tensor_name(m, i);
        int nd, ndb = 0, sa[3], sb[3];
        size_t n = wn_model_tensor_info(m, name, &nd, sa, NULL);
        size_t nb = wn_model_tensor_info(src, name, &ndb, sb, NULL);
        const int same = nb == n && nd == ndb && !memcmp(sa, sb, sizeof(int) * (size_t)nd);
        int fits = !same && grow && nb && nd == ndb;
        for (int k = 0; fits && k < nd; k++) fits = sb[k] <= sa[k];
        const int branch = layer_of(name) >= 0 &&
                           (ends_with(name, ".cond.weight") || ends_with(name, ".speaker.weight"));
        const int new_out = grow && !nb && layer_of(name) >= b.layers &&
                            (ends_with(name, ".res.weight") || ends_with(name, ".res.bias") ||
                             ends_with(name, ".skip.weight") || ends_with(name, ".skip.bias"));
        if (!same && !fits && !branch && !new_out) continue;
        float *g1 = realloc(buf, sizeof(float) * n);
        if (g1) buf = g1;
        float *g2 = g1 ? realloc(old, sizeof(float) * (nb ? nb : 1)) : NULL;
        if (g2) old = g2;
        if (!g2) {
            snprintf(err->message, sizeof err->message, "out of memory");
            rc = err->code = WN_ERR_NOMEM;
            break;
        }
        if (same) {
            wn_model_tensor_get(src, name, NULL, buf);
        } else if (fits) {
            wn_model_tensor_get(m, name, NULL, buf);
            wn_model_tensor_get(src, name, NULL, old);
            grow_tensor(name, buf, sa, old, sb, nd, b.dilation, a.dilation);
        } else {
            memset(buf, 0, sizeof(float) * n);
        }
        rc = wn_model_set_tensor(m, name, buf, n, err);
        if (rc == WN_OK) *copied += same, *grown += fits || new_out;
    }
    free(buf);
    free(old);
    wn_model_free(src);
    return rc;
}
