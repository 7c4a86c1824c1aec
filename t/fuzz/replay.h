/*
 * replay.h: lets a libFuzzer target run without libFuzzer (-DFC_FUZZ_REPLAY),
 * replaying files and corpus folders through LLVMFuzzerTestOneInput. Used by
 * `make fuzz-replay`.
 */
#ifndef FC_FUZZ_REPLAY_H
#define FC_FUZZ_REPLAY_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs one file through the target from an exact-size copy (so overreads show). */
static int
fz_replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    long n;
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
        fprintf(stderr, "cannot read %s\n", path);
        if (f != NULL)
            fclose(f);
        return -1;
    }
    uint8_t *buf = malloc(n > 0 ? (size_t) n : 1);
    if (buf == NULL || fread(buf, 1, (size_t) n, f) != (size_t) n) {
        fprintf(stderr, "cannot read %s\n", path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t) n);
    free(buf);
    return 0;
}

/* Replays each argument, a file or every file of a folder; counts runs, returns failures. */
static int
fz_replay_args(int argc, char **argv, int *runs)
{
    int bad = 0;
    for (int i = 1; i < argc; i++) {
        DIR *dir = opendir(argv[i]);
        if (dir == NULL) {
            bad += fz_replay_file(argv[i]) != 0;
            (*runs)++;
            continue;
        }
        struct dirent *de;
        char path[4096];
        while ((de = readdir(dir)) != NULL) {
            if (de->d_name[0] == '.')
                continue;
            snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
            bad += fz_replay_file(path) != 0;
            (*runs)++;
        }
        closedir(dir);
    }
    return bad;
}

#endif
