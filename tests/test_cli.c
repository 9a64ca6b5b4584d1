/* test_cli.c - the `wavenet` command end to end, as a user runs it: the
 * generate -> score round trip, determinism, --json fields, and bad input
 * answered by one line and a non-zero exit without touching old files. */
#include "testutil.h"

#include <math.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

static char out[1 << 16];

/* run "wavenet ARGS" with stderr captured into out too; returns status */
static int wn(const char *args) { return tu_wn(args, out, sizeof out); }

static double json_num(const char *s, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(s, pat);
    return p ? atof(p + strlen(pat)) : NAN;
}

static int same_file(const char *a, const char *b)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", a, b);
    return tu_run(cmd, NULL, 0) == 0;
}

/* a bad invocation: non-zero, exactly one line mentioning needle */
static void bad(const char *args, const char *needle)
{
    int rc = wn(args);
    size_t len = strlen(out);
    int lines = 0;
    for (size_t i = 0; i < len; i++) lines += out[i] == '\n';
    CHECKF(rc != 0 && rc < 128, "'%s' exited %d", args, rc);
    CHECKF(lines == 1, "'%s' printed %d lines: %s", args, lines, out);
    CHECKF(!needle || strstr(out, needle), "'%s': '%s' lacks '%s'", args, out, needle);
    fprintf(stderr, "  %-60.60s -> %s", args, out);
}

int main(void)
{
    char args[4096];
    static char model[512], g1[512], g2[512], sa[512], sb[512];
    snprintf(model, sizeof model, "%s", tu_path("m.safetensors"));
    snprintf(g1, sizeof g1, "%s", tu_path("g1.wav"));
    snprintf(g2, sizeof g2, "%s", tu_path("g2.wav"));
    snprintf(sa, sizeof sa, "%s", tu_path("sa.wav"));
    snprintf(sb, sizeof sb, "%s", tu_path("sb.wav"));
    snprintf(args, sizeof args,
             "init -o %s --layers 6 --stack 3 --residual 8 --dilation 8 --skip 16 --seed 3", model);
    REQUIRE(wn(args) == 0);

    /* info --json */
    snprintf(args, sizeof args, "info -m %s --json", model);
    REQUIRE(wn(args) == 0);
    CHECK(json_num(out, "layers") == 6 && json_num(out, "receptive_field") == 2 + 2 * 7);
    CHECK(json_num(out, "sample_rate") == 8000 && json_num(out, "bins") == 256);
    CHECK(json_num(out, "parameters") > 1000);

    /* generate -> score reproduces nll_nats (the codes survive the WAV) */
    snprintf(args, sizeof args, "generate -m %s --samples 5000 --seed 7 -o %s --json", model, g1);
    REQUIRE(wn(args) == 0);
    double gen_nll = json_num(out, "nll_nats");
    CHECK(json_num(out, "samples") == 5000);
    snprintf(args, sizeof args, "score -m %s --json %s", model, g1);
    REQUIRE(wn(args) == 0);
    double sc_nll = json_num(out, "nll_nats");
    CHECKF(fabs(gen_nll - sc_nll) < 1e-5 * fabs(sc_nll), "generate %.6f vs score %.6f", gen_nll,
           sc_nll);
    CHECK(fabs(json_num(out, "bits_per_sample") - sc_nll / 5000 / log(2)) < 1e-5);

    /* pipes: "-" is stdout for generate and stdin for score (and every
     * reader); --per-sample - puts the CSV on stdout, the results on stderr */
    {
        char cmd2[8192];
        snprintf(cmd2, sizeof cmd2, "%s generate -m %s --samples 5000 --seed 7 -o - 2>/dev/null | "
                 "%s score -m %s --json - 2>&1", tu_wavenet(), model, tu_wavenet(), model);
        REQUIRE(tu_run(cmd2, out, sizeof out) == 0);
        CHECKF(fabs(json_num(out, "nll_nats") - sc_nll) < 1e-9 * sc_nll && strstr(out, "\"-\""),
               "generate -o - | score -: %s", out);
        snprintf(cmd2, sizeof cmd2, "%s score -m %s --per-sample - %s 2>/dev/null | "
                 "awk 'NR == 1 { h = $0 } /bits.sample/ { b++ } END { print NR, b + 0, h }'",
                 tu_wavenet(), model, g1);
        REQUIRE(tu_run(cmd2, out, sizeof out) == 0);
        CHECKF(!strcmp(out, "5001 0 file,sample,code,logp_nats\n"),
               "--per-sample -: lines, result lines, header: %s", out);
        snprintf(cmd2, sizeof cmd2, "%s score -m %s --per-sample - %s 2>&1 >/dev/null", tu_wavenet(),
                 model, g1);
        REQUIRE(tu_run(cmd2, out, sizeof out) == 0);
        CHECKF(strstr(out, "5000 samples") && !strstr(out, "logp_nats"), "stderr: %s", out);
        /* stdin is buffered in $TMPDIR: one that cannot take it is one line.
         * valgrind keeps its own files in $TMPDIR and gives up without it,
         * so under valgrind (tests/valgrind.sh) this case is left out. */
        if (!strstr(tu_wavenet(), "valgrind")) {
            snprintf(cmd2, sizeof cmd2, "TMPDIR=%s %s score -m %s - < %s 2>&1",
                     tu_path("no/such"), tu_wavenet(), model, g1);
            CHECKF(tu_run(cmd2, out, sizeof out) == 1 &&
                   strstr(out, "stdin: cannot make a temporary") &&
                   strchr(out, '\n') == out + strlen(out) - 1, "TMPDIR missing: %s", out);
        }
        snprintf(cmd2, sizeof cmd2, "echo not audio | %s score -m %s - 2>&1", tu_wavenet(), model);
        CHECKF(tu_run(cmd2, out, sizeof out) == 1 && strstr(out, "stdin: not a readable audio"),
               "text on stdin: %s", out);
        /* endless zeros or text on stdin: judged on their first 64 KiB, not
         * copied into $TMPDIR up to its 8 GiB limit first */
        snprintf(cmd2, sizeof cmd2, "head -c 100000000 /dev/zero | %s score -m %s - 2>&1",
                 tu_wavenet(), model);
        CHECKF(tu_run(cmd2, out, sizeof out) == 1 && strstr(out, "all zero bytes: not audio"),
               "zeros on stdin: %s", out);
        snprintf(cmd2, sizeof cmd2, "yes | head -c 100000000 | %s score -m %s - 2>&1",
                 tu_wavenet(), model);
        CHECKF(tu_run(cmd2, out, sizeof out) == 1 && strstr(out, "plain text: not audio"),
               "text on stdin: %s", out);
        /* stdin read twice: the second '-' finds it empty, and says why */
        snprintf(cmd2, sizeof cmd2, "%s score -m %s - - < %s 2>&1", tu_wavenet(), model, g1);
        CHECKF(tu_run(cmd2, out, sizeof out) == 1 && strstr(out, "5000 samples") &&
                   strstr(out, "wavenet: stdin: empty (stdin is read once"),
               "'-' twice: %s", out);
    }

    /* train --log -: the CSV rows on stdout and nothing else there (the
     * result line goes to stderr), and no file named '-' */
    {
        char cmd2[8192];
        snprintf(cmd2, sizeof cmd2, "cd %s && %s train -m %s -o %s --train %s --steps 3 --batch 1 "
                 "--window 100 --print-every 0 --log - 2>/dev/null | awk -F, '{ n[NF]++ } "
                 "END { for (k in n) print k, n[k] }'", tu_tmpdir(), tu_wavenet(), model,
                 tu_path("logged.safetensors"), g1);
        REQUIRE(tu_run(cmd2, out, sizeof out) == 0);
        CHECKF(!strcmp(out, "8 4\n"), "train --log -: fields and rows on stdout: %s", out);
        CHECK(access(tu_path("-"), F_OK) != 0);
    }

    /* the extension picks the container, and each reads back as the same
     * codes: .raw is headerless 16-bit, as score reads .raw; a lossy
     * format is refused before any work, an existing file kept */
    {
        const char *exts[] = {"flac", "raw", "aiff", "au", "caf", "w64", "FLAC"};
        const char *magic[] = {"fLaC", NULL, "FORM", ".snd", "caff", "riff", "fLaC"};
        for (size_t e = 0; e < sizeof exts / sizeof *exts; e++) {
            char name[32], head[4] = {0};
            snprintf(name, sizeof name, "g1.%s", exts[e]);
            const char *path = tu_path(name);
            snprintf(args, sizeof args, "generate -m %s --samples 5000 --seed 7 -o %s", model, path);
            REQUIRE(wn(args) == 0);
            FILE *fp = fopen(path, "rb");
            REQUIRE(fp);
            CHECK(fread(head, 1, 4, fp) == 4);
            fseek(fp, 0, SEEK_END);
            const long size = ftell(fp);
            fclose(fp);
            if (magic[e]) CHECKF(!memcmp(head, magic[e], 4), "%s starts '%.4s'", name, head);
            else CHECKF(size == 2 * 5000, "%s: %ld bytes, expected 10000", name, size);
            snprintf(args, sizeof args, "score -m %s --json %s", model, path);
            REQUIRE(wn(args) == 0);
            CHECKF(fabs(json_num(out, "nll_nats") - sc_nll) < 1e-9 * sc_nll,
                   "%s scores %.6f, the WAV %.6f", name, json_num(out, "nll_nats"), sc_nll);
        }
        const char *ogg = tu_path("keep.ogg");
        FILE *fp = fopen(ogg, "w");
        REQUIRE(fp);
        fputs("precious\n", fp);
        fclose(fp);
        snprintf(args, sizeof args, "generate -m %s --seconds 100 -o %s", model, ogg);
        int rc = wn(args);
        CHECKF(rc == 1 && strstr(out, "lossy") && strchr(out, '\n') == out + strlen(out) - 1,
               "-o x.ogg: exit %d, '%s'", rc, out);
        char back[16] = {0};
        fp = fopen(ogg, "r");
        REQUIRE(fp);
        CHECK(fgets(back, sizeof back, fp) && !strcmp(back, "precious\n"));
        fclose(fp);
    }

    /* a folder: its audio files, sorted (not other files, not hidden
     * ones), then a total line weighing every sample alike; a list file
     * (relative paths, comments) gives the same */
    {
        char dir[512], cmd2[8192];
        snprintf(dir, sizeof dir, "%s", tu_path("corpus"));
        snprintf(cmd2, sizeof cmd2,
                 "mkdir -p %s && cp %s %s/b.wav && cp %s %s/.hidden.wav && echo x > %s/notes.txt"
                 " && printf '# two clips\\nb.wav\\n\\na.wav\\n' > %s/list.txt"
                 " && echo . > %s/folder.txt",
                 dir, g1, dir, g1, dir, dir, dir, dir);
        REQUIRE(tu_run(cmd2, NULL, 0) == 0);
        snprintf(args, sizeof args, "generate -m %s --samples 3000 --seed 8 -o %s/a.wav", model, dir);
        REQUIRE(wn(args) == 0);
        double nats[2];
        for (int k = 0; k < 2; k++) { /* each alone */
            snprintf(args, sizeof args, "score -m %s --json %s/%s.wav", model, dir, k ? "b" : "a");
            REQUIRE(wn(args) == 0);
            nats[k] = json_num(out, "nll_nats");
        }
        const double bits = (nats[0] + nats[1]) / 8000 / log(2);
        for (int v = 0; v < 3; v++) { /* the folder, a list of files, a list naming the folder */
            if (v) snprintf(args, sizeof args, "score -m %s --list %s/%s.txt", model, dir,
                            v == 1 ? "list" : "folder");
            else snprintf(args, sizeof args, "score -m %s %s", model, dir);
            REQUIRE(wn(args) == 0);
            char *a = strstr(out, "a.wav: 3000 samples"), *b = strstr(out, "b.wav: 5000 samples");
            char *t = strstr(out, "total: 2 files, 8000 samples, ");
            CHECKF(a && b && t, "%s", out);
            CHECKF(v != 1 ? a < b && b < t : b < a && a < t, "order: %s", out);
            CHECKF(!strstr(out, "hidden") && !strstr(out, "notes"), "%s", out);
            double tn = NAN, tb = NAN;
            if (t) sscanf(t, "total: 2 files, 8000 samples, %lf nats, %lf", &tn, &tb);
            CHECKF(fabs(tn - (nats[0] + nats[1])) < 2e-3 && fabs(tb - bits) < 1e-4,
                   "total %f nats %f bits, expected %f %f", tn, tb, nats[0] + nats[1], bits);
        }
        /* --json stays one object per file */
        snprintf(args, sizeof args, "score -m %s --json %s", model, dir);
        REQUIRE(wn(args) == 0);
        CHECKF(!strstr(out, "total"), "%s", out);
        /* baseline reads folders and lists naming them the same way: the
         * folder fits exactly what its two files, in order, fit */
        static char ref[sizeof out];
        snprintf(args, sizeof args, "baseline --json --train %s/a.wav %s/b.wav --valid %s/b.wav",
                 dir, dir, dir);
        REQUIRE(wn(args) == 0);
        memcpy(ref, out, sizeof ref);
        CHECKF(strstr(ref, "\"bigram\"") && strstr(ref, "\"samples\": 5000"), "%s", ref);
        for (int v = 0; v < 2; v++) {
            if (v) snprintf(args, sizeof args, "baseline --json --train-list %s/folder.txt --valid "
                            "%s/b.wav", dir, dir);
            else snprintf(args, sizeof args, "baseline --json --train %s --valid %s/b.wav", dir, dir);
            REQUIRE(wn(args) == 0);
            CHECKF(!strcmp(out, ref), "baseline on the folder:\n%s\nbut on its files:\n%s", out,
                   ref);
        }
    }

    /* --precision f16 and int8: generate samples a model (f16: the rounded
     * one; int8: its own steps) that score at the same precision scores,
     * a different model from f32's, close to it */
    const char *precs[2] = {"f16", "int8"};
    const double near[2] = {1e-3, 1e-2}; /* relative to f32's NLL */
    for (int pi = 0; pi < 2; pi++) {
        const char *pr = precs[pi], *wav = tu_path(pi ? "q.wav" : "h.wav");
        snprintf(args, sizeof args, "generate -m %s --samples 5000 --seed 7 --precision %s -o %s "
                 "--json", model, pr, wav);
        REQUIRE(wn(args) == 0);
        double gen_p = json_num(out, "nll_nats");
        snprintf(args, sizeof args, "score -m %s --json --precision %s %s", model, pr, wav);
        REQUIRE(wn(args) == 0);
        double sc_p = json_num(out, "nll_nats");
        CHECKF(fabs(gen_p - sc_p) < 1e-5 * fabs(sc_p), "%s: generate %.6f vs score %.6f", pr,
               gen_p, sc_p);
        snprintf(args, sizeof args, "score -m %s --json %s", model, wav);
        REQUIRE(wn(args) == 0);
        double sc32 = json_num(out, "nll_nats");
        CHECKF(sc32 != sc_p && fabs(sc32 - sc_p) < near[pi] * fabs(sc_p), "%s %.6f vs f32 %.6f",
               pr, sc_p, sc32);
    }
    snprintf(args, sizeof args, "generate -m %s --samples 10 --precision f8 -o %s", model,
             tu_path("never.wav"));
    bad(args, "expected f32, f16 or int8");
    snprintf(args, sizeof args, "score -m %s --precision %s", model, g1);
    bad(args, "expected f32, f16 or int8");

    /* determinism: same seed, same bytes; another seed, other bytes;
     * threads do not change streams */
    snprintf(args, sizeof args, "generate -m %s --samples 5000 --seed 7 -o %s", model, g2);
    REQUIRE(wn(args) == 0);
    CHECK(same_file(g1, g2));
    snprintf(args, sizeof args, "generate -m %s --samples 5000 --seed 8 -o %s", model, g2);
    REQUIRE(wn(args) == 0);
    CHECK(!same_file(g1, g2));
    snprintf(args, sizeof args, "generate -m %s --samples 3000 --streams 3 --threads 2 --seed 1 -o %s",
             model, sa);
    REQUIRE(wn(args) == 0);
    snprintf(args, sizeof args, "generate -m %s --samples 3000 --streams 3 --seed 1 -o %s", model, sb);
    REQUIRE(wn(args) == 0);
    for (int i = 0; i < 3; i++) {
        char a[600], b[600];
        snprintf(a, sizeof a, "%s/sa-%d.wav", tu_tmpdir(), i);
        snprintf(b, sizeof b, "%s/sb-%d.wav", tu_tmpdir(), i);
        CHECKF(same_file(a, b), "stream %d differs between 1 and 2 threads", i);
    }
    /* a stream's name: -i before the extension, not before a leading dot */
    {
        const char *names[][3] = {{".take", ".take-0", ".take-1"},
                                  {"x.y.flac", "x.y-0.flac", "x.y-1.flac"},
                                  {"noext", "noext-0", "noext-1"}};
        for (int k = 0; k < 3; k++) {
            snprintf(args, sizeof args, "generate -m %s --samples 50 --streams 2 -o %s", model,
                     tu_path(names[k][0]));
            REQUIRE(wn(args) == 0);
            CHECKF(access(tu_path(names[k][1]), F_OK) == 0 &&
                   access(tu_path(names[k][2]), F_OK) == 0, "-o %s: no %s and %s", names[k][0],
                   names[k][1], names[k][2]);
        }
    }
    /* -o - writes the same audio to stdout */
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s generate -m %s --samples 5000 --seed 7 -o - > %s", tu_wavenet(),
             model, tu_path("stdout.wav"));
    REQUIRE(tu_run(cmd, NULL, 0) == 0);
    snprintf(args, sizeof args, "score -m %s --json %s", model, tu_path("stdout.wav"));
    REQUIRE(wn(args) == 0);
    CHECK(fabs(json_num(out, "nll_nats") - sc_nll) < 1e-6 * sc_nll);

    /* temperature 0 is deterministic whatever the seed; a prime continues */
    snprintf(args, sizeof args, "generate -m %s --samples 2000 --temperature 0 --seed 1 -o %s",
             model, g1);
    REQUIRE(wn(args) == 0);
    snprintf(args, sizeof args, "generate -m %s --samples 2000 --temperature 0 --seed 2 -o %s",
             model, g2);
    REQUIRE(wn(args) == 0);
    CHECK(same_file(g1, g2));
    snprintf(args, sizeof args, "generate -m %s --seconds 0.1 --prime %s --top-k 5 --top-p 0.9 -o %s --json",
             model, g1, g2);
    REQUIRE(wn(args) == 0);
    CHECK(json_num(out, "samples") == 800);
    /* the line carries the settings it ran with, and its wall time by name */
    CHECK(json_num(out, "top_k") == 5 && fabs(json_num(out, "top_p") - 0.9) < 1e-6);
    CHECKF(strstr(out, "\"precision\":\"f32\"") && strstr(out, "\"prime\":\"") &&
           strstr(out, "\"keep_prime\":false") &&
           json_num(out, "wall_seconds") == json_num(out, "seconds"), "%s", out);

    /* --per-sample CSV: a header and one row per sample summing to the NLL,
     * also at int8 (scored through the generator) */
    for (int pi = 0; pi < 2; pi++) {
        const char *pr = pi ? "int8" : "f32";
        snprintf(args, sizeof args, "score -m %s --precision %s --per-sample %s %s", model, pr,
                 tu_path("ps.csv"), g1);
        REQUIRE(wn(args) == 0);
        FILE *f = fopen(tu_path("ps.csv"), "r");
        REQUIRE(f);
        char line[512];
        int rows = 0;
        double sum = 0;
        REQUIRE(fgets(line, sizeof line, f) && !strncmp(line, "file,sample,code,logp_nats", 26));
        while (fgets(line, sizeof line, f)) {
            char *c = strrchr(line, ',');
            sum -= atof(c + 1);
            rows++;
        }
        fclose(f);
        CHECKF(rows == 2000, "%s: %d rows in the --per-sample CSV, expected 2000", pr, rows);
        snprintf(args, sizeof args, "score -m %s --precision %s --json %s", model, pr, g1);
        wn(args);
        CHECKF(fabs(sum - json_num(out, "nll_nats")) < 1e-3, "%s: CSV sums to %f", pr, sum);
    }

    /* stereo 48 kHz input is mixed and resampled, with a note */
    snprintf(cmd, sizeof cmd, "sox -n -r 48000 -c 2 -b 16 %s synth 0.5 sine 440 2>/dev/null",
             tu_path("st48.wav"));
    if (tu_run(cmd, NULL, 0) == 0) {
        snprintf(args, sizeof args, "score -m %s %s", model, tu_path("st48.wav"));
        CHECK(wn(args) == 0);
        CHECK(strstr(out, "resampled from 48000") && strstr(out, "mixed"));
        CHECK(strstr(out, "4000 samples"));
    }

    /* exit status: 2 for a wrong command line, whatever the command; 1 for
     * a file that cannot be used */
    {
        const char *usage_errors[] = {
            "frobnicate", "generate --bogus", "score --bogus", "init --bogus", "info --bogus",
            "train --bogus", "baseline --bogus", "spectrogram --bogus", "generate --samples",
            "train -o x.safetensors", "baseline --train", "score --precision f8 x.wav"};
        for (size_t i = 0; i < sizeof usage_errors / sizeof usage_errors[0]; i++) {
            int rc = wn(usage_errors[i]);
            CHECKF(rc == 2, "'%s' exited %d, expected 2: %s", usage_errors[i], rc, out);
        }
        snprintf(args, sizeof args, "info -m %s", tu_path("missing.safetensors"));
        CHECKF(wn(args) == 1, "info with a missing model: %s", out);
        snprintf(args, sizeof args, "train -m %s -o %s --train-list %s --steps 1", model,
                 tu_path("t.safetensors"), tu_path("missing.txt"));
        CHECKF(wn(args) == 1, "train with a missing list: %s", out);
        snprintf(args, sizeof args, "baseline --train-list %s --valid %s", tu_path("missing.txt"),
                 g1);
        CHECKF(wn(args) == 1, "baseline with a missing list: %s", out);
    }

    /* bad input: one line, non-zero, and an existing output survives */
    fprintf(stderr, "bad input:\n");
    bad("frobnicate", "unknown command");
    bad("generate --samples 10 --bogus", "unknown option");
    bad("generate --samples ten", "--samples");
    bad("generate --samples 10 --seconds 1", "exactly one");
    snprintf(args, sizeof args, "generate -m %s --samples 10 --temperature -1", model);
    bad(args, "--temperature");
    snprintf(args, sizeof args, "generate -m %s --samples 10 --top-p 0", model);
    bad(args, "--top-p");
    snprintf(args, sizeof args, "generate -m %s --samples 3000000000", model);
    bad(args, "more than a WAV file holds");
    snprintf(args, sizeof args, "generate -m %s --samples 10 -o /nonexistent/dir/x.wav", model);
    bad(args, "/nonexistent/dir/x.wav");
    bad("generate -m /nonexistent.safetensors --samples 10", "/nonexistent.safetensors");
    /* an output that is a folder is refused before any work, not at the rename */
    REQUIRE(mkdir(tu_path("adir"), 0700) == 0);
    snprintf(args, sizeof args, "generate -m %s --seconds 600 -o %s", model, tu_path("adir"));
    bad(args, "is a folder, not a file name");
    snprintf(args, sizeof args, "init -o %s", tu_path("adir"));
    bad(args, "is a folder, not a file name");
    snprintf(args, sizeof args, "generate -m %s --samples 10", g1);
    bad(args, "not a weights file");
    /* stdout is for the outputs that can stream there; a model cannot */
    bad("init -o -", "cannot go to stdout");
    snprintf(args, sizeof args, "train -m %s -o - --train %s --steps 1", model, g1);
    bad(args, "cannot go to stdout");
    CHECK(access(tu_path("-"), F_OK) != 0 && access("-", F_OK) != 0);
    /* a truncated model */
    snprintf(cmd, sizeof cmd, "head -c 2000 %s > %s", model, tu_path("trunc.st"));
    tu_run(cmd, NULL, 0);
    snprintf(args, sizeof args, "info -m %s", tu_path("trunc.st"));
    bad(args, "truncated");
    /* audio that is not audio, empty, missing, a directory */
    FILE *t = fopen(tu_path("text.wav"), "w");
    fputs("this is not audio\n", t);
    fclose(t);
    fclose(fopen(tu_path("empty.wav"), "w"));
    snprintf(args, sizeof args, "score -m %s %s", model, tu_path("text.wav"));
    bad(args, "text.wav");
    snprintf(args, sizeof args, "score -m %s %s", model, tu_path("empty.wav"));
    bad(args, "empty.wav: an empty file (0 bytes)");
    snprintf(args, sizeof args, "score -m %s %s", model, tu_path("missing.wav"));
    bad(args, "missing.wav");
    /* a folder is its audio files: none is an error */
    snprintf(cmd, sizeof cmd, "mkdir -p %s", tu_path("nothing"));
    tu_run(cmd, NULL, 0);
    snprintf(args, sizeof args, "score -m %s %s", model, tu_path("nothing"));
    bad(args, "a folder without audio files");
    snprintf(args, sizeof args, "baseline --train %s --valid %s", tu_path("nothing"), g1);
    bad(args, "a folder without audio files");
    snprintf(args, sizeof args, "score -m %s --list %s", model, tu_path("missing.txt"));
    bad(args, "missing.txt");
    FILE *el = fopen(tu_path("empty.txt"), "w");
    REQUIRE(el);
    fputs("# nothing here\n", el);
    fclose(el);
    snprintf(args, sizeof args, "score -m %s --list %s", model, tu_path("empty.txt"));
    bad(args, "no paths in the list");
    snprintf(args, sizeof args, "score -m %s", model);
    bad(args, "no audio files");
    /* a failed run leaves an existing output untouched */
    struct stat before, after;
    REQUIRE(stat(g1, &before) == 0);
    snprintf(args, sizeof args, "generate -m %s --samples 100 --prime %s -o %s", model,
             tu_path("text.wav"), g1);
    bad(args, "text.wav");
    REQUIRE(stat(g1, &after) == 0);
    CHECK(before.st_size == after.st_size && before.st_mtime == after.st_mtime);
    /* help texts exit 0 */
    const char *helps[] = {"--help", "init --help", "info --help", "generate --help", "score --help"};
    for (size_t i = 0; i < sizeof helps / sizeof helps[0]; i++) CHECK(wn(helps[i]) == 0 && strstr(out, "usage"));
    return tu_finish("cli", 0);
}
