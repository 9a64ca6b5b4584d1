/* data_list.c - which files a run reads: list files (a path a line, '#'
 * comments, paths relative to the list, "path<TAB>speaker") and folders
 * walked for the audio files in them. Apart from the clips (data.c):
 * nothing here reads audio, and the command uses these alone, before any
 * data is read (its check that no output is one of the inputs). */
#define _POSIX_C_SOURCE 200809L
#include "train.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

int wn__push_path(char ***paths, int *n, const char *s, size_t len)
{
    char **np = realloc(*paths, sizeof *np * (size_t)(*n + 1));
    if (!np) return WN_ERR_NOMEM;
    *paths = np;
    char *c = malloc(len + 1);
    if (!c) return WN_ERR_NOMEM;
    memcpy(c, s, len);
    c[len] = 0;
    np[(*n)++] = c;
    return WN_OK;
}

void wn_list_free(char **paths, int n)
{
    if (!paths) return;
    for (int i = 0; i < n; i++) free(paths[i]);
    free(paths);
}

/* A list file's lines: a path, and after a tab a speaker (kept where
 * speakers is not NULL) */
static int list_read(const char *list, char ***paths, char ***speakers, int *n, wn_error *err)
{
    FILE *f = fopen(list, "r");
    if (!f) return wn__err(err, WN_ERR_IO, "%s: %s", list, strerror(errno));
    const char *slash = strrchr(list, '/');
    size_t dirlen = slash ? (size_t)(slash - list + 1) : 0;
    char *line = NULL, *buf = NULL;
    size_t cap = 0;
    ssize_t got;
    int rc = WN_OK, lineno = 0;
    while ((got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (memchr(line, 0, (size_t)got)) {
            rc = wn__err(err, WN_ERR_FORMAT, "%s:%d: not a text list file", list, lineno);
            break;
        }
        /* '#' at the start or after a blank starts a comment */
        for (char *p = line; *p; p++)
            if (*p == '#' && (p == line || *(p - 1) == ' ' || *(p - 1) == '\t')) {
                *p = 0;
                break;
            }
        char *s = line, *e = line + strlen(line);
        while (*s == ' ' || *s == '\t') s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r')) e--;
        if (e == s) continue;
        /* "path<TAB>speaker": the path ends at the first tab */
        char *tab = memchr(s, '\t', (size_t)(e - s)), *spk = NULL;
        size_t spk_len = 0;
        if (tab) {
            spk = tab + 1;
            while (spk < e && (*spk == ' ' || *spk == '\t')) spk++;
            spk_len = (size_t)(e - spk);
            e = tab;
            while (e > s && e[-1] == ' ') e--;
        }
        size_t len = (size_t)(e - s);
        if (s[0] != '/' && dirlen) {
            char *nb = realloc(buf, dirlen + len + 1);
            if (!nb) { rc = WN_ERR_NOMEM; break; }
            buf = nb;
            memcpy(buf, list, dirlen);
            memcpy(buf + dirlen, s, len);
            s = buf;
            len += dirlen;
        }
        if (speakers) { /* the speaker first: the count *n moves with the path */
            char **ns = realloc(*speakers, sizeof *ns * (size_t)(*n + 1));
            if (!ns) { rc = WN_ERR_NOMEM; break; }
            *speakers = ns;
            ns[*n] = NULL;
            if (spk && !(ns[*n] = strndup(spk, spk_len))) { rc = WN_ERR_NOMEM; break; }
        }
        rc = wn__push_path(paths, n, s, len);
        if (rc) {
            if (speakers) free((*speakers)[*n]);
            break;
        }
    }
    if (rc == WN_OK && ferror(f))
        rc = wn__err(err, WN_ERR_IO, "%s: read error", list);
    if (rc == WN_ERR_NOMEM) wn__err(err, rc, "out of memory reading %s", list);
    free(line);
    free(buf);
    fclose(f);
    return rc;
}

int wn_list_read(const char *list, char ***paths, int *n, wn_error *err)
{
    return list_read(list, paths, NULL, n, err);
}

int wn_list_read_speakers(const char *list, char ***paths, char ***speakers, int *n,
                          wn_error *err)
{
    if (!speakers) return wn__err(err, WN_ERR_ARG, "wn_list_read_speakers: NULL speakers");
    return list_read(list, paths, speakers, n, err);
}

static int is_audio_name(const char *name)
{
    static const char *const ext[] = {"wav", "raw", "flac", "ogg", "oga", "opus", "aif",
                                      "aiff", "aifc", "au", "snd", "caf", "w64", "rf64",
                                      "mp3", "voc", "sd2", "htk", "paf", "sf", "wve"};
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name) return 0;
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (!strcasecmp(dot + 1, ext[i])) return 1;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Append the audio files under folder `path` (depth levels deep at most):
 * hidden entries skipped, symbolic links to folders not followed (no
 * loops), each file by its extension. */
static int walk(const char *path, char ***paths, int *n, int depth, wn_error *err)
{
    DIR *d = opendir(path);
    if (!d) return wn__err(err, WN_ERR_IO, "%s: %s", path, strerror(errno));
    int rc = WN_OK;
    size_t pl = strlen(path);
    int sep = pl && path[pl - 1] != '/';
    struct dirent *de;
    while (rc == WN_OK && (de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        size_t l = pl + (size_t)sep + strlen(de->d_name);
        char *full = malloc(l + 1);
        if (!full) {
            rc = wn__err(err, WN_ERR_NOMEM, "out of memory listing %s", path);
            break;
        }
        snprintf(full, l + 1, "%s%s%s", path, sep ? "/" : "", de->d_name);
        struct stat ls, fs;
        if (lstat(full, &ls) == 0 && S_ISDIR(ls.st_mode)) {
            if (depth > 0) rc = walk(full, paths, n, depth - 1, err);
        } else if (is_audio_name(de->d_name) && stat(full, &fs) == 0 && S_ISREG(fs.st_mode)) {
            if (wn__push_path(paths, n, full, l))
                rc = wn__err(err, WN_ERR_NOMEM, "out of memory listing %s", path);
        }
        free(full);
    }
    closedir(d);
    return rc;
}

/* A path as given: a folder becomes the audio files in it and in its
 * sub-folders (sorted by path, hidden entries skipped), anything else is
 * kept for the reader to judge (so a missing file gets the reader's
 * one-line error). */
int wn_path_expand(const char *path, char ***paths, int *n, wn_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return wn__push_path(paths, n, path, strlen(path)) ? wn__err(err, WN_ERR_NOMEM, "out of memory") : WN_OK;
    int first = *n;
    int rc = walk(path, paths, n, 32, err);
    if (rc) return rc;
    if (*n > first) /* an empty folder may leave *paths NULL, which qsort must not get */
        qsort(*paths + first, (size_t)(*n - first), sizeof **paths, cmp_str);
    return WN_OK;
}
