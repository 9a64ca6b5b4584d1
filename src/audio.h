/* audio.h - what the audio files share and users never see:
 *
 *   audio_read.c    wn_audio_read: libsndfile, mono mixdown, resampling,
 *                   raw PCM, stdin through a temporary file
 *   audio_header.c  a header's checks before libsndfile parses it: the
 *                   claimed size, and the forked probe of the sandbox
 *   audio_write.c   the streamed writer (wn_wav_*) and its containers */
#ifndef WN_AUDIO_H
#define WN_AUDIO_H

#include "internal.h"

#define MAX_RATE (1 << 20)            /* Hz, for requested and file rates */

/* Does the header's audio chunk claim more bytes than the file holds?
 * WN_OK, or WN_ERR_FORMAT saying so (only the common containers are
 * looked at: RIFF/RIFX/RF64 WAV, AIFF/AIFC, Sun/NeXT AU). */
int wn__audio_claim_check(int fd, int64_t fsize, const char *path, wn_error *err);
/* The sandbox's probe: the header parsed by a forked child under a
 * deadline; WN_OK if it finished (opened or not), else why not. The
 * descriptor's offset is back at 0 on return. */
int wn__audio_probe_header(int fd, int64_t fsize, const char *path, wn_error *err);

#endif
