/* write_size: CPU cost of writing new files in one large write(2) versus 1 MiB pieces.
 *
 *   cc -O2 -o write_size bench/write_size.c && ./write_size DIR [ROUNDS]
 *
 * Writes 256 new files of 4 MiB (1 GiB) in DIR, once with a single 4 MiB write per file and
 * once in 1 MiB writes, alternating, ROUNDS times (default 4), and prints the process CPU of
 * each pass. Why it exists: on the project's VM (kernel 6.18, ext4) the single 4 MiB writes
 * cost up to 10x the CPU of the 1 MiB ones (large-folio allocation compacting memory), which
 * is why PosixWritableFile::Append writes at most 1 MiB per call (src/common/posix_env.cc).
 * Not part of the product.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static double cpu_seconds(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static int pass(const char *dir, char *buf, size_t block, size_t piece) {
  char name[4096];
  for (int i = 0; i < 256; i++) {
    snprintf(name, sizeof(name), "%s/ws%d", dir, i);
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return -1;
    for (size_t o = 0; o < block; o += piece) {
      if (write(fd, buf + o, piece) != (ssize_t)piece) return -1;
    }
    close(fd);
  }
  return 0;
}

static void cleanup(const char *dir) {
  char name[4096];
  sync();
  for (int i = 0; i < 256; i++) {
    snprintf(name, sizeof(name), "%s/ws%d", dir, i);
    unlink(name);
  }
  sync();
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s DIR [ROUNDS]\n", argv[0]);
    return 2;
  }
  int rounds = argc > 2 ? atoi(argv[2]) : 4;
  const size_t block = 4u << 20;
  char *buf = aligned_alloc(4096, block);
  if (buf == NULL) return 1;
  memset(buf, 7, block);
  const size_t pieces[2] = {4u << 20, 1u << 20};
  for (int r = 0; r < rounds; r++) {
    for (int k = 0; k < 2; k++) {
      double c0 = cpu_seconds();
      if (pass(argv[1], buf, block, pieces[k]) != 0) {
        perror("write");
        return 1;
      }
      double c1 = cpu_seconds();
      cleanup(argv[1]);
      printf("round %d: 1 GiB as 256 files, %4zu KiB writes: cpu %.2f s\n", r + 1,
             pieces[k] >> 10, c1 - c0);
      fflush(stdout);
    }
  }
  return 0;
}
