/*
 * decoys: the PID-reuse pressure of the race-window suite (KERNEL.md §8 "+decoys").
 *
 *   decoys -g CGROUP_DIR [-n CONCURRENT] [-m MIN_MS] [-M MAX_MS] [-c COMM]
 *
 * Joins CGROUP_DIR and names itself COMM (default "decoy"), so every child inherits both; then
 * keeps CONCURRENT children alive (default 60), each sleeping a random MIN..MAX ms (default
 * 5..50) and exiting. Run inside a PID namespace with a small pid_max, the decoys take over the
 * PIDs that exited senders free, which is how one container's short-lived logger's PID ends up
 * in another container while its message is still queued. A fork that fails (the namespace is out
 * of PIDs) just waits for a child to exit. Prints "ready" once it runs; on SIGTERM it stops
 * forking, reaps every child and prints {"forks":N,"forkFailures":N}.
 *
 * Compiled on first use by bench/lib/decoys.ts (cc -O2); not part of the addon.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stopping = 0;

static void on_term(int sig) {
  (void)sig;
  stopping = 1;
}

static int join_cgroup(const char *dir) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  int ok = write(fd, "0", 1) == 1;
  close(fd);
  return ok ? 0 : -1;
}

int main(int argc, char **argv) {
  const char *cgroup = NULL, *comm = "decoy";
  int concurrent = 60, min_ms = 5, max_ms = 50, opt;
  while ((opt = getopt(argc, argv, "g:n:m:M:c:")) != -1) {
    switch (opt) {
      case 'g': cgroup = optarg; break;
      case 'n': concurrent = atoi(optarg); break;
      case 'm': min_ms = atoi(optarg); break;
      case 'M': max_ms = atoi(optarg); break;
      case 'c': comm = optarg; break;
      default:
        fprintf(stderr, "usage: decoys -g CGROUP_DIR [-n CONCURRENT] [-m MIN_MS] [-M MAX_MS] [-c COMM]\n");
        return 2;
    }
  }
  if (cgroup == NULL || concurrent < 1 || min_ms < 0 || max_ms < min_ms) return 2;
  if (join_cgroup(cgroup) != 0) {
    fprintf(stderr, "decoys: cannot join %s: %s\n", cgroup, strerror(errno));
    return 1;
  }
  prctl(PR_SET_NAME, comm, 0, 0, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_term; /* no SA_RESTART: wait() returns EINTR so the loop sees the flag */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  srand((unsigned)(time(NULL) ^ getpid()));
  printf("ready\n");
  fflush(stdout);

  long forks = 0, failures = 0;
  int alive = 0;
  while (!stopping) {
    while (alive < concurrent && !stopping) {
      useconds_t life = (useconds_t)(min_ms + rand() % (max_ms - min_ms + 1)) * 1000;
      pid_t pid = fork();
      if (pid == 0) {
        usleep(life);
        _exit(0);
      }
      if (pid < 0) {
        failures++;
        break;
      }
      alive++;
      forks++;
    }
    if (wait(NULL) > 0) {
      alive--;
    } else if (errno == ECHILD) {
      usleep(1000);
    }
  }
  while (alive > 0) {
    if (wait(NULL) > 0) alive--;
    else if (errno != EINTR) break;
  }
  printf("{\"forks\":%ld,\"forkFailures\":%ld}\n", forks, failures);
  return 0;
}
