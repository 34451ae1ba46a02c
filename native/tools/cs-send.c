/*
 * cs-send: the project's own syslog load generator and test sender.
 *
 * K processes × N datagrams shaped like glibc syslog() lines, blocking sends (back-pressure stays
 * in the kernel queue, as for every real syslog() caller), optionally each process in its own
 * cgroup, with its own comm, carrying SCM_RIGHTS fds, or one short-lived process per datagram.
 * The senders are released together once all are forked, so the run measures the receiver.
 * Prints one JSON line when every datagram has been handed to the kernel.
 *
 * Message text (127-128 bytes with the default tag, like bench/PERF-ANCHORS.md):
 *   <13>Nov 28 13:40:51 cs-send[PID]: GET /api/v1/orders/list status=200 bytes=5123
 *   duration_ms=12 user=alice worker=WW seq=SSSSSSSS
 * worker is the process index and seq counts from 1 per process, so a receiver can check
 * completeness and per-sender order.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 253

struct options {
  const char *socket_path;
  int procs, per_proc, size, nfds, hold, use_connect, each, jobs, raw, count_would_block, pri;
  const char *text, *tag, *cgroup, *cgroup_prefix, *comm;
};

struct shared_counts {
  volatile uint64_t sent, errors, would_block;
  volatile int first_errno;
};

static void usage(void) {
  fprintf(stderr,
          "usage: cs-send -s SOCKET [-k PROCS] [-n PER_PROC] [-b BYTES] [-m TEXT] [-R] [-t TAG]\n"
          "               [-p PRI] [-g CGROUP_DIR | -G CGROUP_PREFIX] [-c COMM] [-f NFDS] [-C]\n"
          "               [-H] [-e [-j JOBS]] [-w]\n"
          "  -k  sender processes (default 1)      -n  datagrams per process (default 1)\n"
          "  -b  pad each datagram to BYTES         -m  message text instead of the GET line\n"
          "  -R  send -m TEXT raw (no syslog header) -t  tag (default cs-send)\n"
          "  -p  syslog PRI (default 13)            -g  join this cgroup before sending\n"
          "  -G  process i joins PREFIX<i> (or PREFIX as a printf format of i)\n"
          "  -c  set comm (%%d becomes the index)\n"
          "  -f  attach NFDS fds (SCM_RIGHTS)       -C  connect()+send() like glibc\n"
          "  -H  hold: stay alive after sending until stdin closes\n"
          "  -e  one short-lived process per datagram (-n total, -j concurrent, -G by i %% k)\n"
          "  -w  count would-block (try MSG_DONTWAIT first)\n");
  exit(2);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int join_cgroup(const char *dir) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  int ok = write(fd, "0", 1) == 1;
  int err = errno;
  close(fd);
  return ok ? 0 : -err;
}

/* -G PREFIX: process i joins PREFIX<i>, or, when PREFIX holds a printf conversion (e.g.
 * ".../docker-<56 hex>%08x.scope"), the path that conversion makes of i. */
static void cgroup_for(const char *prefix, int i, char *out, size_t cap) {
  if (strchr(prefix, '%') != NULL) {
    snprintf(out, cap, prefix, i);
  } else {
    snprintf(out, cap, "%s%d", prefix, i);
  }
}

static void set_comm(const char *pattern, int index) {
  char name[64];
  snprintf(name, sizeof(name), pattern, index);
  prctl(PR_SET_NAME, name, 0, 0, 0);
}

static int format_message(const struct options *o, char *buf, size_t cap, int worker, long seq) {
  int n;
  if (o->raw) {
    n = snprintf(buf, cap, "%s", o->text ? o->text : "");
  } else {
    time_t t = time(NULL);
    struct tm tm;
    char stamp[32];
    localtime_r(&t, &tm);
    strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
    if (o->text) {
      n = snprintf(buf, cap, "<%d>%s %s[%d]: %s", o->pri, stamp, o->tag, getpid(), o->text);
    } else {
      n = snprintf(buf, cap,
                   "<%d>%s %s[%d]: GET /api/v1/orders/list status=200 bytes=5123 duration_ms=12 "
                   "user=alice worker=%02d seq=%08ld",
                   o->pri, stamp, o->tag, getpid(), worker, seq);
    }
  }
  if (n < 0) n = 0;
  if ((size_t)n >= cap) n = (int)cap - 1;
  while (o->size > 0 && n < o->size && (size_t)n < cap - 1) buf[n++] = 'x';
  return n;
}

static void send_all(const struct options *o, int worker, long count, struct shared_counts *c) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  strncpy(addr.sun_path, o->socket_path, sizeof(addr.sun_path) - 1);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    __sync_fetch_and_add(&c->errors, (uint64_t)count);
    __sync_bool_compare_and_swap(&c->first_errno, 0, errno);
    return;
  }
  if (o->use_connect && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
    __sync_fetch_and_add(&c->errors, (uint64_t)count);
    __sync_bool_compare_and_swap(&c->first_errno, 0, errno);
    close(fd);
    return;
  }
  int fds[MAX_FDS];
  for (int i = 0; i < o->nfds; i++) fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
  size_t cap = (size_t)(o->size > 0 ? o->size : 0) + 4096;
  char *buf = malloc(cap);
  char control[CMSG_SPACE(sizeof(int) * MAX_FDS)];
  uint64_t sent = 0, errors = 0, would_block = 0;
  for (long seq = 1; seq <= count; seq++) {
    int len = format_message(o, buf, cap, worker, seq);
    struct iovec iov = {buf, (size_t)len};
    struct msghdr h = {0};
    if (!o->use_connect) {
      h.msg_name = &addr;
      h.msg_namelen = sizeof(addr);
    }
    h.msg_iov = &iov;
    h.msg_iovlen = 1;
    if (o->nfds > 0) {
      memset(control, 0, sizeof(control));
      h.msg_control = control;
      h.msg_controllen = CMSG_SPACE(sizeof(int) * o->nfds);
      struct cmsghdr *cm = CMSG_FIRSTHDR(&h);
      cm->cmsg_level = SOL_SOCKET;
      cm->cmsg_type = SCM_RIGHTS;
      cm->cmsg_len = CMSG_LEN(sizeof(int) * o->nfds);
      memcpy(CMSG_DATA(cm), fds, sizeof(int) * o->nfds);
    }
    ssize_t r = -1;
    if (o->count_would_block) {
      r = sendmsg(fd, &h, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (r < 0 && errno == EAGAIN) would_block++;
    }
    if (r < 0) {
      do {
        r = sendmsg(fd, &h, MSG_NOSIGNAL);
      } while (r < 0 && errno == EINTR);
    }
    if (r < 0) {
      errors++;
      __sync_bool_compare_and_swap(&c->first_errno, 0, errno);
    } else {
      sent++;
    }
  }
  free(buf);
  close(fd);
  __sync_fetch_and_add(&c->sent, sent);
  __sync_fetch_and_add(&c->errors, errors);
  __sync_fetch_and_add(&c->would_block, would_block);
}

static void wait_release(int fd) {
  char b;
  while (read(fd, &b, 1) < 0 && errno == EINTR) {
  }
}

static void reap(pid_t pid) {
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

static void report(const struct options *o, const struct shared_counts *c, double t0, double t1,
                   const pid_t *pids, int npids) {
  printf("{\"processes\":%d,\"sent\":%llu,\"errors\":%llu,\"firstErrno\":\"%s\",\"wouldBlock\":%llu,"
         "\"t0\":%.3f,\"t1\":%.3f,\"pids\":[",
         o->each ? o->per_proc : o->procs, (unsigned long long)c->sent, (unsigned long long)c->errors,
         c->first_errno ? strerrorname_np(c->first_errno) : "", (unsigned long long)c->would_block, t0, t1);
  for (int i = 0; i < npids; i++) printf("%s%d", i ? "," : "", pids[i]);
  printf("]}\n");
  fflush(stdout);
}

/* -e: one short-lived process per datagram, at most o->jobs alive at once, reaped at once. */
static int run_each(const struct options *o, struct shared_counts *c) {
  double t0 = now_ms();
  int alive = 0;
  for (int i = 0; i < o->per_proc; i++) {
    if (alive >= o->jobs) {
      wait(NULL);
      alive--;
    }
    pid_t pid = fork();
    if (pid < 0) {
      c->errors++;
      continue;
    }
    if (pid == 0) {
      if (o->cgroup_prefix) {
        char dir[4096];
        cgroup_for(o->cgroup_prefix, i % (o->procs > 0 ? o->procs : 1), dir, sizeof(dir));
        if (join_cgroup(dir) != 0) _exit(3);
      } else if (o->cgroup && join_cgroup(o->cgroup) != 0) {
        _exit(3);
      }
      if (o->comm) set_comm(o->comm, i);
      send_all(o, i, 1, c);
      _exit(0);
    }
    alive++;
  }
  while (alive-- > 0) wait(NULL);
  report(o, c, t0, now_ms(), NULL, 0);
  return c->errors ? 1 : 0;
}

int main(int argc, char **argv) {
  struct options o = {.procs = 1, .per_proc = 1, .jobs = 8, .tag = "cs-send", .pri = 13};
  int opt;
  while ((opt = getopt(argc, argv, "s:k:n:b:m:Rt:p:g:G:c:f:CHej:wh")) != -1) {
    switch (opt) {
      case 's': o.socket_path = optarg; break;
      case 'k': o.procs = atoi(optarg); break;
      case 'n': o.per_proc = atoi(optarg); break;
      case 'b': o.size = atoi(optarg); break;
      case 'm': o.text = optarg; break;
      case 'R': o.raw = 1; break;
      case 't': o.tag = optarg; break;
      case 'p': o.pri = atoi(optarg); break;
      case 'g': o.cgroup = optarg; break;
      case 'G': o.cgroup_prefix = optarg; break;
      case 'c': o.comm = optarg; break;
      case 'f': o.nfds = atoi(optarg); break;
      case 'C': o.use_connect = 1; break;
      case 'H': o.hold = 1; break;
      case 'e': o.each = 1; break;
      case 'j': o.jobs = atoi(optarg); break;
      case 'w': o.count_would_block = 1; break;
      default: usage();
    }
  }
  if (!o.socket_path || o.procs < 1 || o.per_proc < 0 || o.nfds < 0 || o.nfds > MAX_FDS || o.jobs < 1 ||
      o.size < 0 || o.size > (1 << 22)) {
    usage();
  }
  signal(SIGPIPE, SIG_IGN);
  struct shared_counts *c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (c == MAP_FAILED) return 1;
  memset((void *)c, 0, sizeof(*c));
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (o.each) return run_each(&o, c);

  int go[2], done[2], quit[2];
  if (pipe(go) || pipe(done) || pipe(quit)) return 1;
  pid_t *pids = calloc((size_t)o.procs, sizeof(pid_t));
  for (int i = 0; i < o.procs; i++) {
    pid_t pid = fork();
    if (pid < 0) {
      perror("fork");
      return 1;
    }
    if (pid == 0) {
      close(go[1]);
      close(done[0]);
      close(quit[1]);
      if (o.cgroup_prefix) {
        char dir[4096];
        cgroup_for(o.cgroup_prefix, i, dir, sizeof(dir));
        int r = join_cgroup(dir);
        if (r) {
          fprintf(stderr, "cs-send: cannot join cgroup %s: %s\n", dir, strerror(-r));
          _exit(3);
        }
      } else if (o.cgroup) {
        int r = join_cgroup(o.cgroup);
        if (r) {
          fprintf(stderr, "cs-send: cannot join cgroup %s: %s\n", o.cgroup, strerror(-r));
          _exit(3);
        }
      }
      if (o.comm) set_comm(o.comm, i);
      wait_release(go[0]);
      send_all(&o, i, o.per_proc, c);
      if (o.hold) {
        if (write(done[1], "d", 1) != 1) _exit(4);
        wait_release(quit[0]);
      }
      _exit(0);
    }
    pids[i] = pid;
  }
  close(go[0]);
  close(done[1]);
  close(quit[0]);
  double t0 = now_ms();
  close(go[1]); /* release every sender at once */
  if (o.hold) {
    char b;
    for (int i = 0; i < o.procs; i++) {
      if (read(done[0], &b, 1) != 1) break;
    }
    report(&o, c, t0, now_ms(), pids, o.procs);
    while (read(STDIN_FILENO, &b, 1) > 0) {
    }
    close(quit[1]);
    for (int i = 0; i < o.procs; i++) reap(pids[i]);
    return c->errors ? 1 : 0;
  }
  int failed = 0;
  for (int i = 0; i < o.procs; i++) {
    int status;
    while (waitpid(pids[i], &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed++;
  }
  double t1 = now_ms();
  report(&o, c, t0, t1, pids, o.procs <= 1024 ? o.procs : 0);
  return (c->errors || failed) ? 1 : 0;
}
