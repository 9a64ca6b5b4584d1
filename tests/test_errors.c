/* test_errors.c - every status code has its own message, and functions
 * fill wn_error with one line. */
#include "testutil.h"

#include <string.h>

int main(void)
{
    CHECK(!strcmp(wn_strerror(WN_OK), "success"));
    for (int c = -1; c >= WN_STATUS_LAST; c--) {
        const char *s = wn_strerror(c);
        CHECKF(s && *s && strcmp(s, "unknown error"), "code %d", c);
        for (int d = c + 1; d <= 0; d++) CHECKF(strcmp(s, wn_strerror(d)), "%d and %d share", c, d);
    }
    CHECK(!strcmp(wn_strerror(WN_STATUS_LAST - 1), "unknown error"));
    CHECK(!strcmp(wn_strerror(1), "unknown error"));
    wn_config c = wn_config_default();
    wn_error err;
    c.bins = 1;
    CHECK(wn_config_check(&c, &err) == WN_ERR_CONFIG && err.code == WN_ERR_CONFIG);
    CHECK(strstr(err.message, "bins") && !strchr(err.message, '\n'));
    c = wn_config_default();
    c.cond = 3; /* mel conditioning needs a hop the upsampler can make */
    CHECK(wn_model_init(&c, 0, &err) == NULL && strstr(err.message, "hop"));
    c.hop = 50;
    CHECK(wn_model_init(&c, 0, &err) == NULL && strstr(err.message, "50"));
    c.hop = 64, c.upsample_pre = 2;
    CHECK(wn_model_init(&c, 0, &err) == NULL && strstr(err.message, "upsample_pre"));
    c = wn_config_default();
    c.hop = 64;
    CHECK(wn_model_init(&c, 0, &err) == NULL && strstr(err.message, "cond"));
    c = wn_config_default();
    c.speaker_dim = 8;
    CHECK(wn_model_init(&c, 0, &err) == NULL && strstr(err.message, "speakers"));
    c.speakers = 3, c.speaker_dim = 0;
    CHECK(wn_model_init(&c, 0, &err) == NULL && strstr(err.message, "speaker_dim"));
    return tu_finish("errors", 0);
}
