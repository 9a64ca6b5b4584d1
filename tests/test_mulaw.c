/* test_mulaw.c - mu-law companding: the formula, round trips, monotony. */
#include "testutil.h"

#include <math.h>

int main(void)
{
    int bins_list[] = {2, 3, 16, 256, 1024, 65536};
    for (size_t k = 0; k < sizeof bins_list / sizeof bins_list[0]; k++) {
        int Q = bins_list[k];
        int prev = -1;
        for (int c = 0; c < Q; c++) {
            float x = wn_mulaw_decode(c, Q);
            CHECKF(x >= -1.0f && x <= 1.0f, "Q=%d c=%d x=%g", Q, c, x);
            CHECKF(wn_mulaw_encode(x, Q) == c, "Q=%d c=%d round trip gives %d", Q, c,
                   wn_mulaw_encode(x, Q));
            CHECKF(x > (prev < 0 ? -2.0f : wn_mulaw_decode(prev, Q)), "monotone Q=%d c=%d", Q, c);
            prev = c;
        }
        CHECK(wn_mulaw_encode(-1.0f, Q) == 0);
        CHECK(wn_mulaw_encode(1.0f, Q) == Q - 1);
        CHECK(wn_mulaw_encode(-5.0f, Q) == 0); /* clipped */
        CHECK(wn_mulaw_encode(5.0f, Q) == Q - 1);
    }
    /* the formula, against an independent computation, for Q = 256 */
    for (int i = -1000; i <= 1000; i++) {
        double x = i / 1000.0;
        double f = (x < 0 ? -1 : 1) * log(1 + 255 * fabs(x)) / log(256.0);
        int want = (int)floor((f + 1) / 2 * 255 + 0.5);
        CHECKF(wn_mulaw_encode((float)x, 256) == want, "x=%g: %d vs %d", x,
               wn_mulaw_encode((float)x, 256), want);
    }
    CHECK(wn_mulaw_silence(256) == 128);
    CHECK(fabs(wn_mulaw_decode(0, 256) + 1.0) < 1e-6);
    CHECK(fabs(wn_mulaw_decode(255, 256) - 1.0) < 1e-6);
    /* every 16-bit PCM value encodes to the code whose bin holds it */
    for (int s = -32768; s < 32768; s += 7) {
        float x = s / 32768.0f;
        int c = wn_mulaw_encode(x, 256);
        if (c > 0) CHECK(wn_mulaw_decode(c - 1, 256) <= x);
        if (c < 255) CHECK(wn_mulaw_decode(c + 1, 256) >= x);
    }
    return tu_finish("mulaw", 0);
}
