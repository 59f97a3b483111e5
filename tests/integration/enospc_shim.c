/* A full disk for one folder, without mounting anything: loaded with LD_PRELOAD into a process,
 * it lets files under FEP_ENOSPC_DIR grow by FEP_ENOSPC_AFTER bytes in all, then fails every
 * write that would grow one further with ENOSPC (the write that crosses the limit is cut short,
 * as on a real filesystem). Overwriting bytes a file already has takes no space, so a database
 * can still roll back. Used by test_diskfull.py where the test cannot mount a small tmpfs, and
 * for a write that fails after the agent's free-space check has passed.
 *
 * FEP_ENOSPC_ERRNO=EIO makes those writes fail with EIO instead (a failing disk).
 *
 * Covers write, pwrite, pwrite64, writev, fallocate, posix_fallocate and fwrite (the spool is
 * written through stdio, whose own flushes do not pass through the write symbol). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static const char* g_dir;
static size_t g_dir_len;
static long long g_left = -1; /* bytes the folder may still grow by; -1: no limit */
static int g_errno = ENOSPC;  /* what a refused write fails with */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;

__attribute__((constructor)) static void shim_init(void) {
  const char* dir = getenv("FEP_ENOSPC_DIR");
  const char* after = getenv("FEP_ENOSPC_AFTER");
  if (!dir || !*dir || !after || !*after) return;
  g_dir = dir;
  g_dir_len = strlen(dir);
  while (g_dir_len > 1 && g_dir[g_dir_len - 1] == '/') --g_dir_len;
  g_left = atoll(after);
  const char* code = getenv("FEP_ENOSPC_ERRNO");
  if (code && strcmp(code, "EIO") == 0) g_errno = EIO;
}

/* Whether descriptor `fd` is a regular file under the folder. */
static int watched(int fd) {
  if (g_left < 0 || fd < 0) return 0;
  char link[64];
  char path[4096];
  struct stat st;
  const int saved = errno;
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t n = readlink(link, path, sizeof path - 1);
  const int regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  errno = saved;
  if (n <= 0 || !regular) return 0;
  path[n] = '\0';
  return strncmp(path, g_dir, g_dir_len) == 0 && (path[g_dir_len] == '/' || path[g_dir_len] == 0);
}

/* How many of `n` bytes written at `offset` (-1: the current position, or the end when the file
 * was opened for appending) may be written: all of those that do not grow the file, and as many
 * that do as the budget allows. 0 with errno = ENOSPC when nothing may be written. */
static size_t allowed(int fd, size_t n, off_t offset) {
  if (n == 0 || !watched(fd)) return n;
  const int saved = errno;
  struct stat st;
  if (fstat(fd, &st) != 0) return n;
  if (offset < 0) {
    const int flags = fcntl(fd, F_GETFL);
    offset = flags >= 0 && (flags & O_APPEND) ? st.st_size : lseek(fd, 0, SEEK_CUR);
    if (offset < 0) offset = st.st_size;
  }
  errno = saved;
  const long long end = (long long)offset + (long long)n;
  const long long growth = end > st.st_size ? end - (offset > st.st_size ? offset : st.st_size) : 0;
  pthread_mutex_lock(&g_mu);
  long long take = growth <= g_left ? growth : g_left;
  g_left -= take;
  pthread_mutex_unlock(&g_mu);
  const size_t ok = n - (size_t)(growth - take);
  if (ok == 0) errno = g_errno;
  return ok;
}

typedef ssize_t (*write_fn)(int, const void*, size_t);
typedef ssize_t (*pwrite_fn)(int, const void*, size_t, off_t);
typedef ssize_t (*pwrite64_fn)(int, const void*, size_t, off64_t);
typedef ssize_t (*writev_fn)(int, const struct iovec*, int);
typedef int (*fallocate_fn)(int, int, off_t, off_t);
typedef int (*posix_fallocate_fn)(int, off_t, off_t);
typedef size_t (*fwrite_fn)(const void*, size_t, size_t, FILE*);

/* The next definition of `name` (libc's): real_<name>. */
#define REAL(name)              \
  static name##_fn real_##name; \
  if (!real_##name) real_##name = (name##_fn)dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void* buf, size_t n) {
  REAL(write);
  const size_t ok = allowed(fd, n, -1);
  if (ok == 0 && n > 0) return -1;
  return real_write(fd, buf, ok);
}

ssize_t pwrite(int fd, const void* buf, size_t n, off_t offset) {
  REAL(pwrite);
  const size_t ok = allowed(fd, n, offset);
  if (ok == 0 && n > 0) return -1;
  return real_pwrite(fd, buf, ok, offset);
}

ssize_t pwrite64(int fd, const void* buf, size_t n, off64_t offset) {
  REAL(pwrite64);
  const size_t ok = allowed(fd, n, (off_t)offset);
  if (ok == 0 && n > 0) return -1;
  return real_pwrite64(fd, buf, ok, offset);
}

ssize_t writev(int fd, const struct iovec* iov, int count) {
  REAL(writev);
  size_t n = 0;
  for (int i = 0; i < count; ++i) n += iov[i].iov_len;
  const size_t ok = allowed(fd, n, -1);
  if (ok == 0 && n > 0) return -1;
  if (ok == n) return real_writev(fd, iov, count);
  REAL(write);
  size_t done = 0;  // the part that fits, piece by piece
  for (int i = 0; i < count && done < ok; ++i) {
    const size_t len = iov[i].iov_len < ok - done ? iov[i].iov_len : ok - done;
    const ssize_t w = real_write(fd, iov[i].iov_base, len);
    if (w < 0) return done > 0 ? (ssize_t)done : -1;
    done += (size_t)w;
    if ((size_t)w < len) break;
  }
  return (ssize_t)done;
}

int fallocate(int fd, int mode, off_t offset, off_t len) {
  REAL(fallocate);
  if (len > 0 && allowed(fd, (size_t)len, offset) < (size_t)len) {
    errno = g_errno;
    return -1;
  }
  return real_fallocate(fd, mode, offset, len);
}

int posix_fallocate(int fd, off_t offset, off_t len) {
  REAL(posix_fallocate);
  if (len > 0 && allowed(fd, (size_t)len, offset) < (size_t)len) return g_errno;
  return real_posix_fallocate(fd, offset, len);
}

size_t fwrite(const void* buf, size_t size, size_t count, FILE* stream) {
  REAL(fwrite);
  const size_t n = size * count;
  if (n == 0) return real_fwrite(buf, size, count, stream);
  /* Buffered bytes are not in the file yet: the position is where this write lands. */
  const long at = ftell(stream);
  const size_t ok = allowed(fileno(stream), n, at < 0 ? -1 : (off_t)at);
  if (ok == n) return real_fwrite(buf, size, count, stream);
  const size_t items = ok / size;
  const size_t written = items ? real_fwrite(buf, size, items, stream) : 0;
  errno = g_errno;
  return written;
}
