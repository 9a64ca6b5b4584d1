/* mulaw.c - mu-law companding and quantisation (the ibab/tensorflow-wavenet
 * convention). Computed in double so that encode(decode(c)) == c for every
 * code and every bins up to 65536. */
#include "internal.h"

#include <math.h>

int wn_mulaw_encode(float xf, int bins)
{
    double mu = bins - 1;
    double x = xf;
    if (!(x > -1.0)) x = -1.0; /* also maps NaN to -1: callers refuse NaN earlier */
    if (x > 1.0) x = 1.0;
    double f = copysign(log1p(mu * fabs(x)) / log1p(mu), x);
    double c = floor((f + 1.0) * 0.5 * mu + 0.5);
    if (c < 0) c = 0;
    if (c > mu) c = mu;
    return (int)c;
}

float wn_mulaw_decode(int code, int bins)
{
    double mu = bins - 1;
    double y = 2.0 * code / mu - 1.0;
    double x = expm1(fabs(y) * log1p(mu)) / mu;
    return (float)copysign(x, y);
}

int wn_mulaw_silence(int bins) { return wn_mulaw_encode(0.0f, bins); }
