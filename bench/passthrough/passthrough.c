/* passthrough: the FUSE ceiling of this machine, for bench/run.sh.
 *
 * A minimal pass-through file system on libfuse 3.14's high-level API: every call is the same
 * system call on a directory of the local disk, with the multi-threaded loop, file handles
 * kept open, and nothing cached by us. Whatever StrataFS does on top of FUSE is compared with
 * this: the cost of FUSE itself on this kernel and these cores, with no file system logic.
 *
 *   passthrough SOURCE_DIR MOUNTPOINT [-f] [-o allow_other,...]
 *
 * Built by bench/run.sh with `cc -O2 passthrough.c $(pkg-config --cflags --libs fuse3)`.
 * Not part of the product, never run by the tests.
 */
#define FUSE_USE_VERSION 35
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <unistd.h>

static char g_source[PATH_MAX]; /* set once in main before the loop starts, then only read */

static void full(char out[PATH_MAX], const char *path) {
  snprintf(out, PATH_MAX, "%s%s", g_source, path);
}

#define WITH_PATH(p) \
  char p##_full[PATH_MAX]; \
  full(p##_full, p)

static void *pt_init(struct fuse_conn_info *conn, struct fuse_config *cfg) {
  (void)conn;
  cfg->use_ino = 1;
  cfg->entry_timeout = 1.0;
  cfg->attr_timeout = 1.0;
  cfg->negative_timeout = 0;
  return NULL;
}

static int pt_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) {
  if (fi != NULL) return fstat((int)fi->fh, st) == 0 ? 0 : -errno;
  WITH_PATH(path);
  return lstat(path_full, st) == 0 ? 0 : -errno;
}

static int pt_readlink(const char *path, char *buf, size_t size) {
  WITH_PATH(path);
  ssize_t n = readlink(path_full, buf, size - 1);
  if (n < 0) return -errno;
  buf[n] = '\0';
  return 0;
}

static int pt_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags) {
  (void)off, (void)fi, (void)flags;
  WITH_PATH(path);
  DIR *d = opendir(path_full);
  if (d == NULL) return -errno;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    struct stat st;
    memset(&st, 0, sizeof(st));
    st.st_ino = e->d_ino;
    st.st_mode = (mode_t)(e->d_type << 12);
    if (fill(buf, e->d_name, &st, 0, 0) != 0) break;
  }
  closedir(d);
  return 0;
}

static int pt_mkdir(const char *path, mode_t mode) {
  WITH_PATH(path);
  return mkdir(path_full, mode) == 0 ? 0 : -errno;
}
static int pt_unlink(const char *path) {
  WITH_PATH(path);
  return unlink(path_full) == 0 ? 0 : -errno;
}
static int pt_rmdir(const char *path) {
  WITH_PATH(path);
  return rmdir(path_full) == 0 ? 0 : -errno;
}
static int pt_symlink(const char *from, const char *to) {
  WITH_PATH(to);
  return symlink(from, to_full) == 0 ? 0 : -errno;
}
static int pt_rename(const char *from, const char *to, unsigned int flags) {
  WITH_PATH(from);
  WITH_PATH(to);
  return renameat2(AT_FDCWD, from_full, AT_FDCWD, to_full, flags) == 0 ? 0 : -errno;
}
static int pt_link(const char *from, const char *to) {
  WITH_PATH(from);
  WITH_PATH(to);
  return link(from_full, to_full) == 0 ? 0 : -errno;
}
static int pt_chmod(const char *path, mode_t mode, struct fuse_file_info *fi) {
  if (fi != NULL) return fchmod((int)fi->fh, mode) == 0 ? 0 : -errno;
  WITH_PATH(path);
  return chmod(path_full, mode) == 0 ? 0 : -errno;
}
static int pt_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi) {
  if (fi != NULL) return fchown((int)fi->fh, uid, gid) == 0 ? 0 : -errno;
  WITH_PATH(path);
  return lchown(path_full, uid, gid) == 0 ? 0 : -errno;
}
static int pt_truncate(const char *path, off_t size, struct fuse_file_info *fi) {
  if (fi != NULL) return ftruncate((int)fi->fh, size) == 0 ? 0 : -errno;
  WITH_PATH(path);
  return truncate(path_full, size) == 0 ? 0 : -errno;
}
static int pt_utimens(const char *path, const struct timespec ts[2], struct fuse_file_info *fi) {
  if (fi != NULL) return futimens((int)fi->fh, ts) == 0 ? 0 : -errno;
  WITH_PATH(path);
  return utimensat(AT_FDCWD, path_full, ts, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}
static int pt_create(const char *path, mode_t mode, struct fuse_file_info *fi) {
  WITH_PATH(path);
  int fd = open(path_full, fi->flags, mode);
  if (fd < 0) return -errno;
  fi->fh = (uint64_t)fd;
  return 0;
}
static int pt_open(const char *path, struct fuse_file_info *fi) {
  WITH_PATH(path);
  int fd = open(path_full, fi->flags);
  if (fd < 0) return -errno;
  fi->fh = (uint64_t)fd;
  return 0;
}
static int pt_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)path;
  ssize_t n = pread((int)fi->fh, buf, size, off);
  return n < 0 ? -errno : (int)n;
}
static int pt_write(const char *path, const char *buf, size_t size, off_t off,
                    struct fuse_file_info *fi) {
  (void)path;
  ssize_t n = pwrite((int)fi->fh, buf, size, off);
  return n < 0 ? -errno : (int)n;
}
static int pt_statfs(const char *path, struct statvfs *st) {
  WITH_PATH(path);
  return statvfs(path_full, st) == 0 ? 0 : -errno;
}
static int pt_flush(const char *path, struct fuse_file_info *fi) {
  (void)path;
  /* close(dup(fd)) reports delayed write errors the way close() on the local file would. */
  int fd = dup((int)fi->fh);
  if (fd < 0) return -errno;
  return close(fd) == 0 ? 0 : -errno;
}
static int pt_release(const char *path, struct fuse_file_info *fi) {
  (void)path;
  close((int)fi->fh);
  return 0;
}
static int pt_fsync(const char *path, int datasync, struct fuse_file_info *fi) {
  (void)path;
  int r = datasync ? fdatasync((int)fi->fh) : fsync((int)fi->fh);
  return r == 0 ? 0 : -errno;
}

static const struct fuse_operations kOps = {
    .init = pt_init,
    .getattr = pt_getattr,
    .readlink = pt_readlink,
    .readdir = pt_readdir,
    .mkdir = pt_mkdir,
    .symlink = pt_symlink,
    .unlink = pt_unlink,
    .rmdir = pt_rmdir,
    .rename = pt_rename,
    .link = pt_link,
    .chmod = pt_chmod,
    .chown = pt_chown,
    .truncate = pt_truncate,
    .utimens = pt_utimens,
    .create = pt_create,
    .open = pt_open,
    .read = pt_read,
    .write = pt_write,
    .statfs = pt_statfs,
    .flush = pt_flush,
    .release = pt_release,
    .fsync = pt_fsync,
};

int main(int argc, char *argv[]) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s SOURCE_DIR MOUNTPOINT [fuse options]\n", argv[0]);
    return 2;
  }
  if (realpath(argv[1], g_source) == NULL) {
    fprintf(stderr, "passthrough: %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  umask(0);
  /* Drop SOURCE_DIR from the arguments libfuse parses. */
  for (int i = 1; i + 1 < argc; ++i) argv[i] = argv[i + 1];
  return fuse_main(argc - 1, argv, &kOps, NULL);
}
