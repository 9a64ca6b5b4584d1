/* fuzz_model.c - libFuzzer target for the weights-file loader.
 *
 * The library reads models by path only (wn_model_load, wn_checkpoint_read),
 * so each input is written to a file on tmpfs (/dev/shm when there is one)
 * and loaded from there. A loaded model is exercised a little (tensor table,
 * teacher-forced logits, generation, a save and reload that must give the
 * same weights) so that whatever the loader lets through must also be safe
 * to compute with. A refused file must come back as a negative wn_status
 * with a non-empty one-line message naming the file; anything else aborts
 * (a crash to libFuzzer).
 *
 * Built and run by tests/fuzz/run.sh:
 *   clang -fsanitize=fuzzer,address,undefined ... fuzz_model.c <library sources>
 */
#define _POSIX_C_SOURCE 200809L
#include "wavenet.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_path[512], g_copy[512];

static void cleanup(void)
{
    unlink(g_path);
    unlink(g_copy);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    snprintf(g_path, sizeof g_path, "%s/wn-fuzz-model-%ld.safetensors", dir, (long)getpid());
    snprintf(g_copy, sizeof g_copy, "%s/wn-fuzz-model-%ld.copy.safetensors", dir,
             (long)getpid());
    atexit(cleanup);
    return 0;
}

static void put_file(const uint8_t *data, size_t size)
{
    FILE *f = fopen(g_path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        perror(g_path);
        abort();
    }
}

/* A refusal must be a known negative code and one non-empty line. */
static void check_error(int rc, const wn_error *err, const char *what)
{
    if (rc >= 0 || rc < WN_STATUS_LAST || err->code != rc || !err->message[0] ||
        strchr(err->message, '\n') || !memchr(err->message, 0, sizeof err->message) ||
        !strstr(err->message, g_path)) {
        fprintf(stderr, "%s: bad error report: rc %d, code %d, message '%.320s'\n", what, rc,
                err->code, err->message);
        abort();
    }
}

static void exercise(wn_model *m)
{
    wn_config c = wn_model_config(m);
    if (wn_config_check(&c, NULL) != WN_OK) abort();
    int nt = wn_model_tensor_count(m);
    size_t total = 0;
    for (int i = 0; i < nt; i++) {
        const char *name = wn_model_tensor_name(m, i);
        int ndim, shape[3];
        size_t off;
        size_t cnt = wn_model_tensor_info(m, name, &ndim, shape, &off);
        if (!cnt || off != total) abort();
        total += cnt;
    }
    if (total != wn_model_param_count(m)) abort();
    /* a few teacher-forced steps: the loader promised finite weights, so the
     * logits are finite or at worst +-inf from overflow, never a crash */
    enum { N = 4 };
    int codes[N];
    for (int i = 0; i < N; i++) codes[i] = (i * 7919) % c.bins;
    size_t q = (size_t)c.bins;
    float *logits = malloc(sizeof(float) * N * q);
    wn_error err;
    /* a conditional model with silent features (enough for the prime and
     * the steps) and its first speaker */
    const size_t frames = wn_model_cond_frames(m, N + 3);
    float *feats = frames ? calloc(frames * (size_t)c.cond, sizeof(float)) : NULL;
    const wn_cond cond = {feats, frames, c.speakers ? 0 : -1, 0};
    const int conditional = c.cond || c.speakers;
    if (frames && !feats) abort();
    if (logits && wn_model_logits_cond(m, codes, N, conditional ? &cond : NULL, logits, &err))
        abort();
    free(logits);
    wn_sample_params sp = wn_sample_default_params();
    wn_gen *g = wn_gen_create(m, 1, &sp, &err);
    if (g) {
        int code;
        double logp;
        if (conditional && wn_gen_set_cond(g, 0, &cond, &err) != WN_OK) abort();
        if (wn_gen_prime(g, codes, N, &err) != WN_OK) abort();
        for (int i = 0; i < 3; i++) {
            int rc = wn_gen_step(g, &code, &logp);
            if (rc == WN_ERR_NONFINITE) break; /* finite weights whose logits overflow */
            if (rc != WN_OK) abort();
            if (code < 0 || code >= c.bins) abort();
        }
        wn_gen_free(g);
    }
    free(feats);
    /* what was accepted survives a save and a reload unchanged */
    if (wn_model_save(m, g_copy, &err) != WN_OK) {
        fprintf(stderr, "save: %s\n", err.message);
        abort();
    }
    wn_model *back = wn_model_load(g_copy, &err);
    if (!back) {
        fprintf(stderr, "reload: %s\n", err.message);
        abort();
    }
    wn_config c2 = wn_model_config(back);
    if (memcmp(&c, &c2, sizeof c) || wn_model_param_count(back) != total ||
        memcmp(wn_model_params(m), wn_model_params(back), total * sizeof(float)))
        abort();
    wn_model_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    put_file(data, size);
    wn_error err;
    memset(&err, 0, sizeof err);
    wn_model *m = wn_model_load(g_path, &err);
    if (m) {
        exercise(m);
        wn_model_free(m);
    } else {
        check_error(err.code, &err, "wn_model_load");
    }
    /* the checkpoint reader parses more metadata (numbers, file lists) */
    wn_train_params p;
    int64_t step = 0;
    char **train = NULL, **valid = NULL;
    int ntrain = 0, nvalid = 0;
    memset(&err, 0, sizeof err);
    int rc = wn_checkpoint_read(g_path, &p, &step, &train, &ntrain, &valid, &nvalid, &err);
    if (rc == WN_OK) {
        if (ntrain < 0 || nvalid < 0 || step < 0) abort();
        for (int i = 0; i < ntrain; i++)
            if (!train[i]) abort();
        wn_list_free(train, ntrain);
        wn_list_free(valid, nvalid);
    } else {
        check_error(rc, &err, "wn_checkpoint_read");
        if (train || valid || ntrain || nvalid) abort(); /* nothing handed back */
    }
    return 0;
}
